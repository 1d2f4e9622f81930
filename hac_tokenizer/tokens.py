"""Results of ``encode`` and ``decode``: ``HACTokens`` and ``HACAudio``.

Padding is never a token: positions past ``lengths[b]`` hold :data:`PAD_ID` (-1), so an embedding
lookup on unmasked padding fails loudly instead of reading a real code.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .atomic import atomic_write
from .errors import TokenError

PAD_ID = -1
STREAMS = ("lexical", "phonetic", "acoustic")
_PADDED_VERSION = 1  # token file formats: see HACTokens.to_arrays
_PACKED_VERSION = 2


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
                raise TokenError(
                    f"item {i} has other streams or another model than item 0; collate one model's tokens."
                )
        longest = max(item.num_frames for item in items)
        stacked = {}
        for name in first.streams():
            padded = [
                torch.nn.functional.pad(getattr(t, name), (0, longest - t.num_frames), value=PAD_ID) for t in items
            ]
            stacked[name] = torch.cat(padded)
        return dataclasses.replace(
            first,
            **stacked,
            lengths=torch.cat([t.lengths for t in items]),
            sample_lengths=torch.cat([t.sample_lengths for t in items]),
        )

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, packed: bool = False) -> None:
        """Write an ``.npz`` with the streams, lengths, rates, model name and vocab sizes (atomic).

        ``packed`` stores the items back to back without padding (see :meth:`to_arrays`); :meth:`load`
        reads either layout.
        """
        with atomic_write(path) as f:  # a killed process leaves the previous file (or none), never a partial one
            np.savez(f, **self.to_arrays(packed))

    @classmethod
    def load(cls, path: str | os.PathLike) -> HACTokens:
        """Read an ``.npz`` written by :meth:`save`; anything else raises :class:`TokenError` naming the file."""
        return cls.from_arrays(read_npz(path), path)

    def to_arrays(self, packed: bool = False) -> dict[str, np.ndarray]:
        """The arrays of the token file (what :meth:`save` writes into an npz).

        Token ids are stored in the smallest signed integer type that holds them (read back as int64).
        Padded (format 1): ``lexical``/``phonetic [B, T]``, ``acoustic [B, N, T]``, ``PAD_ID`` past each
        length. Packed (format 2): the items' valid frames back to back, ``lexical``/``phonetic [L]``,
        ``acoustic [N, L]`` with ``L = sum(lengths)``, item ``b`` in frames ``offsets[b]:offsets[b + 1]``.
        Both carry ``lengths [B]``, ``sample_lengths [B]``, ``sample_rate``, ``frame_rate``, ``model``,
        ``vocab_names``/``vocab_values`` and ``format_version``: a padded file stays format 1, so older
        hac-tokenizer versions still read it, and refuse the packed layout they do not know.
        """
        lengths = self.lengths.cpu()
        if packed:
            streams = {
                name: torch.cat([t[b, ..., :n] for b, n in enumerate(lengths.tolist())], dim=-1)
                for name, t in self.streams().items()
            }
        else:
            streams = self.streams()
        arrays = {name: _narrowest(t.cpu().numpy()) for name, t in streams.items()}
        if packed:
            arrays["offsets"] = np.concatenate([[0], np.cumsum(lengths.numpy())]).astype(np.int64)
        return arrays | {
            "format_version": np.int64(_PACKED_VERSION if packed else _PADDED_VERSION),
            "lengths": lengths.numpy().astype(np.int64),
            "sample_lengths": self.sample_lengths.cpu().numpy().astype(np.int64),
            "sample_rate": np.int64(self.sample_rate),
            "frame_rate": np.float64(self.frame_rate),
            "model": np.str_(self.model or ""),
            "vocab_names": np.array(list(self.vocab_sizes), dtype=np.str_),
            "vocab_values": np.array(list(self.vocab_sizes.values()), dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], source: object) -> HACTokens:
        """Check and read the arrays of a token file (either layout of :meth:`to_arrays`; other keys are ignored).

        Raises :class:`TokenError` naming ``source`` (the file) for a missing key, an unknown format version,
        a non-integer id array, or shapes, lengths and offsets that do not agree.
        """
        required = {"format_version", "lengths", "sample_lengths", "sample_rate", "frame_rate"}
        if not required <= set(arrays):
            raise TokenError(f"{source} lacks {sorted(required - set(arrays))}; it was not written by HACTokens.save.")
        version = _scalar(arrays, "format_version", int, source)
        if version not in (_PADDED_VERSION, _PACKED_VERSION):
            raise TokenError(
                f"{source} has token format {version}; this hac-tokenizer reads formats {_PADDED_VERSION} and "
                f"{_PACKED_VERSION}. Upgrade hac-tokenizer, or re-encode the audio."
            )
        names, values = arrays.get("vocab_names", np.array([])), arrays.get("vocab_values", np.array([]))
        if names.shape != values.shape or names.ndim != 1:
            raise TokenError(
                f"{source}: vocab_names {names.shape} and vocab_values {values.shape} do not pair up; the file is corrupt."
            )
        streams = {name: _ids(arrays, name, source) for name in STREAMS if name in arrays}
        lengths, sample_lengths = _ids(arrays, "lengths", source), _ids(arrays, "sample_lengths", source)
        if not streams:
            raise TokenError(f"{source} holds no token stream (none of {STREAMS}); the file is corrupt or not ours.")
        if lengths.dim() != 1 or len(lengths) == 0 or sample_lengths.shape != lengths.shape or (lengths < 0).any():
            raise TokenError(
                f"{source}: lengths {tuple(lengths.shape)} and sample_lengths {tuple(sample_lengths.shape)} must both "
                "be [B] with B >= 1 and lengths >= 0; the file is corrupt."
            )
        if version == _PACKED_VERSION:
            streams = _unpack(streams, lengths, _ids(arrays, "offsets", source), source)
        _check_padded(streams, lengths, source)
        model = arrays.get("model", np.str_(""))
        return cls(
            **{name: streams.get(name) for name in STREAMS},
            lengths=lengths,
            sample_lengths=sample_lengths,
            sample_rate=_scalar(arrays, "sample_rate", int, source),
            frame_rate=_scalar(arrays, "frame_rate", float, source),
            model=str(model) if model.ndim == 0 and str(model) else None,
            vocab_sizes=dict(zip(map(str, names.tolist()), map(int, _ids(arrays, "vocab_values", source).tolist()))),
        )


def _narrowest(ids: np.ndarray) -> np.ndarray:
    """Token ids (``PAD_ID`` included) in the smallest signed integer type that holds them."""
    if ids.size == 0:
        return ids.astype(np.int16)
    low, high = int(ids.min()), int(ids.max())
    for dtype in (np.int16, np.int32):
        if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return ids.astype(dtype)
    return ids.astype(np.int64)


def _expected_rank(name: str) -> int:
    """Dims of a padded stream: ``[B, T]``, or ``[B, N, T]`` for acoustic."""
    return 3 if name == "acoustic" else 2


def _unpack(streams: dict[str, Tensor], lengths: Tensor, offsets: Tensor, source: object) -> dict[str, Tensor]:
    """Packed streams (``[L]`` / ``[N, L]``) -> padded ``[B, T]`` / ``[B, N, T]``, after checking the offsets."""
    expected = torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)])
    if not torch.equal(offsets, expected):
        raise TokenError(
            f"{source}: offsets {offsets.tolist()[:8]} do not add up to lengths {lengths.tolist()[:8]} "
            "(offsets must be [B + 1], from 0, one step per item's frames); the file is corrupt."
        )
    total, longest = int(expected[-1]), int(lengths.max())
    padded = {}
    for name, flat in streams.items():
        if flat.dim() != _expected_rank(name) - 1 or flat.shape[-1] != total:
            want = "[L]" if name != "acoustic" else "[N, L]"
            raise TokenError(
                f"{source}: packed {name} has shape {tuple(flat.shape)}, expected {want} with L = {total} "
                "(the sum of lengths); the file is corrupt."
            )
        out = torch.full((len(lengths), *flat.shape[:-1], longest), PAD_ID, dtype=flat.dtype)
        for b, (start, stop) in enumerate(zip(offsets[:-1].tolist(), offsets[1:].tolist())):
            out[b, ..., : stop - start] = flat[..., start:stop]
        padded[name] = out
    return padded


def _check_padded(streams: dict[str, Tensor], lengths: Tensor, source: object) -> None:
    """Every stream ``[B, (N,) T]`` with one B and T, and no item longer than T."""
    frames = {t.shape[-1] for t in streams.values() if t.dim() >= 1}
    for name, t in streams.items():
        if t.dim() != _expected_rank(name) or t.shape[0] != len(lengths) or len(frames) != 1:
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in streams.items())
            raise TokenError(
                f"{source}: streams {shapes} with {len(lengths)} lengths; every stream must be [B, T] (acoustic "
                "[B, N, T]) with one B and one T; the file is corrupt."
            )
    if int(lengths.max()) > frames.pop():
        raise TokenError(
            f"{source}: lengths reach {int(lengths.max())}, beyond the streams' frames; the file is corrupt."
        )


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an npz archive, never unpickling anything (:class:`TokenError` for anything else)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"PK\x03\x04":  # every npz is a zip archive; anything else (npy, pickle, text) is not ours
            raise TokenError(
                f"{path} is not an npz archive (it starts with {magic!r}); pass a file written by HACTokens.save."
            )
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except TokenError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise TokenError(
            f"cannot read tokens from {path}: {err}. Is it a complete npz written by HACTokens.save? "
            "Re-encode the audio if the file is truncated."
        ) from err


def _ids(arrays: Mapping[str, np.ndarray], key: str, path: object) -> Tensor:
    """An integer array as a LongTensor; floats, strings or booleans mean the file is not ours."""
    value = arrays.get(key, np.zeros(0, dtype=np.int64))
    if value.dtype.kind not in "iu":
        raise TokenError(f"{path}: {key} has dtype {value.dtype}, expected integers; the file is corrupt or not ours.")
    return torch.from_numpy(value.astype(np.int64))


def _scalar(arrays: Mapping[str, np.ndarray], key: str, kind: type, path: object) -> int | float:
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
