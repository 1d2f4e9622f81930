"""RVQacoust: residual vector quantization, N factorized VQ layers each quantizing what is left."""

from __future__ import annotations

import torch
from einops import einsum, rearrange
from torch import Tensor, nn

from .vq import FactorizedVQ, VQOutput


class ResidualVQ(nn.Module):
    def __init__(self, dim: int, layers: int, codebook_size: int, codebook_dim: int) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.layers = nn.ModuleList(FactorizedVQ(dim, codebook_size, codebook_dim) for _ in range(layers))

    def encode(self, z: Tensor, n_layers: int | None = None) -> Tensor:
        """``z [B, D, T] -> codes [B, N, T]``; each layer quantizes the residual of the ones before."""
        residual = z.float()
        codes = []
        for layer in self.layers[:n_layers]:
            layer_codes = layer.encode(residual)
            residual = residual - layer.decode(layer_codes)
            codes.append(layer_codes)
        return torch.stack(codes, dim=1)

    def decode(self, codes: Tensor) -> Tensor:
        """``codes [B, N, T] -> [B, D, T]``: the sum of the first N layers' code embeddings.

        One gather and one einsum over all layers instead of N separate lookups.
        """
        layers = self.layers[: codes.shape[1]]
        codebooks = torch.stack([layer.codebook.weight for layer in layers])  # [N, K, d]
        vectors = codebooks[torch.arange(len(layers), device=codes.device)[None, :, None], codes]  # [B, N, T, d]
        weights = torch.stack([layer.out_proj.weight[..., 0] for layer in layers])  # [N, D, d]
        bias = torch.stack([layer.out_proj.bias for layer in layers]).sum(0)  # [D]
        return einsum(vectors, weights, "b n t k, n d k -> b d t") + rearrange(bias, "d -> d 1")

    def forward(self, z: Tensor) -> VQOutput:
        """Training path: every layer's straight-through output summed, losses summed over layers."""
        residual = z.float()
        quantized = torch.zeros_like(residual)
        outputs = []
        for layer in self.layers:
            out = layer(residual)
            quantized = quantized + out.quantized
            residual = residual - out.quantized
            outputs.append(out)
        return VQOutput(
            quantized=quantized,
            codes=torch.stack([o.codes for o in outputs], dim=1),
            latent=torch.stack([o.latent for o in outputs], dim=1),
            commitment_loss=sum(o.commitment_loss for o in outputs),
            codebook_loss=sum(o.codebook_loss for o in outputs),
        )
