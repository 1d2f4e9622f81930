"""One owner for the three token streams: the content streams (TrfENC + VQ) and the acoustic RVQ.

As moshi's ``SplitResidualVectorQuantizer`` holds its semantic and acoustic RVQs behind one encode /
decode, :class:`SplitQuantizer` is the only place that turns the latent ``Z`` into codes of any stream
and codes of any subset of streams back into ``Z_Q = Z_Ql + Z_Qp + Z_Qa`` (paper, Fig. 1).

It is a view, not a module: the streams stay registered on ``HACModel`` as ``lexical``, ``phonetic``
and ``acoustic``, so checkpoint keys (``acoustic.layers.0.codebook.weight``, ...) and the order of the
parameters, which optimiser state follows, do not depend on this class. ``HACModel.quantizer`` builds
one per access, so it always reads the model's current modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from einops import rearrange
from torch import Tensor, nn

from ..errors import TokenError
from .rvq import ResidualVQ
from .stream import TokenStream
from .vq import VQOutput


class SplitQuantizer:
    """``content``: the lexical/phonetic streams the model has (LM order); ``acoustic``: the RVQ.

    ``residual``: the RVQ quantizes ``Z - Z_Qp - Z_Ql`` (what the content streams leave) instead of ``Z``.
    """

    def __init__(self, content: Mapping[str, TokenStream], acoustic: ResidualVQ, residual: bool) -> None:
        self.content = dict(content)
        self.acoustic = acoustic
        self.residual = residual

    @property
    def streams(self) -> tuple[str, ...]:
        """Stream names in the order they are laid out for an LM (as ``HACConfig.streams``)."""
        return (*self.content, "acoustic")

    def modules(self) -> list[nn.Module]:
        """The code-lookup modules: they stay fp32 whatever the model dtype (nearest-code search)."""
        return [self.acoustic, *(stream.vq for stream in self.content.values())]

    def encode(self, z: Tensor, mask: Tensor | None, streams: Sequence[str]) -> dict[str, Tensor]:
        """``Z [B, D, T]`` -> codes of ``streams`` only: ``[B, T]``, acoustic ``[B, N, T]``.

        ``mask [B, 1, T]`` marks valid frames for the transformers. Content codes are computed for the
        acoustic stream too when it reads their residual, and then dropped unless asked for.
        """
        residual = self.residual and "acoustic" in streams
        codes = {name: s.encode(z, mask) for name, s in self.content.items() if name in streams or residual}
        if "acoustic" in streams:
            # in fp32, as the RVQ's own projection: a residual rounded to fp16 or bf16 moves codes near ties
            acoustic_in = z.float() - self.embed(codes) if residual and codes else z
            codes["acoustic"] = self.acoustic.encode(acoustic_in)
        return {name: codes[name] for name in streams if name in codes}

    def embed(self, codes: Mapping[str, Tensor]) -> Tensor:
        """Codes of any non-empty subset of the streams -> the sum of their embeddings ``[B, D, T]`` (fp32).

        Acoustic codes ``[B, n, T]`` with ``n`` below the RVQ's depth embed with its first ``n`` layers.
        """
        unknown = [name for name in codes if name not in self.streams]
        if unknown or not codes:
            raise TokenError(f"embed takes codes of a non-empty subset of {self.streams}, got {tuple(codes)}.")
        parts = [self.acoustic.decode(codes["acoustic"])] if "acoustic" in codes else []
        parts += [stream.vq.decode(codes[name]) for name, stream in self.content.items() if name in codes]
        return torch.stack(parts).sum(0)

    def decode(self, codes: Mapping[str, Tensor]) -> Tensor:
        """Codes of every stream -> ``Z_Q [B, D, T]``, what the decoder reads for a full reconstruction."""
        missing = [name for name in self.streams if name not in codes]
        if missing:
            raise TokenError(f"decode needs codes of every stream; {missing} missing (embed takes a subset).")
        return self.embed(codes)

    def acoustic_mean(self, codes: Tensor, mask: Tensor) -> Tensor:
        """Acoustic ``codes [B, N, T]``, valid frames ``mask [B, T]`` -> ``Z_Qa`` averaged over them ``[B, D]``.

        Codes on masked frames (e.g. ``PAD_ID``) are never looked up as themselves: they count for nothing.
        """
        z = self.acoustic.decode(codes.clamp_min(0))  # [B, D, T]
        weights = rearrange(mask.to(z.device), "b t -> b 1 t").to(z.dtype)
        return (z * weights).sum(-1) / weights.sum(-1)

    def quantize(self, z: Tensor, mask: Tensor | None) -> dict[str, VQOutput]:
        """Training path: ``Z [B, D, T]`` -> each stream's straight-through output and losses, LM order."""
        quantized = {name: stream(z, mask) for name, stream in self.content.items()}
        content = [q.quantized for q in quantized.values()]
        acoustic_in = z - torch.stack(content).sum(0) if self.residual and content else z
        quantized["acoustic"] = self.acoustic(acoustic_in)
        return quantized
