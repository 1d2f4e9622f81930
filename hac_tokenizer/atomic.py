"""Atomic file writes: a reader, or a process killed at any moment, sees the old file or the new one.

The data goes to a hidden temporary file in the same directory (so the rename never crosses file
systems), is flushed and fsynced, then renamed over the target. The temporary name does not end with
the target's suffix, so a glob such as ``*.npz`` never picks up a half-written file. On an error
(disk full, an exception in the writer) the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` appears complete, or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
