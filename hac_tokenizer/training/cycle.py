"""The content cycle: content tokens must survive decoding with another speaker's acoustic tokens.

A tokenizer's content streams are only as good as what comes back from the audio decoded from them. Two checks
of the bundled model measured how little did (MODEL_CARD.md): re-encoding a plain reconstruction gave back about
half of the phonetic tokens, and re-encoding a voice conversion (the source's content tokens decoded with another
speaker's acoustic tokens, :mod:`hac_tokenizer.voice`) 7-14 %: the decoder read content from the acoustic stream.
No term of the paper's loss asks for either, so this one does, on every training batch:

1. ``swapped_voices``: each item's content embeddings with the acoustic embedding of the item before it in the
   batch (another clip, mostly another speaker, not aligned in time: as a voice-conversion reference is; a process
   that holds one clip per step, as under DDP with as many processes as clips, decodes its own voice instead);
2. the decode of that is encoded again by the same model;
3. ``token_cross_entropy``: for every content stream, the cross-entropy of the re-encoded frame's code choice
   against the code the input chose, with the choice made soft as a softmax over cosine similarities to the
   codebook (the lookup's own similarity, :class:`~hac_tokenizer.quantization.vq.FactorizedVQ`).

Only the decoder learns from it: it must render the content the content tokens name, whatever the acoustic tokens
say. The decoder's input is detached and the re-encoding runs with the model frozen, so the term never moves the
codes it checks against. Letting it reach the encoder as well (through the decoder's straight-through input or the
re-encoding) made it chase its own targets: on a small random model its value rose under training, while the
decoder alone brought it from 27.8 to 1.6 in 60 steps (``tests/training/test_cycle.py`` keeps the second).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from ..model import HACModel
from ..quantization import VQOutput
from ..quantization.vq import FactorizedVQ
from .runtime import frozen

# Softmax temperature over cosine similarities. The bundled model's codes crowd: a frame's nearest phonetic code is
# a median 0.02 closer than the next (lexical: 0.007), so at 0.1 the softmax hardly told the codes apart (phonetic
# cross-entropy 2.9 on reconstructions whose codes were half right); at 0.05 it reads 2.4, at 0.02 it rises again as
# the wrong half of the frames dominate
TEMPERATURE = 0.05


def swapped_voices(quantized: dict[str, VQOutput]) -> Tensor:
    """``Z_Q [B, D, T]``: item ``i``'s content streams with item ``i - 1``'s acoustic stream (item 0 takes the last's)."""
    content = [q.quantized for name, q in quantized.items() if name != "acoustic"]
    acoustic = quantized["acoustic"].quantized.roll(1, dims=0)
    return torch.stack([*content, acoustic]).sum(0)


def token_cross_entropy(vq: FactorizedVQ, latent: Tensor, codes: Tensor, mask: Tensor | None) -> Tensor:
    """Cross-entropy of ``latent [B, d, T]``'s soft code choice against ``codes [B, T]``, over valid frames.

    ``mask [B, T]`` bool marks the frames that count (None: all). The codebook enters detached. In fp32.
    """
    with torch.autocast(latent.device.type, enabled=False):
        frames = F.normalize(rearrange(latent.float(), "b d t -> b t d"), dim=-1)
        codebook = vq.unit_codes().detach()
        logits = rearrange(frames @ codebook.T / TEMPERATURE, "b t k -> b k t")
        per_frame = F.cross_entropy(logits, codes, reduction="none")  # [B, T]
    if mask is None:
        return per_frame.mean()
    weights = mask.to(per_frame.dtype)
    return (per_frame * weights).sum() / weights.sum().clamp(min=1.0)


def content_cycle_loss(model: HACModel, quantized: dict[str, VQOutput], frame_mask: Tensor | None) -> Tensor:
    """The content cycle term: mean over content streams of :func:`token_cross_entropy` on the re-encoded conversion.

    ``quantized``: the training pass's stream outputs (of input ``[B, 1, S]``); ``frame_mask [B, 1, T]`` bool, the
    valid frames (None: all). Returns a scalar whose gradient reaches the decoder's parameters only.
    """
    if frame_mask is not None:  # a frame counts where both the item and its voice reference hold audio
        frame_mask = frame_mask & frame_mask.roll(1, dims=0)
    converted = model.decode(swapped_voices(quantized).detach(), frame_mask)  # [B, 1, S]
    code_mask = None if frame_mask is None else rearrange(frame_mask, "b 1 t -> b t")
    with frozen(model):
        latent = model.latent(converted, frame_mask)
        terms = [
            token_cross_entropy(
                stream.vq, stream.vq.project(stream.features(latent, frame_mask)), quantized[name].codes, code_mask
            )
            for name, stream in model.streams().items()
        ]
    return torch.stack(terms).mean()
