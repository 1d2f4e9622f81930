"""Partial decoding: hear what each level carries by decoding from a subset of the token streams.

The decoder reads ``Z_Q = Z_Ql + Z_Qp + Z_Qa`` (paper, Fig. 1). Leaving a stream out drops its term;
the acoustic term may instead be a constant vector, e.g. a speaker's mean acoustic embedding
(:meth:`HACTokenizer.acoustic_mean`), so the content is heard in an average voice without the
frame-by-frame prosody. Keeping only the first M RVQ layers (slice ``tokens.acoustic[:, :M]``) shows
how much each residual layer adds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from einops import rearrange
from torch import Tensor

from .errors import StreamError, TokenError
from .model import HACModel
from .nn.layers import padding_mask
from .token_checks import check_tokens
from .tokens import HACAudio, HACTokens


def _complete(tokens: HACTokens, layers: int) -> HACTokens:
    """``tokens`` with absent streams and missing RVQ layers filled by code 0, for the model's validation."""
    if not tokens.streams():
        raise TokenError("tokens hold no stream at all; encode at least one.")
    reference = next(iter(tokens.streams().values()))
    batch, frames = reference.shape[0], reference.shape[-1]
    zeros = {
        name: torch.zeros(batch, frames, dtype=torch.long, device=reference.device) for name in ("lexical", "phonetic")
    }
    acoustic = torch.zeros(batch, layers, frames, dtype=torch.long, device=reference.device)
    if tokens.acoustic is not None:
        kept = tokens.acoustic.shape[1]
        if not 1 <= kept <= layers:
            raise TokenError(f"acoustic tokens have {kept} RVQ layers; this model decodes 1 to {layers}.")
        acoustic[:, :kept] = tokens.acoustic
    return dataclasses.replace(
        tokens,
        lexical=tokens.lexical if tokens.lexical is not None else zeros["lexical"],
        phonetic=tokens.phonetic if tokens.phonetic is not None else zeros["phonetic"],
        acoustic=acoustic,
    )


def _acoustic_fill(fill: Tensor, batch: int, dim: int, device: torch.device) -> Tensor:
    """``[D]``, ``[1, D]`` or ``[B, D]`` -> ``[B, D, 1]`` (constant over frames)."""
    fill = torch.as_tensor(fill).float().to(device)
    if fill.dim() == 1:
        fill = fill[None]
    if fill.dim() == 2 and fill.shape[0] == 1:
        fill = fill.expand(batch, -1)
    if fill.shape != (batch, dim):
        raise TokenError(
            f"acoustic must be [D], [1, D] or [B, D] = [{batch}, {dim}] (e.g. voice.acoustic_mean), got {tuple(fill.shape)}."
        )
    return rearrange(fill, "b d -> b d 1")


def decode_streams(
    model: HACModel,
    tokens: HACTokens,
    streams: Sequence[str],
    acoustic: Tensor | None = None,
    model_name: str | None = None,
) -> HACAudio:
    """Decode ``Z_Q`` summed over ``streams`` only (others contribute zero), plus ``acoustic [D] / [1, D] / [B, D]``.

    ``acoustic`` replaces the acoustic stream by a constant vector and so needs ``"acoustic"`` left out of
    ``streams``. Acoustic tokens with fewer RVQ layers than the model use just those layers. Items are
    decoded whole (no windowing): this is a listening tool for clips, not for hour-long files.
    ``model_name`` names the model in errors (default ``model.config.name``).
    Returns ``HACAudio(waveform [B, S], lengths [B])`` like :meth:`HACTokenizer.decode`.

    Runs the model without a lock: :meth:`HACTokenizer.decode_streams` is the thread-safe entry point.
    """
    config = model.config
    streams = (streams,) if isinstance(streams, str) else tuple(streams)
    unknown = [s for s in streams if s not in config.streams]
    if unknown:
        raise StreamError(f"streams must be a subset of {config.streams}, got {streams}.")
    absent = [s for s in streams if getattr(tokens, s, None) is None]
    if absent:
        raise TokenError(f"the tokens lack the {absent} stream(s) asked for; encode them or leave them out of streams.")
    if acoustic is not None and "acoustic" in streams:
        raise TokenError("pass acoustic= only when the acoustic stream is left out (it replaces that stream).")
    if not streams and acoustic is None:
        raise TokenError("nothing to decode: name at least one stream or pass an acoustic vector.")
    codes = check_tokens(_complete(tokens, config.acoustic_layers), config, model_name or config.name)
    layers = tokens.acoustic.shape[1] if tokens.acoustic is not None else config.acoustic_layers
    device = model.device
    codes = {name: c.to(device).clamp_min(0) for name, c in codes.items() if name in streams}
    if "acoustic" in codes:
        codes["acoustic"] = codes["acoustic"][:, :layers]
    frames = tokens.num_frames
    mask = padding_mask(tokens.lengths.to(device), frames)
    with torch.inference_mode():
        z_q = torch.zeros(tokens.batch_size, config.latent_dim, frames, device=device)
        if codes:
            z_q = z_q + model.quantizer.embed(codes)
        if acoustic is not None:
            z_q = z_q + _acoustic_fill(acoustic, tokens.batch_size, config.latent_dim, device)
        audio = model.decode(z_q, mask)[:, 0]  # [B, T * hop]
    return HACAudio.from_padded(audio, tokens.sample_lengths.to(device), config.sample_rate)
