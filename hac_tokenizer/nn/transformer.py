"""TrfENC: pre-LN transformer encoder with a convolutional positional embedding (wav2vec 2.0 style).

It reads the CNN latent ``Z [B, D, T]`` and returns ``[B, D, T]`` for a stream's VQ. Padded frames
are masked out of attention and zeroed before the positional convolution, so they never reach a
valid frame.
"""

from __future__ import annotations

import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from ..config import TransformerConfig
from .layers import apply_mask


class ConvPositionalEmbedding(nn.Module):
    def __init__(self, width: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.conv = weight_norm(nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=groups), dim=2)
        self.trim = 1 - kernel % 2  # an even kernel with padding k/2 yields one extra step

    def forward(self, x: Tensor) -> Tensor:  # [B, C, T] -> [B, C, T]
        y = self.conv(x)
        return F.gelu(y[..., : y.shape[-1] - self.trim])


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: Tensor, key_mask: Tensor | None) -> Tensor:
        """``x [B, T, C]``; ``key_mask [B, 1, 1, T]`` True where a key may be attended to."""
        q, k, v = rearrange(self.qkv(x), "b t (three h d) -> three b h t d", three=3, h=self.heads)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)
        return self.out(rearrange(y, "b h t d -> b t (h d)"))


class TransformerLayer(nn.Module):
    def __init__(self, width: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, ffn), nn.GELU(), nn.Linear(ffn, width))

    def forward(self, x: Tensor, key_mask: Tensor | None) -> Tensor:  # [B, T, C] -> [B, T, C]
        x = x + self.attn(self.norm1(x), key_mask)
        return x + self.ffn(self.norm2(x))


class TransformerEncoder(nn.Module):
    """``[B, D, T] -> [B, D, T]`` through linear in/out projections to the transformer width."""

    def __init__(self, dim: int, config: TransformerConfig) -> None:
        super().__init__()
        # wav2vec 2.0 layer-normalises the CNN features before projecting them to the transformer width. Here
        # it also makes the stream independent of the latent's scale, which is tiny at initialisation: without
        # it proj_in's bias drowns the signal and every frame maps to one code.
        self.norm_in = nn.LayerNorm(dim)
        self.proj_in = nn.Linear(dim, config.width)
        self.pos = ConvPositionalEmbedding(config.width, config.pos_conv_kernel, config.pos_conv_groups)
        self.layers = nn.ModuleList(
            TransformerLayer(config.width, config.heads, config.ffn) for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.width)
        self.proj_out = nn.Linear(config.width, dim)

    def forward(self, z: Tensor, mask: Tensor | None = None) -> Tensor:
        """``z [B, D, T]``, ``mask [B, 1, T]`` (None: no padding) -> ``[B, D, T]``."""
        x = apply_mask(rearrange(self.proj_in(self.norm_in(rearrange(z, "b d t -> b t d"))), "b t c -> b c t"), mask)
        x = rearrange(x + self.pos(x), "b c t -> b t c")
        key_mask = None if mask is None else rearrange(mask.bool(), "b 1 t -> b 1 1 t")
        for layer in self.layers:
            x = layer(x, key_mask)
        return rearrange(self.proj_out(self.norm(x)), "b t d -> b d t")
