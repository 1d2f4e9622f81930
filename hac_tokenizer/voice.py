"""Voice conversion by token surgery, and the voice stand-in used by partial decoding.

HAC factors speech into content (lexical + phonetic tokens) and what is left (acoustic RVQ tokens:
speaker, prosody, channel). Keeping a source's content tokens and taking the acoustic tokens from a
reference speaker converts the voice (SpeechTokenizer's one-shot VC, Zhang et al. 2024, sec. 5, did
this with RVQ-1 vs RVQ-2:8).

Source and reference rarely have the same length, so the reference's acoustic frames are *fitted* to
each source item by a frame-index map ``fit(available, needed) -> LongTensor [needed]``:

* ``"loop"`` (default): circular padding when the reference is shorter, cropping to its first frames
  when longer, as SpeechTokenizer does. Every output frame is a real reference frame played at its own
  speed, so the local dynamics that carry voice quality (pitch periods, formant transitions) are intact;
  the price is a jump at each seam and, for a long reference, only its beginning is used.
* ``"stretch"``: a nearest-neighbour time warp of the *whole* reference onto the source's duration. No
  seam, every part of a long reference contributes, but the reference's tempo changes by T_ref / T_src.

We keep ``"loop"`` as the default because a tempo change is itself a voice change (speaking rate is
part of what the acoustic stream carries), and the seams fall at frame boundaries where the decoder is
used to code changes anyway. ``benchmarks/voice_conversion.py`` measures both, so the choice can be
revisited per checkpoint. Any callable with the ``fit`` signature can be passed instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np
import torch
from einops import rearrange, repeat
from torch import Tensor

from .errors import TokenError
from .model import HACModel
from .tokens import PAD_ID, HACTokens

FrameFit = Callable[[int, int], Tensor]


def loop_frames(available: int, needed: int) -> Tensor:
    """``[needed]`` indices ``0, 1, ..., available-1, 0, 1, ...``: circular padding, or cropping to the first frames."""
    return torch.arange(needed) % available


def stretch_frames(available: int, needed: int) -> Tensor:
    """``[needed]`` indices spreading all ``available`` frames evenly over ``needed`` (nearest neighbour)."""
    centres = (torch.arange(needed, dtype=torch.float64) + 0.5) * (available / needed)
    return centres.floor().long().clamp_max(available - 1)


FITS: Mapping[str, FrameFit] = MappingProxyType({"loop": loop_frames, "stretch": stretch_frames})


def _resolve_fit(fit: str | FrameFit) -> FrameFit:
    if callable(fit):
        return fit
    try:
        return FITS[fit]
    except KeyError:
        raise TokenError(
            f"unknown length fit {fit!r}; use one of {sorted(FITS)} or a callable (available, needed) -> indices."
        ) from None


def _resolve_layers(layers: Sequence[int] | None, num_layers: int) -> list[int]:
    if layers is None:
        return list(range(num_layers))
    # Strings iterate as characters and floats would be truncated: only whole-number indices are layers.
    whole = (isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in layers)
    if isinstance(layers, (str, bytes)) or not all(whole):
        raise TokenError(f"layers must be a sequence of int RVQ layer indices (0 = coarsest), got {layers!r}.")
    chosen = sorted({int(i) for i in layers})
    if not chosen or chosen[0] < 0 or chosen[-1] >= num_layers:
        raise TokenError(f"layers must be RVQ layer indices in [0, {num_layers}) (0 = coarsest), got {list(layers)}.")
    return chosen


def fit_voice_frames(voice: HACTokens, lengths: Tensor, fit: str | FrameFit = "loop") -> Tensor:
    """Frame indices ``[B, T]`` into ``voice`` (B = 1 broadcasts) giving ``lengths[b]`` frames per item.

    Positions past ``lengths[b]`` hold 0 (they are masked by the caller).
    """
    fit_fn = _resolve_fit(fit)
    frames = int(lengths.max())
    rows = []
    for b, needed in enumerate(lengths.tolist()):
        available = int(voice.lengths[b if voice.batch_size > 1 else 0])
        index = torch.as_tensor(fit_fn(available, needed)).long().cpu()
        if index.shape != (needed,) or int(index.min()) < 0 or int(index.max()) >= available:
            raise TokenError(
                f"length fit returned {tuple(index.shape)} indices in [{int(index.min())}, {int(index.max())}]; "
                f"it must return {needed} indices in [0, {available})."
            )
        rows.append(torch.nn.functional.pad(index, (0, frames - needed)))
    return torch.stack(rows).to(lengths.device)


def swap_acoustic(
    content: HACTokens,
    voice: HACTokens,
    layers: Sequence[int] | None = None,
    fit: str | FrameFit = "loop",
) -> HACTokens:
    """Content streams of ``content``, acoustic RVQ ``layers`` (default all) from ``voice``.

    Args:
        content: ``B`` source items. Its lexical/phonetic streams, lengths and sample lengths are kept
            bit-identical. It needs an acoustic stream only when some layers are kept from it.
        voice: ``B`` reference items (item b gives item b its voice) or 1 (one voice for all).
        layers: RVQ layer indices (0 = coarsest) to take from ``voice``; the others stay the source's.
        fit: how a reference of another length is fitted to each source item (see module doc).

    Returns:
        ``HACTokens`` shaped like ``content`` with ``acoustic [B, N, T]`` (``PAD_ID`` past each length).
    """
    if voice.acoustic is None:
        raise TokenError(
            "the voice tokens have no acoustic stream; encode the reference with streams including 'acoustic'."
        )
    if voice.batch_size not in (1, content.batch_size):
        raise TokenError(
            f"{voice.batch_size} voices for {content.batch_size} sources; pass one voice or one per source."
        )
    if content.vocab_sizes and voice.vocab_sizes and content.vocab_sizes != voice.vocab_sizes:
        raise TokenError(
            f"content ({content.model}) and voice ({voice.model}) come from different models; encode both with one."
        )
    num_layers = voice.acoustic.shape[1]
    chosen = _resolve_layers(layers, num_layers)
    if content.acoustic is None and len(chosen) < num_layers:
        raise TokenError(
            "content has no acoustic stream but some RVQ layers are kept from it; encode the source with 'acoustic'."
        )
    if content.acoustic is not None and content.acoustic.shape[1] != num_layers:
        raise TokenError(
            f"content has {content.acoustic.shape[1]} acoustic layers and voice {num_layers}; use one model."
        )

    lengths = content.lengths
    frames = content.num_frames
    index = fit_voice_frames(voice, lengths, fit)  # [B, T']
    index = torch.nn.functional.pad(index, (0, frames - index.shape[-1]))  # [B, T]
    source = voice.acoustic.to(lengths.device).expand(content.batch_size, -1, -1)  # [B, N, T_v]
    fitted = source.gather(2, repeat(index, "b t -> b n t", n=num_layers))  # [B, N, T]
    if content.acoustic is None:
        acoustic = fitted
    else:
        take = torch.zeros(num_layers, dtype=torch.bool, device=lengths.device)
        take[chosen] = True
        acoustic = torch.where(rearrange(take, "n -> 1 n 1"), fitted, content.acoustic)
    acoustic = acoustic.masked_fill(~rearrange(content.mask, "b t -> b 1 t"), PAD_ID)
    return dataclasses.replace(content, acoustic=acoustic)


def acoustic_mean(model: HACModel, voice: HACTokens) -> Tensor:
    """``[B, D]``: a speaker's acoustic embedding ``Z_Qa`` averaged over its valid frames.

    Passed as ``acoustic=`` to :meth:`HACTokenizer.decode_streams`, it stands in for the acoustic stream
    with one constant vector: what remains audible is what the content streams carry plus the reference's
    average timbre, without its frame-by-frame prosody. Runs the model without a lock:
    :meth:`HACTokenizer.acoustic_mean` is the thread-safe entry point.
    """
    if voice.acoustic is None:
        raise TokenError(
            "the voice tokens have no acoustic stream; encode the reference with streams including 'acoustic'."
        )
    with torch.inference_mode():
        return model.quantizer.acoustic_mean(voice.acoustic.to(model.device), voice.mask)
