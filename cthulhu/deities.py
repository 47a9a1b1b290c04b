"""cthulhu.deities: the first release's name for cthulhu.layers, kept as an alias."""

from cthulhu.layers import *  # noqa: F401,F403
from cthulhu.layers import __all__  # noqa: F401
