"""Atomic file writes: a reader, or a process killed at any moment, sees the old file or the new one.

The data goes to a hidden temporary file in the same directory (so the rename never crosses file
systems), is flushed and fsynced, then renamed over the target, and the directory is fsynced so the
rename itself survives a power cut. The temporary name does not end with the target's suffix, so a glob
such as ``*.npz`` never picks up a half-written file; it is the same name on every try, so a write killed
half-way leaves one stale file that the next write of the target replaces. On an error (disk full, an
exception in the writer) the temporary file is removed and the target is untouched.

Every writer of a file that must never be seen half-written goes through :func:`atomic_write`: token
files and dataset shards, checkpoints, manifests, training states, teacher caches, metrics rewrites.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` appears complete, or not at all.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (UTF-8 text, written as given: no newline translation, as the
    ``csv`` module wants).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    text = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
    try:
        with open(tmp, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (and platforms) refuse fsync on a directory; the data itself is synced
        pass
    finally:
        os.close(fd)
