"""Corpora that ``tokenize-dataset`` reads: audio files, a saved Hugging Face ``datasets`` dataset, a Lhotse CutSet.

A source lists its items once, when a run's plan is made (:meth:`Source.items`: id, where the audio is, duration
for length bucketing), and loads one item's audio in a DataLoader worker (:meth:`Source.load`: ``[S]`` float32
at the model's rate). Whatever the source, samples pass through :func:`hac_tokenizer.audio.to_mono_items`, the one
place audio is checked, downmixed and resampled, so an item gives the same tokens from any source.

* :class:`FileSource`: a JSONL manifest (:mod:`hac_tokenizer.manifest`) or every audio file under a directory.
* :class:`HFDatasetSource`: ``datasets.load_from_disk(directory)`` with an audio column; each value decoded by
  :func:`audio_from_hf` (``pip install "hac-tokenizer[data]"``).
* :class:`LhotseSource`: a CutSet manifest (``cuts.jsonl`` / ``cuts.jsonl.gz``); each cut's audio is what lhotse's
  ``cut.load_audio()`` gives (its recording, offset, duration and channels), the item id is the cut id.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .audio import AudioFile, audio_bytes_duration, decode_audio_bytes, list_audio_files, to_mono_items
from .errors import AudioFileError, AudioInputError, DatasetError
from .lhotse_cuts import read_cuts
from .manifest import read_manifest


@dataclass(frozen=True)
class Item:
    id: str
    audio: str  # where its source finds the audio: an absolute path, a dataset row number or a cut id
    duration: float  # seconds, for length bucketing


class Source(ABC):
    """A corpus: its items, and one item's audio."""

    @property
    @abstractmethod
    def key(self) -> str:
        """What the run's ``plan.json`` records, to recognise the same source when a run resumes."""

    @abstractmethod
    def items(self) -> list[Item]:
        """Every item, in the source's order (ids need not be checked here: :func:`list_items` does)."""

    @abstractmethod
    def load(self, item: Item, sample_rate: int) -> torch.Tensor:
        """``[S]`` float32 mono audio of ``item`` at ``sample_rate``; a :class:`HACError` for an unusable item."""


class OpenedSource(Source):
    """A source read through an opened object (a ``datasets`` dataset, a CutSet): opened on first use in each process
    and never pickled, so a DataLoader worker opens its own instead of receiving a copy."""

    _opened: object = None

    def opened(self):
        """The opened object, opened now if this process has not yet."""
        if self._opened is None:
            self._opened = self._open()
        return self._opened

    @abstractmethod
    def _open(self) -> object:
        """Open the source; a :class:`DatasetError` saying what to pass when it cannot be."""

    def __getstate__(self) -> dict:
        return self.__dict__ | {"_opened": None}


def list_items(source: str | os.PathLike | Source) -> list[Item]:
    """The items of a source (a path means a :class:`FileSource`); :class:`DatasetError` if none or ids repeat."""
    source = as_source(source)
    items = source.items()
    if not items:
        raise DatasetError(f"{source.key} lists no audio items.")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise DatasetError(f"item id {duplicate!r} appears more than once in {source.key}; ids must be unique.")
    return items


def as_source(source: str | os.PathLike | Source) -> Source:
    return source if isinstance(source, Source) else FileSource(source)


# -- audio files ------------------------------------------------------------------------------------
class FileSource(Source):
    """A JSONL manifest (``.jsonl``/``.json``) or every audio file under a directory (ids: relative paths)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def key(self) -> str:
        return str(self.path.resolve())

    def items(self) -> list[Item]:
        path = self.path
        if path.is_file() and path.suffix in (".jsonl", ".json"):
            return [Item(e.id, str(e.audio.resolve()), e.duration) for e in read_manifest(path)]
        if path.is_dir():
            return [
                Item(file.relative_to(path).with_suffix("").as_posix(), str(file.resolve()), _file_duration(file))
                for file in list_audio_files(path)
            ]
        raise DatasetError(f"{path} is neither a JSONL manifest nor a directory of audio files.")

    def load(self, item: Item, sample_rate: int) -> torch.Tensor:
        return to_mono_items(item.audio, None, sample_rate)[0]


def _file_duration(path: Path) -> float:
    try:
        return AudioFile(path).duration
    except AudioFileError:  # unreadable: sort it anywhere; the worker reports the real error for that item
        return 0.0


# -- Hugging Face datasets ------------------------------------------------------------------------------
def audio_from_hf(value: object, sample_rate: int, where: str = "audio") -> torch.Tensor:
    """One value of a ``datasets`` audio column -> ``[S]`` float32 mono at ``sample_rate``.

    Accepted, so that any ``datasets`` version works: ``{"array", "sampling_rate"}`` (a decoded ``Audio`` value
    of datasets < 4, or a plain struct column; ``array`` ``[S]`` or ``[C, S]``); ``{"bytes", "path"}`` (an ``Audio``
    column cast to ``Audio(decode=False)``: the encoded file, or a local path when ``bytes`` is None); a torchcodec
    ``AudioDecoder`` (a decoded ``Audio`` value of datasets >= 4). Raises :class:`AudioInputError` /
    :class:`AudioFileError` naming ``where``.
    """
    if hasattr(value, "get_all_samples"):  # torchcodec's AudioDecoder: samples [C, S] with their rate
        samples = value.get_all_samples()
        return to_mono_items([samples.data], int(samples.sample_rate), sample_rate)[0]
    if not isinstance(value, Mapping):
        raise AudioInputError(
            f"{where}: {type(value).__name__} is not an audio value; pass a column of datasets.Audio, or of "
            "{'array': samples, 'sampling_rate': Hz}."
        )
    if value.get("array") is not None:
        if value.get("sampling_rate") is None:
            raise AudioInputError(f"{where}: an audio array without its sampling_rate; add the rate to the column.")
        return to_mono_items([np.asarray(value["array"])], value["sampling_rate"], sample_rate)[0]
    if value.get("bytes") is not None:
        samples, rate = decode_audio_bytes(value["bytes"], where)
        return to_mono_items([samples], rate, sample_rate)[0]
    if value.get("path"):
        return to_mono_items(value["path"], None, sample_rate)[0]
    raise AudioInputError(f"{where}: the audio value has no array, bytes or path ({sorted(value)}); the row is empty.")


def _hf_duration(value: object) -> float:
    """Seconds of an undecoded audio value, for bucketing only (0.0 when unknown; loading reports the error)."""
    try:
        if value.get("array") is not None:
            return np.asarray(value["array"]).shape[-1] / float(value["sampling_rate"])
        if value.get("bytes") is not None:
            return audio_bytes_duration(value["bytes"], "audio")
        return AudioFile(value["path"]).duration
    except Exception:  # noqa: BLE001 - an unreadable value is sorted anywhere; its load names the real error
        return 0.0


class HFDatasetSource(OpenedSource):
    """A ``datasets`` dataset saved with ``save_to_disk``: one item per row of ``audio_column``.

    Item ids are ``id_column``'s values, or the row numbers when it is None. An ``Audio`` column is read
    undecoded (the file bytes or path) and decoded by :func:`audio_from_hf`, so no audio backend of ``datasets``
    (torchcodec) is needed.
    """

    def __init__(self, directory: str | os.PathLike, audio_column: str = "audio", id_column: str | None = None) -> None:
        self.directory, self.audio_column, self.id_column = Path(directory), audio_column, id_column

    @property
    def key(self) -> str:
        return f"datasets:{self.directory.resolve()}#{self.audio_column}#{self.id_column or ''}"

    def _open(self):
        """The dataset, with the audio column undecoded."""
        try:
            import datasets
        except ImportError as err:
            raise DatasetError('--hf-dataset needs the datasets package: pip install "hac-tokenizer[data]".') from err
        try:
            loaded = datasets.load_from_disk(str(self.directory))
        except (FileNotFoundError, ValueError) as err:
            raise DatasetError(
                f"{self.directory} is not a dataset saved by datasets' save_to_disk ({err}); pass such a directory."
            ) from err
        if isinstance(loaded, datasets.DatasetDict):
            raise DatasetError(
                f"{self.directory} holds the splits {list(loaded)}; pass one of them, e.g. {self.directory / next(iter(loaded))}."
            )
        for column in (self.audio_column, self.id_column):
            if column is not None and column not in loaded.column_names:
                raise DatasetError(f"{self.directory} has no column {column!r}; its columns are {loaded.column_names}.")
        if isinstance(loaded.features[self.audio_column], datasets.Audio):
            loaded = loaded.cast_column(self.audio_column, datasets.Audio(decode=False))
        return loaded

    def items(self) -> list[Item]:
        dataset = self.opened()
        ids = dataset[self.id_column] if self.id_column else range(len(dataset))
        width = len(str(max(len(dataset) - 1, 0)))
        names = [str(i) if self.id_column else f"{i:0{width}d}" for i in ids]  # row ids sort as numbers do
        values = dataset.select_columns([self.audio_column])
        return [Item(name, str(row), _hf_duration(values[row][self.audio_column])) for row, name in enumerate(names)]

    def load(self, item: Item, sample_rate: int) -> torch.Tensor:
        value = self.opened()[int(item.audio)][self.audio_column]
        return audio_from_hf(value, sample_rate, where=f"row {item.audio} ({item.id})")


# -- Lhotse ------------------------------------------------------------------------------------------
class LhotseSource(OpenedSource):
    """A Lhotse CutSet manifest: one item per cut, id = cut id, audio = ``cut.load_audio()``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def key(self) -> str:
        return f"lhotse:{self.path.resolve()}"

    def _open(self):
        """The CutSet, in memory (indexable by cut id)."""
        return read_cuts(self.path)

    def items(self) -> list[Item]:
        return [Item(cut.id, cut.id, float(cut.duration)) for cut in self.opened()]

    def load(self, item: Item, sample_rate: int) -> torch.Tensor:
        cut = self.opened()[item.audio]
        try:
            samples = cut.load_audio()  # [C, S] at cut.sampling_rate: lhotse applies offset, duration, channels
        except Exception as err:  # lhotse's backends raise many types; each is one unusable cut
            raise AudioFileError(
                f"cut {cut.id}: lhotse cannot load its audio ({type(err).__name__}: {err}); check its recording's "
                "sources (lhotse resolves relative paths from the working directory)."
            ) from err
        return to_mono_items([samples], int(cut.sampling_rate), sample_rate)[0]
