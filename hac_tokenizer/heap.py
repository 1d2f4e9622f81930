"""The C heap while the model runs on the CPU: reuse freed activations instead of faulting in fresh pages.

glibc serves every allocation above its mmap threshold (32 MiB at most) with a fresh ``mmap`` and unmaps it when
it is freed. A convolution over 30 s of 16 kHz audio allocates hundreds of MiB per layer, so every layer of every
call faulted its output in page by page: on the full-size model system time was as large as user time, and
whole-clip encoding ran 1.6x slower than it does with reuse (benchmarks/README.md, "Long audio").

Inside :func:`reusing_heap` glibc takes large blocks from its heap and keeps the freed ones there, where the next
layer, window or batch finds them. Once no use has run or begun for :data:`IDLE_SECONDS`, the freed heap is handed
back to the OS, so an idle process does not hold its peak, and the thresholds are set to where glibc's own dynamic
rule settles in a tensor workload (mmap above 32 MiB, trim above 64 MiB): changing any of them switches that rule
off for the process, so they cannot be "restored" to it. Waiting lets a loop of calls (a data pipeline encoding one
file after another) keep its pages: trimming at the end of every call made each one fault its activations in anew,
10-20 % of a one-second call's time on the full-size model (benchmarks/README.md). Other C libraries (musl, macOS,
Windows): a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4

_REUSE = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1))  # no mmap; never trim while inside (mallopt takes int)
_AFTER = ((_M_MMAP_MAX, 65536), (_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 64 << 20))  # 65536: glibc's

IDLE_SECONDS = 1.0  # how long the freed heap is kept for the next call after the last use ends

_lock = threading.Lock()
_depth = 0
_trim_timer: threading.Timer | None = None


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both exist only in glibc
    except (AttributeError, OSError, TypeError):
        return None
    return libc


def _set(libc: ctypes.CDLL, settings: tuple[tuple[int, int], ...]) -> None:
    for parameter, value in settings:
        libc.mallopt(parameter, value)


@contextmanager
def reusing_heap() -> Iterator[None]:
    """Run the body with freed memory kept for reuse; the freed heap goes back :data:`IDLE_SECONDS` after the last use.

    Re-entrant and thread-safe: nested or concurrent uses share one setting, and the heap is trimmed once no use
    has been running, or begun, for :data:`IDLE_SECONDS`.
    """
    global _depth, _trim_timer
    libc = _glibc()
    with _lock:
        if _depth == 0 and libc is not None:
            if _trim_timer is not None:
                _trim_timer.cancel()
                _trim_timer = None
            _set(libc, _REUSE)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and libc is not None:
                _trim_timer = threading.Timer(IDLE_SECONDS, _trim_if_idle, (libc,))
                _trim_timer.daemon = True  # never keeps the interpreter from exiting
                _trim_timer.start()


def _trim_if_idle(libc: ctypes.CDLL) -> None:
    with _lock:
        if _depth == 0:  # a use that began after the timer fired, but before this lock, keeps the heap
            _set(libc, _AFTER)
            libc.malloc_trim(0)


def in_use() -> bool:
    """Whether some thread is inside :func:`reusing_heap` now."""
    return _depth > 0
