"""Lhotse CutSet manifests, read in one place for ``tokenize-dataset`` and ``hac-prepare-data from-lhotse``.

``lhotse`` is optional (``pip install "hac-tokenizer[data]"``); it is imported only when a CutSet is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DatasetError

if TYPE_CHECKING:
    from lhotse import CutSet


def read_cuts(path: str | os.PathLike) -> CutSet:
    """A CutSet manifest (``cuts.jsonl``, ``cuts.jsonl.gz``, ...) in memory, indexable by cut id.

    Raises :class:`DatasetError` when lhotse is missing, the file does not exist or is not a CutSet.
    """
    try:
        from lhotse import CutSet
    except ImportError as err:
        raise DatasetError('Lhotse manifests need the lhotse package: pip install "hac-tokenizer[data]".') from err
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"Lhotse manifest not found: {path}")
    try:
        return CutSet.from_file(path).to_eager()  # a lazy CutSet cannot be indexed by cut id
    except Exception as err:  # lhotse raises ValueError, KeyError or JSON errors by file kind
        raise DatasetError(f"{path} is not a Lhotse CutSet manifest ({type(err).__name__}: {err}).") from err
