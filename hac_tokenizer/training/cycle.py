"""Token cycles: tokens must survive decoding: content tokens with another speaker's acoustic tokens or with their
own, and that speaker's acoustic tokens with the other clip's content.

A tokenizer's content streams are only as good as what comes back from the audio decoded from them. Two checks
of the bundled model measured how little did (MODEL_CARD.md): re-encoding a plain reconstruction gave back about
half of the phonetic tokens, and re-encoding a voice conversion (the source's content tokens decoded with another
speaker's acoustic tokens, :mod:`hac_tokenizer.voice`) 7-14 %: the decoder read content from the acoustic stream.
No term of the paper's loss asks for either, so two terms do, on every training batch (``CYCLES``, each with its
weight in :class:`~hac_tokenizer.training.config.LossWeights`). The content cycle alone, weighted 4, then taught the
decoder the easy half: keep the content by ignoring the voice (conversions went to the reference speaker 2-3x
chance, from 9-11x); the third term asks the conversion to keep the voice's acoustic tokens too.

1. ``voices``: each item's content embeddings with the acoustic embedding of the item before it in the batch for
   ``content_cycle`` and ``voice_cycle`` (another clip, mostly another speaker, not aligned in time: as a
   voice-conversion reference is; a process that holds one clip per step, as under DDP with as many processes as
   clips, decodes its own voice instead), and with its own for ``reconstruction_cycle`` (the plain reconstruction,
   which bounds what any conversion can keep);
2. the decode of that is encoded again by the same model (one decode per voice, all in one batch);
3. ``token_cross_entropy``: the cross-entropy of the re-encoded frame's code choice against a code, with the choice
   made soft as a softmax over cosine similarities to the codebook (the lookup's own similarity,
   :class:`~hac_tokenizer.quantization.vq.FactorizedVQ`): for ``content_cycle`` and ``reconstruction_cycle`` every
   content stream against the code the item chose, for ``voice_cycle`` every acoustic RVQ layer (quantizing the
   re-encoded residual) against the code the voice reference chose on that frame.

Only the decoder learns from them: it must render the content the content tokens name, whatever the acoustic
tokens say, and the voice the acoustic tokens name, whatever the content. The decoder's input is detached and the re-encoding runs with the model frozen, so the terms never move
the codes they check against. Letting the conversion's term reach the encoder as well (through the decoder's
straight-through input or the re-encoding) made it chase its own targets: on a small random model its value rose
under training, while the decoder alone brought it from 27.8 to 1.6 in 60 steps (``tests/training/test_cycle.py``
keeps the second). The reconstruction's term has its own decoder pass for the same reason: the training pass's
decode reaches the encoder through the straight-through estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

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


class Cycle(NamedTuple):
    """A cycle term: the voice its decode takes, and whose codes must come back from that decode."""

    shift: int  # the voice: the acoustic tokens of the item ``shift`` places before it in the batch (0: its own)
    checks: str  # "content": the content streams' codes, the item's own; "acoustic": the RVQ's, the voice's


CYCLES = {
    "content_cycle": Cycle(1, "content"),
    "reconstruction_cycle": Cycle(0, "content"),
    "voice_cycle": Cycle(1, "acoustic"),
}


def voices(quantized: dict[str, VQOutput], shift: int) -> Tensor:
    """``Z_Q [B, D, T]``: item ``i``'s content streams with item ``i - shift``'s acoustic stream (cyclically)."""
    content = [q.quantized for name, q in quantized.items() if name != "acoustic"]
    acoustic = quantized["acoustic"].quantized.roll(shift, dims=0)
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


def content_cycle_losses(
    model: HACModel, quantized: dict[str, VQOutput], frame_mask: Tensor | None, cycles: Sequence[str]
) -> dict[str, Tensor]:
    """Each asked cycle's term: the mean of :func:`token_cross_entropy` over the streams it checks (the content
    streams, or the acoustic RVQ's layers) on its re-encoded decode.

    ``quantized``: the training pass's stream outputs (of input ``[B, 1, S]``); ``frame_mask [B, 1, T]`` bool, the
    valid frames (None: all); ``cycles``: names from ``CYCLES``. Returns a scalar per cycle, whose gradient reaches
    the decoder's parameters only. Cycles with the same voice share one decode.
    """
    if not cycles:
        return {}
    batch = len(quantized["acoustic"].quantized)
    shifts = sorted({CYCLES[name].shift for name in cycles})
    decoder_input = torch.cat([voices(quantized, shift) for shift in shifts]).detach()  # [V * B, D, T]
    # a frame counts where both the item and its voice reference hold audio
    mask = None if frame_mask is None else torch.cat([frame_mask & frame_mask.roll(s, dims=0) for s in shifts])
    decoded = model.decode(decoder_input, mask)  # [V * B, 1, S]
    with frozen(model):
        requantized = model.quantizer.quantize(model.latent(decoded, mask), mask)
    losses = {}
    for name in cycles:
        shift, checks = CYCLES[name]
        first = shifts.index(shift) * batch  # the rows of this cycle's voice in the decode
        rows = slice(first, first + batch)
        code_mask = None if mask is None else rearrange(mask[rows], "b 1 t -> b t")
        if checks == "content":
            terms = [
                token_cross_entropy(
                    stream.vq, requantized[stream_name].latent[rows], quantized[stream_name].codes, code_mask
                )
                for stream_name, stream in model.streams().items()
            ]
        else:  # each RVQ layer's choice on the re-encoded residual against the voice's own code there
            latent, codes = requantized["acoustic"].latent[rows], quantized["acoustic"].codes.roll(shift, dims=0)
            terms = [
                token_cross_entropy(layer, latent[:, n], codes[:, n], code_mask)
                for n, layer in enumerate(model.acoustic.layers)
            ]
        losses[name] = torch.stack(terms).mean()
    return losses
