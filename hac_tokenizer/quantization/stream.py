"""A factored-out content stream (lexical or phonetic): an optional TrfENC, then one factorized VQ layer."""

from __future__ import annotations

from torch import Tensor, nn

from ..config import StreamConfig
from ..nn.transformer import TransformerEncoder
from .vq import FactorizedVQ, VQOutput


class TokenStream(nn.Module):
    def __init__(self, dim: int, config: StreamConfig) -> None:
        super().__init__()
        self.transformer = None if config.transformer is None else TransformerEncoder(dim, config.transformer)
        self.vq = FactorizedVQ(dim, config.codebook_size, config.codebook_dim)

    def features(self, z: Tensor, mask: Tensor | None) -> Tensor:  # [B, D, T] -> [B, D, T]
        return z if self.transformer is None else self.transformer(z, mask)

    def encode(self, z: Tensor, mask: Tensor | None) -> Tensor:  # [B, D, T] -> [B, T]
        return self.vq.encode(self.features(z, mask))

    def forward(self, z: Tensor, mask: Tensor | None) -> VQOutput:
        return self.vq(self.features(z, mask))
