"""Validation of tokens handed to ``decode``: everything is checked before any tensor reaches the model.

Tokens come from files, other processes and language models, so each check names what is wrong and
what to do; a failure is a :class:`TokenError`, never an index error deep inside an embedding.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .config import HACConfig
from .errors import TokenError
from .tokens import HACTokens


def check_tokens(tokens: object, config: HACConfig, model_name: str) -> dict[str, Tensor]:
    """The streams of ``tokens`` by name, after checking they fit the model of ``config``.

    Checks, in order: the type; tensors of integer ids; that the tokens come from a model with the same
    vocabularies and rates; the set of streams; ``lengths [B]`` and ``sample_lengths [B]``; each stream's
    shape (``[B, T]``, acoustic ``[B, N, T]``) and that every id on a valid frame is in its vocabulary.
    """
    if not isinstance(tokens, HACTokens):
        raise TokenError(f"decode takes HACTokens (from encode or HACTokens.load), got {type(tokens).__name__}.")
    codes = tokens.streams()
    for name, value in {**codes, "lengths": tokens.lengths, "sample_lengths": tokens.sample_lengths}.items():
        if (
            not isinstance(value, Tensor)
            or value.dtype.is_floating_point
            or value.dtype.is_complex
            or value.dtype == torch.bool
        ):
            kind = value.dtype if isinstance(value, Tensor) else type(value).__name__
            raise TokenError(f"{name} must be a tensor of integers, got {kind}; build HACTokens with LongTensors.")
    _check_origin(tokens, config, model_name)
    missing = [s for s in config.streams if s not in codes]
    if missing:
        raise TokenError(f"tokens lack the {missing} stream(s); encode with all streams to decode.")
    extra = [s for s in codes if s not in config.streams]
    if extra:
        raise TokenError(f"tokens have {extra} stream(s) that model {model_name} does not have.")
    _check_shapes(tokens, config)
    _check_lengths(tokens, config.hop_length)
    for name, c in codes.items():
        _check_ids(name, c, tokens, config.vocab_sizes()[name])
    return codes


def _check_origin(tokens: HACTokens, config: HACConfig, model_name: str) -> None:
    """Tokens of another model would decode to garbage without any error: compare what they record."""
    if tokens.vocab_sizes and tokens.vocab_sizes != config.vocab_sizes():
        raise TokenError(
            f"these tokens come from a model with vocabularies {tokens.vocab_sizes} ({tokens.model}); "
            f"this model ({model_name}) has {config.vocab_sizes()}. Decode with the model that encoded them."
        )
    if tokens.sample_rate != config.sample_rate or tokens.frame_rate != config.frame_rate:
        raise TokenError(
            f"these tokens were made at {tokens.sample_rate} Hz / {tokens.frame_rate:g} frames/s ({tokens.model}); "
            f"this model ({model_name}) runs at {config.sample_rate} Hz / {config.frame_rate:g} frames/s. "
            "Decode with the model that encoded them."
        )


def _check_lengths(tokens: HACTokens, hop_length: int) -> None:
    """``lengths [B]`` in [1, T]; ``sample_lengths [B]`` with ``ceil(sample_lengths / hop) == lengths``."""
    lengths, sample_lengths = tokens.lengths, tokens.sample_lengths
    frames = tokens.num_frames
    if int(lengths.min()) < 1 or int(lengths.max()) > frames:
        raise TokenError(f"lengths must lie in [1, {frames}] (T, the streams' last axis), got {lengths.tolist()}.")
    implied = -(-sample_lengths.to(lengths.device) // hop_length)  # frames that cover each item's samples
    if not torch.equal(implied, lengths):
        raise TokenError(
            f"sample_lengths {sample_lengths.tolist()} do not match lengths {lengths.tolist()}: item b must have "
            f"ceil(sample_lengths[b] / {hop_length}) frames. Keep both as encode returned them."
        )


def _check_shapes(tokens: HACTokens, config: HACConfig) -> None:
    """``lengths``/``sample_lengths [B]``; streams ``[B, T]`` (acoustic ``[B, N, T]``) sharing B and T."""
    lengths, sample_lengths = tokens.lengths, tokens.sample_lengths
    if lengths.dim() != 1 or lengths.shape[0] == 0 or sample_lengths.shape != lengths.shape:
        raise TokenError(
            f"lengths {tuple(lengths.shape)} and sample_lengths {tuple(sample_lengths.shape)} must both be [B] "
            "with B >= 1 (one entry per item)."
        )
    batch, frames = tokens.batch_size, tokens.num_frames
    for name, codes in tokens.streams().items():
        shape = (batch, config.acoustic_layers, frames) if name == "acoustic" else (batch, frames)
        if tuple(codes.shape) != shape:
            raise TokenError(
                f"{name} tokens have shape {tuple(codes.shape)}; expected {shape} "
                "([B, N, T] for acoustic, [B, T] otherwise, with B and T shared by every stream)."
            )


def _check_ids(name: str, codes: Tensor, tokens: HACTokens, size: int) -> None:
    """Every id on a valid frame lies in ``[0, size)``; padding may hold anything (decode masks it)."""
    valid = torch.arange(tokens.num_frames, device=codes.device)[None, :] < tokens.lengths.to(codes.device)[:, None]
    ids = codes[valid[:, None].expand_as(codes)] if codes.dim() == 3 else codes[valid]  # valid ids, flattened
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= size):
        raise TokenError(
            f"{name} token ids must lie in [0, {size}) on valid frames, got [{int(ids.min())}, {int(ids.max())}]; "
            f"padding ({tokens.lengths.tolist()} valid frames) may hold -1. Were they made by another model?"
        )
