"""cthulhu.callbacks: the Keras 2 callbacks, one per module."""

from cthulhu.callbacks.base import BaseLogger, Callback, CallbackList, History
from cthulhu.callbacks.csv_logger import CSVLogger
from cthulhu.callbacks.early_stopping import EarlyStopping
from cthulhu.callbacks.lambda_callback import LambdaCallback
from cthulhu.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from cthulhu.callbacks.model_checkpoint import ModelCheckpoint
from cthulhu.callbacks.progbar_logger import ProgbarLogger
from cthulhu.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BaseLogger", "Callback", "CallbackList", "History", "CSVLogger", "EarlyStopping",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
           "ReduceLROnPlateau", "TerminateOnNaN"]
