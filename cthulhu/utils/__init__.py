"""cthulhu.utils: Sequence and the enqueuers, custom-object scopes, to_categorical,
Progbar."""

from cthulhu.utils.custom_objects import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
)
from cthulhu.utils.data_utils import (
    GeneratorEnqueuer,
    OrderedEnqueuer,
    Sequence,
    SequenceEnqueuer,
    WorkerDiedError,
    WorkerError,
    threadsafe_generator,
)
from cthulhu.utils.np_utils import to_categorical
from cthulhu.utils.progbar import Progbar

__all__ = ["to_categorical", "Progbar", "CustomObjectScope", "custom_object_scope",
           "get_custom_objects", "Sequence", "OrderedEnqueuer", "GeneratorEnqueuer",
           "SequenceEnqueuer", "WorkerDiedError", "WorkerError", "threadsafe_generator"]
