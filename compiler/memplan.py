"""Memory planning: liveness-based reuse of one arena.

Each buffer lives from the call that first writes it to the call that last reads it. Buffers
whose lifetimes overlap get disjoint byte ranges; others may share. Placement is greedy,
largest first, at the lowest offset that fits (``CTHULHU_NO_MEMPLAN=1`` gives every buffer
its own range, to bisect planner bugs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ALIGN = 64


@dataclass
class Interval:
    key: int
    nbytes: int
    start: int
    end: int


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(intervals: list[Interval]) -> tuple[dict[int, int], int]:
    """Returns (offset of each key, arena bytes)."""
    offsets: dict[int, int] = {}
    total = 0
    if os.environ.get("CTHULHU_NO_MEMPLAN", "") in ("1", "true"):
        for iv in intervals:
            offsets[iv.key] = total
            total += _aligned(iv.nbytes)
        return offsets, total
    placed: list[tuple[int, int, Interval]] = []  # (offset, size, interval)
    for iv in sorted(intervals, key=lambda i: (-i.nbytes, i.start)):
        size = _aligned(max(iv.nbytes, 1))
        busy = sorted((off, off + sz) for off, sz, other in placed
                      if not (other.end < iv.start or iv.end < other.start))
        offset = 0
        for lo, hi in busy:
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        placed.append((offset, size, iv))
        offsets[iv.key] = offset
        total = max(total, offset + size)
    return offsets, total
