"""Results of ``encode`` and ``decode``: ``HACTokens`` and ``HACAudio``.

Padding is never a token: positions past ``lengths[b]`` hold :data:`PAD_ID` (-1), so an embedding
lookup on unmasked padding fails loudly instead of reading a real code.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

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
    sample_rate: int = 16000
    frame_rate: float = 50.0
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
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": np.int64(_FORMAT_VERSION),
            "sample_rate": np.int64(self.sample_rate),
            "frame_rate": np.float64(self.frame_rate),
            "model": np.str_(self.model or ""),
            "vocab_names": np.array(list(self.vocab_sizes), dtype=np.str_),
            "vocab_values": np.array(list(self.vocab_sizes.values()), dtype=np.int64),
        }
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez(tmp, **self.numpy(), **meta)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> HACTokens:
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError) as err:
            raise TokenError(f"cannot read tokens from {path}: {err}. Is it an npz written by HACTokens.save?") from err
        required = {"format_version", "lengths", "sample_lengths", "sample_rate", "frame_rate"}
        if not required <= set(arrays):
            raise TokenError(f"{path} lacks {sorted(required - set(arrays))}; it was not written by HACTokens.save.")
        if int(arrays["format_version"]) != _FORMAT_VERSION:
            raise TokenError(f"{path} has token format {int(arrays['format_version'])}; this version reads {_FORMAT_VERSION}.")
        streams = {name: torch.from_numpy(arrays[name]).long() if name in arrays else None for name in STREAMS}
        return cls(
            **streams,
            lengths=torch.from_numpy(arrays["lengths"]).long(),
            sample_lengths=torch.from_numpy(arrays["sample_lengths"]).long(),
            sample_rate=int(arrays["sample_rate"]),
            frame_rate=float(arrays["frame_rate"]),
            model=str(arrays.get("model", "")) or None,
            vocab_sizes=dict(zip(arrays["vocab_names"].tolist(), arrays["vocab_values"].tolist())),
        )


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

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def unbatch(self) -> list[Tensor]:
        """One ``[S_b]`` tensor per item, without padding."""
        return [w[: int(n)] for w, n in zip(self.waveform, self.lengths)]

    def save(self, path: str | os.PathLike, index: int = 0) -> None:
        """Write item ``index`` to a wav/flac file."""
        from .audio import save_audio

        save_audio(path, self.unbatch()[index], self.sample_rate)
