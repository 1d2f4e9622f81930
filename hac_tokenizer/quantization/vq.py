"""One VQ layer with DAC's factorized code lookup.

The latent ``[B, D, T]`` is projected to a low dimension ``d`` (8 or 128), the nearest code is found
by cosine similarity (L2 distance between L2-normalised vectors), and the code is projected back to
``D``. The low-dimensional, normalised lookup keeps codebook usage high (Kumar et al. 2023, sec. 3.2).
Distances are always computed in fp32, in chunks of frames, so that fp16 inference picks the same codes
and a 16384-entry codebook never needs a ``[frames, 16384]`` matrix larger than one chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ..nn.layers import wn_conv1d

_SEARCH_CHUNK = 8192  # frames per distance matmul: 8192 x 16384 x 4 B = 512 MiB at most


@dataclass
class VQOutput:
    """What a quantizer hands to training: the quantized latent (straight-through) and its losses."""

    quantized: Tensor  # [B, D, T]
    codes: Tensor  # [B, T] (one layer) or [B, N, T] (RVQ)
    latent: Tensor  # [B, d, T] projected encoder latent (before lookup); [B, N, d, T] for RVQ
    commitment_loss: Tensor  # scalar
    codebook_loss: Tensor  # scalar


class FactorizedVQ(nn.Module):
    def __init__(self, dim: int, codebook_size: int, codebook_dim: int) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.in_proj = wn_conv1d(dim, codebook_dim, 1)
        self.out_proj = wn_conv1d(codebook_dim, dim, 1)
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def unit_codes(self) -> Tensor:
        """``[K, d]`` the codes scaled to unit length in fp32: the lookup compares a frame with them by cosine."""
        return F.normalize(self.codebook.weight.float(), dim=-1)

    def nearest(self, latent: Tensor) -> Tensor:
        """``latent [B, d, T] -> codes [B, T]``: index of the most similar normalised code."""
        flat = F.normalize(rearrange(latent.float(), "b d t -> (b t) d"), dim=-1)
        codebook = self.unit_codes()
        codes = torch.cat([(chunk @ codebook.T).argmax(-1) for chunk in flat.split(_SEARCH_CHUNK)])
        return rearrange(codes, "(b t) -> b t", b=latent.shape[0])

    def project(self, z: Tensor) -> Tensor:
        """``z [B, D, T] -> [B, d, T]`` in fp32 (the lookup space; quantizers are never cast down)."""
        return self.in_proj(z.float())

    def encode(self, z: Tensor) -> Tensor:
        """``z [B, D, T] -> codes [B, T]``."""
        return self.nearest(self.project(z))

    def lookup(self, codes: Tensor) -> Tensor:
        """``codes [B, T] -> [B, d, T]`` raw code vectors."""
        return rearrange(self.codebook(codes), "b t d -> b d t")

    def decode(self, codes: Tensor) -> Tensor:
        """``codes [B, T] -> [B, D, T]``."""
        return self.out_proj(self.lookup(codes))

    def forward(self, z: Tensor) -> VQOutput:
        """Training path: straight-through estimator, DAC's commitment and codebook losses."""
        latent = self.project(z)
        codes = self.nearest(latent)
        code_vectors = self.lookup(codes)
        commitment = F.mse_loss(latent, code_vectors.detach())
        codebook = F.mse_loss(code_vectors, latent.detach())
        straight_through = latent + (code_vectors - latent).detach()
        return VQOutput(self.out_proj(straight_through), codes, latent, commitment, codebook)
