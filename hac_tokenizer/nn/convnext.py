"""ConvNeXt blocks at the token frame rate (Liu et al. 2022, in the 1-D form Vocos uses).

A block is a depthwise conv (kernel 7), LayerNorm over channels, a pointwise MLP with GELU (4x wider), a learned
per-channel scale on the branch, and the residual. At 50 Hz a stack of them costs a small fraction of a
waveform-rate CNN: the frame-rate encoder and decoder kinds are built from it.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from .layers import apply_mask


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of ``[B, C, T]``."""

    def forward(self, x: Tensor) -> Tensor:
        return rearrange(super().forward(rearrange(x, "b c t -> b t c")), "b t c -> b c t")


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.expand = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.contract = nn.Linear(4 * dim, dim)
        self.scale = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:  # [B, C, T] -> [B, C, T]
        # padding must read as the zeros a lone item's conv padding gives: mask before every temporal conv
        y = rearrange(self.depthwise(apply_mask(x, mask)), "b c t -> b t c")
        y = self.contract(self.act(self.expand(self.norm(y)))) * self.scale
        return apply_mask(x + rearrange(y, "b t c -> b c t"), mask)


class ConvNeXtStack(nn.Module):
    """``[B, C_in, T] -> [B, C_out, T]``: input conv (kernel 7), ``depth`` ConvNeXt blocks, LayerNorm, linear out."""

    def __init__(self, in_dim: int, dim: int, depth: int, out_dim: int) -> None:
        super().__init__()
        self.stem = nn.Conv1d(in_dim, dim, 7, padding=3)
        self.stem_norm = ChannelNorm(dim)
        self.blocks = nn.ModuleList(ConvNeXtBlock(dim, layer_scale=1.0 / depth) for _ in range(depth))
        self.out_norm = ChannelNorm(dim)
        self.head = nn.Conv1d(dim, out_dim, 1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``mask [B, 1, T]`` marks valid frames of a padded batch (None: no padding)."""
        x = apply_mask(self.stem_norm(self.stem(apply_mask(x, mask))), mask)
        for block in self.blocks:
            x = block(x, mask)
        return apply_mask(self.head(self.out_norm(x)), mask)
