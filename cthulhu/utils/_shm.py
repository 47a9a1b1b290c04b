"""Shared memory for the worker processes: segments the parent creates, owns and unlinks,
and a pickler that moves a Sequence's large arrays into segments the workers map."""

from __future__ import annotations

import contextlib
import os
import pickle
from multiprocessing import shared_memory
from typing import Any, Callable, Optional

import numpy as np

from cthulhu.utils import _worker

SHM_PREFIX = "cthulhu_"
SHARE_MIN_BYTES = 1 << 20  # Sequence arrays from this size on are shared, not copied


def shm_prefix(pid: Optional[int] = None) -> str:
    """Name prefix of the shared-memory segments the pools of process ``pid`` create."""
    return f"{SHM_PREFIX}{pid or os.getpid()}_"


class Segment:
    """One shared-memory segment, created and unlinked by the parent only. Its memory is
    reserved up front: a full /dev/shm fails here (OSError), not later with a SIGBUS."""

    def __init__(self, name: str, size: int) -> None:
        self.shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        self.name, self.size = name, size
        fd = getattr(self.shm, "_fd", -1)
        if fd >= 0 and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError:
                self.release()
                raise

    def release(self) -> None:
        try:
            self.shm.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.shm.unlink()


class SharingPickler(pickle.Pickler):
    """Pickles a Sequence with each large array moved to a shared-memory segment, so that
    workers map the data instead of each unpickling a copy of it."""

    def __init__(self, file: Any, new_segment: Callable[[int], Optional[Segment]]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.new_segment = new_segment  # a segment of that many bytes, or None: no room

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not np.ndarray or obj.nbytes < SHARE_MIN_BYTES or obj.dtype.hasobject:
            return NotImplemented
        segment = self.new_segment(obj.nbytes)
        if segment is None:
            return NotImplemented  # plain pickling
        np.ndarray(obj.shape, obj.dtype, buffer=segment.shm.buf)[...] = obj
        return _worker.attach_array, (segment.name, obj.shape, obj.dtype.str)


def sweep_segments(prefix: str) -> None:
    """Unlink any segment left with our prefix (belt and braces: normally none is)."""
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join("/dev/shm", name))


