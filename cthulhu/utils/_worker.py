"""The worker-process side of the data pipeline, and the batch packing both sides share.

A worker process loops on one duplex pipe: it receives ``("task", id, index, slot, name,
size)`` messages, calls ``sequence[index]`` and answers with the batch. Numeric arrays of a
large batch are written into the shared-memory slot the parent named (the parent creates,
owns and unlinks every segment); small batches, and batches larger than their slot, are
pickled through the pipe. The module imports only numpy and the standard library: the
fork server preloads it, so each worker starts from a process that never ran OpenMP.
"""

from __future__ import annotations

import mmap
import os
import pickle
import random
import signal
import traceback
from multiprocessing import shared_memory
from typing import Any

import numpy as np

SHM_MIN_BYTES = 64 * 1024  # below this, pickling through the pipe is cheaper
ALIGN = 64


class Leaf:
    """Stands for the ``i``-th numeric array of a packed batch."""

    __slots__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = i

    def __reduce__(self):
        return Leaf, (self.i,)


def pack(obj: Any, arrays: list) -> Any:
    """``obj`` with each numeric ndarray replaced by a Leaf; the arrays go to ``arrays``."""
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc":
        arrays.append(obj)
        return Leaf(len(arrays) - 1)
    if type(obj) in (tuple, list):
        return type(obj)(pack(o, arrays) for o in obj)
    if type(obj) is dict:
        return {k: pack(v, arrays) for k, v in obj.items()}
    return obj


def unpack(obj: Any, arrays: list) -> Any:
    if isinstance(obj, Leaf):
        return arrays[obj.i]
    if type(obj) in (tuple, list):
        return type(obj)(unpack(o, arrays) for o in obj)
    if type(obj) is dict:
        return {k: unpack(v, arrays) for k, v in obj.items()}
    return obj


def layout(arrays: list) -> tuple[list, int]:
    """(offset, shape, dtype) of each array in one buffer, and the bytes it needs."""
    specs, end = [], 0
    for a in arrays:
        specs.append((end, a.shape, a.dtype.str))
        end += -(-a.nbytes // ALIGN) * ALIGN
    return specs, end


def read_slot(buf: memoryview, specs: list) -> list:
    """Copies of the arrays a worker wrote into a slot (the slot is reused at once)."""
    out = []
    for offset, shape, dtype in specs:
        view = np.ndarray(shape, dtype=dtype, buffer=buf, offset=offset)
        out.append(view.copy())
        del view
    return out


def attach_array(name: str, shape: tuple, dtype: str) -> np.ndarray:
    """An array of the Sequence's data that the parent put in shared memory, mapped
    copy-on-write: writes stay private to this worker, as they would after a fork."""
    fd = os.open(os.path.join("/dev/shm", name), os.O_RDONLY)
    try:
        count = int(np.prod(shape))
        mm = mmap.mmap(fd, count * np.dtype(dtype).itemsize, access=mmap.ACCESS_COPY)
    finally:
        os.close(fd)
    return np.frombuffer(mm, dtype=dtype, count=count).reshape(shape)


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a worker process; the original
    exception is re-raised in the parent with this as its ``__cause__``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class WorkerError(RuntimeError):
    """An exception from a worker that could not be sent to the parent as itself."""


def error_message(err: BaseException, where: str) -> tuple:
    """What a worker sends for an exception: the exception (if it survives pickling) and
    its traceback as text."""
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    text = f"\n\nTraceback in {where}:\n{text}"
    try:
        payload = pickle.dumps(err)
        pickle.loads(payload)
    except Exception:
        payload = pickle.dumps(WorkerError(f"{type(err).__name__}: {err}"))
    return payload, text


class _Slots:
    """The shared-memory segments this worker attached, by slot number."""

    def __init__(self) -> None:
        self.open: dict[int, shared_memory.SharedMemory] = {}

    def get(self, slot: int, name: str) -> shared_memory.SharedMemory:
        shm = self.open.get(slot)
        if shm is None or shm.name.lstrip("/") != name.lstrip("/"):
            if shm is not None:
                shm.close()
            shm = self.open[slot] = shared_memory.SharedMemory(name=name)
        return shm

    def close(self) -> None:
        for shm in self.open.values():
            shm.close()
        self.open.clear()


def _answer(conn, slots: _Slots, task_id: int, batch: Any, slot: int, name: Any,
            size: int) -> None:
    arrays: list = []
    structure = pack(batch, arrays)
    specs, nbytes = layout(arrays)
    if name is not None and SHM_MIN_BYTES <= nbytes <= size:
        buf = slots.get(slot, name).buf
        for (offset, shape, dtype), a in zip(specs, arrays):
            np.ndarray(shape, dtype=dtype, buffer=buf, offset=offset)[...] = a
        del buf
        conn.send(("shm", task_id, structure, specs))
    else:
        conn.send(("pickle", task_id, batch, nbytes))


def main(conn, payload: bytes, seed: int, worker: int, nice: int = 0) -> None:
    """Entry point of a worker process (module-level, so that it pickles by name).
    ``payload`` is the pickled Sequence (its large arrays refer to shared memory)."""
    # Ctrl-C reaches the whole process group: the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice and hasattr(os, "nice"):
        # The training step's OpenMP threads must not wait for a core a worker holds: a
        # parallel region stalls until its last thread runs. Workers use what is left.
        os.nice(nice)
    random.seed(seed)
    np.random.seed(seed)
    slots = _Slots()
    try:
        _serve(conn, pickle.loads(payload), worker, slots)
    except (EOFError, OSError):
        pass  # the parent is gone (its end of the pipe closed): nothing left to do
    finally:
        slots.close()


def _serve(conn, sequence: Any, worker: int, slots: _Slots) -> None:
    while True:
        message = conn.recv()
        kind = message[0]
        if kind == "stop":
            return
        if kind == "sequence":
            sequence = pickle.loads(message[1])
            continue
        _, task_id, index, slot, name, size = message
        where = f"worker process {worker} while computing batch {index}"
        try:
            batch = sequence[index]
        except Exception as err:
            conn.send(("error", task_id, *error_message(err, where)))
            continue
        try:
            _answer(conn, slots, task_id, batch, slot, name, size)
        except OSError:
            raise  # the pipe broke: the parent is gone
        except Exception as err:  # e.g. a batch that cannot be pickled; a message is
            conn.send(("error", task_id, *error_message(err, where)))  # pickled whole first
