"""Long audio: encode and decode in overlapping windows with bounded memory.

Inputs longer than a window are cut into overlapping windows aligned to the hop, and each window
contributes only its centre, where it has ``overlap / 2`` of real context on both sides. Seams fall at the
midpoints of the overlaps. The CNN encoder and decoder see a few frames around each position and each
transformer ``TransformerConfig.context_frames`` on each side (local attention), so when ``overlap / 2``
covers that, windowed tokens equal whole-utterance tokens. The bundled model's context is about 4.3 s, more
than the 2.5 s the default 5 s overlap gives, but influence from that far is weak: the defaults measure
100% agreement (benchmarks/README.md). A model with global attention sees the whole window, and its
windowed tokens match exactly only below one window.

Sizes are in frames of the model (``HACConfig.frame_rate``). Windows of one item all have the same length, so they are
batched without padding masks; memory depends on ``window`` and ``batch_size``, never on the input length. Kept
centres are copied into outputs allocated once per item, so nothing of a batch outlives it: every batch frees
what the last one freed, and the heap (:mod:`hac_tokenizer.heap`) hands exactly those blocks to the next.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from einops import rearrange
from torch import Tensor, nn

from .errors import WindowError
from .model import HACModel

DEFAULT_WINDOW_SECONDS = 30.0
DEFAULT_OVERLAP_SECONDS = 5.0
DEFAULT_DECODE_OVERLAP_SECONDS = 1.0  # the decoder is convolutional: 25 frames of context beat its ~10
# Windows, and whole items, run together while the batch's widest activation stays within this: batching pays for
# small frame-rate models (fewer, larger kernel calls), while a full-rate CNN's widest activation is ~120 MiB per 30 s
# window already, and more of them only raise peak memory (and past glibc's 2 GiB trim threshold, page faults);
# whole items of the full-size model cost 4-16 % more per second of audio at batch 16-32 than at 4-8 (2.5 s clips,
# benchmarks/README.md), where their batch passes this.
BATCH_ACTIVATION_BYTES = 128 << 20
MAX_WINDOW_BATCH = 4


@dataclass(frozen=True)
class Window:
    """A window of ``[start, start + length)`` frames whose frames ``[keep_start, keep_end)`` are kept."""

    start: int
    length: int
    keep_start: int
    keep_end: int

    @property
    def stop(self) -> int:
        return self.start + self.length


def window_frames(window_seconds: float, overlap_seconds: float, frame_rate: float) -> tuple[int, int]:
    """Seconds -> ``(window, overlap)`` in frames; the overlap is rounded to an even number of frames."""
    if not isinstance(window_seconds, numbers.Real) or not window_seconds > 0 or not math.isfinite(window_seconds):
        raise WindowError(f"window_seconds must be a positive number, got {window_seconds!r}.")
    if not isinstance(overlap_seconds, numbers.Real) or not 0 <= overlap_seconds < window_seconds:
        raise WindowError(f"overlap_seconds must lie in [0, window_seconds={window_seconds}), got {overlap_seconds!r}.")
    window = max(1, round(window_seconds * frame_rate))
    overlap = 2 * round(overlap_seconds * frame_rate / 2)
    if overlap >= window:
        raise WindowError(
            f"a {window_seconds} s window is {window} frames; an overlap of {overlap} frames leaves no centre. "
            "Lower overlap_seconds."
        )
    return window, overlap


def plan_windows(num_frames: int, window: int, overlap: int) -> list[Window]:
    """Cover ``num_frames`` with windows of ``window`` frames overlapping by at least ``overlap``.

    Windows advance by ``window - overlap``; the last one is pulled back to end at ``num_frames`` so it
    is full length (more context, and one shape for the whole batch). Kept parts tile ``[0, num_frames)``
    exactly, switching from one window to the next at the middle of their overlap.
    """
    if num_frames <= window:
        return [Window(0, num_frames, 0, num_frames)]
    stride = window - overlap
    starts = list(range(0, num_frames - window, stride)) + [num_frames - window]
    bounds = [0] + [(nxt + cur + window) // 2 for cur, nxt in itertools.pairwise(starts)] + [num_frames]
    return [Window(s, window, a, b) for s, a, b in zip(starts, bounds, bounds[1:])]


class AudioReader(Protocol):
    """Random access to one mono item at the model's sample rate (:class:`TensorReader`, or a file's
    :class:`hac_tokenizer.audio.FileReader`)."""

    num_samples: int

    def read(self, start: int, stop: int) -> Tensor:
        """Samples ``[start, stop)`` as float32 ``[stop - start]``, zeros past the end."""


class TensorReader:
    """An item already in memory, ``[S]`` float32."""

    def __init__(self, waveform: Tensor) -> None:
        self.waveform = waveform
        self.num_samples = int(waveform.shape[-1])

    def read(self, start: int, stop: int) -> Tensor:
        piece = self.waveform[start : min(stop, self.num_samples)].float()
        return torch.nn.functional.pad(piece, (0, stop - start - piece.shape[-1]))


def windows_per_batch(part: nn.Module, window_samples: int) -> int:
    """How many windows ``part`` (an encoder or decoder) runs at once: as many as keep its widest activation,
    ``part.activation_elements``, within :data:`BATCH_ACTIVATION_BYTES` in fp32, from 1 to :data:`MAX_WINDOW_BATCH`."""
    return max(1, min(MAX_WINDOW_BATCH, BATCH_ACTIVATION_BYTES // _batch_bytes(part, 1, window_samples)))


def _batch_bytes(part: nn.Module, items: int, samples: int) -> int:
    """The widest activation, in fp32 bytes, of ``part`` on a batch of ``items`` padded to ``samples`` samples."""
    return 4 * items * part.activation_elements(samples)


def item_groups(part: nn.Module, rows: Sequence[int], samples: Sequence[int]) -> list[list[int]]:
    """``rows`` of a batch, items of ``samples[i]`` samples, cut in order into the groups ``part`` runs at once.

    A group holds at least one item and otherwise keeps its padded batch's widest activation,
    ``len(group) * part.activation_elements(longest)``, within :data:`BATCH_ACTIVATION_BYTES` in fp32. Of the
    cuts with the fewest groups, evenly sized ones are taken where they exist: 16 equal items whose budget
    allows 13 run as 8 + 8, not 13 + 3 (a group of 3 costs more per second of audio). Each item's result does
    not depend on its group (batched results equal single-item ones), only the time per second of audio does.
    """
    fewest = _cut(part, rows, samples, len(rows))
    if not fewest:
        return fewest
    even = _cut(part, rows, samples, -(-len(rows) // len(fewest)))
    return even if len(even) == len(fewest) else fewest


def _cut(part: nn.Module, rows: Sequence[int], samples: Sequence[int], most: int) -> list[list[int]]:
    """Greedy in-order groups of at most ``most`` items, each within the activation budget (or a single item)."""
    groups: list[list[int]] = []
    longest = 0
    for row in rows:
        candidate = max(longest, int(samples[row]))
        size = len(groups[-1]) + 1 if groups else 1
        if groups and size <= most and _batch_bytes(part, size, candidate) <= BATCH_ACTIVATION_BYTES:
            groups[-1].append(row)
            longest = candidate
        else:
            groups.append([row])
            longest = int(samples[row])
    return groups


def _batches(windows: list[Window], batch_size: int) -> Iterator[list[Window]]:
    for i in range(0, len(windows), batch_size):
        yield windows[i : i + batch_size]


def encode_windowed(
    model: HACModel,
    reader: AudioReader,
    streams: tuple[str, ...],
    window: int,
    overlap: int,
    batch_size: int | None = None,
) -> dict[str, Tensor]:
    """Encode one item of ``reader.num_samples`` samples in windows -> codes ``[1, T]`` / ``[1, N, T]``.

    The item is zero-padded to whole frames, as :meth:`HACTokenizer.encode` does, so an item of at most
    ``window`` frames gives exactly the tokens of a whole-utterance encode. ``batch_size``: windows run together
    (None: :func:`windows_per_batch` of the encoder). Call under ``inference_mode``.
    """
    hop = model.config.hop_length
    num_frames = -(-reader.num_samples // hop)
    windows = plan_windows(num_frames, window, overlap)
    batch_size = batch_size or windows_per_batch(model.encoder, window * hop)
    parameter = next(model.decoder.parameters())
    out: dict[str, Tensor] = {}  # codes [1, T] / [1, N, T], allocated once the first batch shows their shapes
    for group in _batches(windows, batch_size):
        audio = torch.stack([reader.read(w.start * hop, w.stop * hop) for w in group])  # [b, S_w]
        audio = rearrange(audio, "b s -> b 1 s").to(parameter.device, parameter.dtype)
        codes = model.encode(audio, None, streams)
        for name, c in codes.items():
            if name not in out:
                out[name] = c.new_empty((1, *c.shape[1:-1], num_frames))
            for w, item_codes in zip(group, c):
                out[name][0, ..., w.keep_start : w.keep_end] = item_codes[
                    ..., w.keep_start - w.start : w.keep_end - w.start
                ]
    return out


def decode_windowed(
    model: HACModel,
    codes: dict[str, Tensor],
    window: int,
    overlap: int,
    batch_size: int | None = None,
) -> Tensor:
    """Codes of one item (``[1, T]`` / ``[1, N, T]`` per stream) -> audio ``[1, 1, T * hop]``.

    Code embeddings are looked up per window, so neither ``Z_Q`` nor decoder activations ever span the
    whole item. The decoder is convolutional: with ``overlap / 2`` frames of context beyond its receptive
    field (about 10 frames for the DAC decoder) the kept centres match a whole decode up to float rounding.
    ``batch_size``: windows run together (None: :func:`windows_per_batch` of the decoder).
    """
    hop = model.config.hop_length
    num_frames = next(iter(codes.values())).shape[-1]
    windows = plan_windows(num_frames, window, overlap)
    batch_size = batch_size or windows_per_batch(model.decoder, window * hop)
    out = None
    for group in _batches(windows, batch_size):
        window_codes = {name: torch.cat([c[..., w.start : w.stop] for w in group]) for name, c in codes.items()}
        audio = model.decode(model.embed(window_codes), None)  # [b, 1, window * hop]
        if out is None:
            out = audio.new_empty((1, 1, num_frames * hop))
        for w, item_audio in zip(group, audio):
            out[0, :, w.keep_start * hop : w.keep_end * hop] = item_audio[
                ..., (w.keep_start - w.start) * hop : (w.keep_end - w.start) * hop
            ]
    return out
