"""cthulhu.utils: to_categorical, Progbar."""

from cthulhu.utils.np_utils import to_categorical
from cthulhu.utils.progbar import Progbar

__all__ = ["to_categorical", "Progbar"]
