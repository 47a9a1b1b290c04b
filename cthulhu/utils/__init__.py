"""cthulhu.utils: Sequence and the enqueuers, to_categorical, Progbar."""

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

__all__ = ["to_categorical", "Progbar", "Sequence", "OrderedEnqueuer", "GeneratorEnqueuer",
           "SequenceEnqueuer", "WorkerDiedError", "WorkerError", "threadsafe_generator"]
