"""Results of ``encode`` and ``decode``: ``HACTokens`` and ``HACAudio``.

Padding is never a token: positions past ``lengths[b]`` hold :data:`PAD_ID` (-1), so an embedding
lookup on unmasked padding fails loudly instead of reading a real code.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .atomic import atomic_write
from .errors import TokenError

PAD_ID = -1
STREAMS = ("lexical", "phonetic", "acoustic")
_FORMAT_VERSION = 1


@dataclass
class HACTokens:
    """Token streams of a batch at ``frame_rate`` Hz.

    Attributes:
        lexical: ``LongTensor [B, T]`` word-level tokens, or None if not encoded / not in the model.
        phonetic: ``LongTensor [B, T]`` phone-level tokens, or None.
        acoustic: ``LongTensor [B, N, T]`` residual acoustic tokens (N RVQ layers), or None.
        lengths: ``LongTensor [B]`` valid frames per item; later positions are ``PAD_ID``.
        sample_lengths: ``LongTensor [B]`` samples per item at ``sample_rate`` (decode trims to this).
        sample_rate, frame_rate: of the model that made the tokens.
        model: name of that model; ``vocab_sizes``: its codebook size per stream (checked by decode).
    """

    lexical: Tensor | None
    phonetic: Tensor | None
    acoustic: Tensor | None
    lengths: Tensor
    sample_lengths: Tensor
    sample_rate: int
    frame_rate: float
    model: str | None = None
    vocab_sizes: dict[str, int] = field(default_factory=dict)

    # -- views ----------------------------------------------------------------------------------
    def streams(self) -> dict[str, Tensor]:
        """The present streams by name, in LM order (lexical, phonetic, acoustic)."""
        return {name: t for name in STREAMS if (t := getattr(self, name)) is not None}

    @property
    def batch_size(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def num_frames(self) -> int:
        """Padded length T."""
        return int(next(iter(self.streams().values())).shape[-1])

    @property
    def mask(self) -> Tensor:
        """``BoolTensor [B, T]``: True on valid frames."""
        steps = torch.arange(self.num_frames, device=self.lengths.device)
        return steps[None, :] < self.lengths[:, None]

    def __len__(self) -> int:
        return self.batch_size

    # -- conversion -----------------------------------------------------------------------------
    def _map(self, fn) -> HACTokens:
        tensors = {name: fn(getattr(self, name)) for name in (*self.streams(), "lengths", "sample_lengths")}
        return dataclasses.replace(self, **tensors)

    def to(self, device: torch.device | str) -> HACTokens:
        return self._map(lambda t: t.to(device))

    def numpy(self) -> dict[str, np.ndarray]:
        """Present streams plus ``lengths`` and ``sample_lengths`` as int64 numpy arrays."""
        out = {name: t.cpu().numpy() for name, t in self.streams().items()}
        out["lengths"] = self.lengths.cpu().numpy()
        out["sample_lengths"] = self.sample_lengths.cpu().numpy()
        return out

    # -- batching -------------------------------------------------------------------------------
    def __getitem__(self, index: int | slice | Sequence[int] | Tensor) -> HACTokens:
        """Select items; the result is cut to its own longest item. An int keeps the batch axis (B = 1)."""
        if isinstance(index, int):
            if not -self.batch_size <= index < self.batch_size:
                raise IndexError(f"item {index} out of range for a batch of {self.batch_size}")
            index = slice(index, index + 1 if index != -1 else None)
        picked = self._map(lambda t: t[index])
        if picked.batch_size == 0:
            raise IndexError("selection is empty")
        return picked.trim()

    def __iter__(self) -> Iterator[HACTokens]:
        return iter(self.unbatch())

    def unbatch(self) -> list[HACTokens]:
        """One ``HACTokens`` per item (B = 1), each without padding."""
        return [self[i] for i in range(self.batch_size)]

    def trim(self) -> HACTokens:
        """Drop frames past the longest item."""
        longest = int(self.lengths.max())
        return dataclasses.replace(self, **{name: t[..., :longest] for name, t in self.streams().items()})

    @classmethod
    def collate(cls, items: Sequence[HACTokens]) -> HACTokens:
        """Stack items of one model into a padded batch (inverse of :meth:`unbatch`)."""
        if not items:
            raise TokenError("nothing to collate: the list of tokens is empty.")
        first = items[0]
        for i, item in enumerate(items):
            if set(item.streams()) != set(first.streams()) or item.model != first.model:
                raise TokenError(f"item {i} has other streams or another model than item 0; collate one model's tokens.")
        longest = max(item.num_frames for item in items)
        stacked = {}
        for name in first.streams():
            padded = [torch.nn.functional.pad(getattr(t, name), (0, longest - t.num_frames), value=PAD_ID) for t in items]
            stacked[name] = torch.cat(padded)
        return dataclasses.replace(
            first,
            **stacked,
            lengths=torch.cat([t.lengths for t in items]),
            sample_lengths=torch.cat([t.sample_lengths for t in items]),
        )

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` with the streams, lengths, rates, model name and vocab sizes (atomic)."""
        path = Path(path)
        meta = {
            "format_version": np.int64(_FORMAT_VERSION),
            "sample_rate": np.int64(self.sample_rate),
            "frame_rate": np.float64(self.frame_rate),
            "model": np.str_(self.model or ""),
            "vocab_names": np.array(list(self.vocab_sizes), dtype=np.str_),
            "vocab_values": np.array(list(self.vocab_sizes.values()), dtype=np.int64),
        }
        with atomic_write(path) as f:  # a killed process leaves the previous file (or none), never a partial one
            np.savez(f, **self.numpy(), **meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> HACTokens:
        """Read an ``.npz`` written by :meth:`save`; anything else raises :class:`TokenError` naming the file."""
        arrays = _read_npz(Path(path))
        required = {"format_version", "lengths", "sample_lengths", "sample_rate", "frame_rate"}
        if not required <= set(arrays):
            raise TokenError(f"{path} lacks {sorted(required - set(arrays))}; it was not written by HACTokens.save.")
        version = _scalar(arrays, "format_version", int, path)
        if version != _FORMAT_VERSION:
            raise TokenError(
                f"{path} has token format {version}; this hac-tokenizer reads format {_FORMAT_VERSION}. "
                "Upgrade hac-tokenizer, or re-encode the audio."
            )
        names, values = arrays.get("vocab_names", np.array([])), arrays.get("vocab_values", np.array([]))
        if names.shape != values.shape or names.ndim != 1:
            raise TokenError(f"{path}: vocab_names {names.shape} and vocab_values {values.shape} do not pair up; the file is corrupt.")
        return cls(
            **{name: _ids(arrays, name, path) if name in arrays else None for name in STREAMS},
            lengths=_ids(arrays, "lengths", path),
            sample_lengths=_ids(arrays, "sample_lengths", path),
            sample_rate=_scalar(arrays, "sample_rate", int, path),
            frame_rate=_scalar(arrays, "frame_rate", float, path),
            model=str(arrays["model"]) if "model" in arrays and arrays["model"].ndim == 0 and str(arrays["model"]) else None,
            vocab_sizes=dict(zip(map(str, names.tolist()), map(int, _ids(arrays, "vocab_values", path).tolist()))),
        )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an npz archive, never unpickling anything."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"PK\x03\x04":  # every npz is a zip archive; anything else (npy, pickle, text) is not ours
            raise TokenError(f"{path} is not an npz archive (it starts with {magic!r}); pass a file written by HACTokens.save.")
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except TokenError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise TokenError(
            f"cannot read tokens from {path}: {err}. Is it a complete npz written by HACTokens.save? "
            "Re-encode the audio if the file is truncated."
        ) from err


def _ids(arrays: dict[str, np.ndarray], key: str, path: object) -> Tensor:
    """An integer array as a LongTensor; floats, strings or booleans mean the file is not ours."""
    value = arrays.get(key, np.zeros(0, dtype=np.int64))
    if value.dtype.kind not in "iu":
        raise TokenError(f"{path}: {key} has dtype {value.dtype}, expected integers; the file is corrupt or not ours.")
    return torch.from_numpy(value.astype(np.int64))


def _scalar(arrays: dict[str, np.ndarray], key: str, kind: type, path: object) -> int | float:
    value = arrays[key]
    if value.ndim != 0 or value.dtype.kind not in "iuf":
        raise TokenError(f"{path}: {key} must be a single number, got {value.dtype} of shape {value.shape}.")
    return kind(value)


@dataclass
class HACAudio:
    """Decoded audio.

    Attributes:
        waveform: ``FloatTensor [B, S]`` in [-1, 1]; samples past ``lengths[b]`` are zero.
        lengths: ``LongTensor [B]`` valid samples per item.
        sample_rate: Hz.
    """

    waveform: Tensor
    lengths: Tensor
    sample_rate: int

    @classmethod
    def from_padded(cls, waveform: Tensor, lengths: Tensor, sample_rate: int) -> HACAudio:
        """``waveform [B, S']`` decoded from padded frames -> cut to the longest item, zero past each length."""
        waveform = waveform.float()[:, : int(lengths.max())]
        steps = torch.arange(waveform.shape[-1], device=waveform.device)
        waveform = waveform.masked_fill(steps[None, :] >= lengths[:, None], 0.0)
        return cls(waveform=waveform, lengths=lengths, sample_rate=sample_rate)

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def unbatch(self) -> list[Tensor]:
        """One ``[S_b]`` tensor per item, without padding."""
        return [w[: int(n)] for w, n in zip(self.waveform, self.lengths)]

    def save(self, path: str | os.PathLike, index: int = 0) -> None:
        """Write item ``index`` to a wav/flac file."""
        from .audio import save_audio

        save_audio(path, self.unbatch()[index], self.sample_rate)
