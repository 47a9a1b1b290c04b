"""cthulhu.pantheon: the first release's name for cthulhu.models, kept as an alias."""

from cthulhu.models import *  # noqa: F401,F403
from cthulhu.models import Pile, Sequential  # noqa: F401
