"""Handing freed memory back to the operating system.

glibc's malloc keeps the memory a program frees for its next allocations; after a big build
(an HNSW graph, a compaction's renumbering) that memory stays counted in the server's RSS.
Measured at 100,000 128-d points overwritten three times: 616-660 MiB of RSS without trimming,
403-442 MiB with `malloc_trim(0)` after each index install; 300 MiB after a restart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from typing import Final

log = logging.getLogger(__name__)


def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_TRIM: Final = _malloc_trim()
SLOW_TRIM_S: Final = 0.05


def release_free_memory() -> float:
    """Return what malloc holds free to the operating system (glibc; elsewhere nothing).
    Blocking: call it in a worker thread. Returns the seconds it took."""
    if _TRIM is None:
        return 0.0
    started = time.perf_counter()
    _TRIM(0)
    took = time.perf_counter() - started
    if took > SLOW_TRIM_S:
        log.info("returning free memory to the system took %.0f ms", took * 1e3)
    return took
