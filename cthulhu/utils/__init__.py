"""cthulhu.utils: to_categorical, Progbar."""

from cthulhu.utils.custom_objects import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
)
from cthulhu.utils.np_utils import to_categorical
from cthulhu.utils.progbar import Progbar

__all__ = ["to_categorical", "Progbar", "CustomObjectScope", "custom_object_scope",
           "get_custom_objects"]
