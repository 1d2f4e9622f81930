"""DEC: the DAC convolutional decoder, quantized latent Z_Q -> waveform."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .layers import ResidualStack, Snake, apply_mask, wn_conv1d, wn_conv_transpose1d


class DecoderBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.act = Snake(in_ch)
        self.up = wn_conv_transpose1d(in_ch, out_ch, stride)
        self.residuals = ResidualStack(out_ch)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        mask = None if mask is None else mask.repeat_interleave(self.stride, dim=-1)
        x = apply_mask(self.up(self.act(x)), mask)
        return self.residuals(x, mask), mask


class Decoder(nn.Module):
    """``[B, D, T] -> [B, 1, T * hop]`` in [-1, 1]."""

    def __init__(self, latent_dim: int, dim: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = wn_conv1d(latent_dim, dim, 7)
        blocks = []
        for stride in rates:
            blocks.append(DecoderBlock(dim, dim // 2, stride))
            dim //= 2
        self.blocks = nn.ModuleList(blocks)
        self.act = Snake(dim)
        self.head = wn_conv1d(dim, 1, 7)

    def forward(self, z: Tensor, mask: Tensor | None = None) -> Tensor:
        """``mask [B, 1, T]`` marks valid frames of a padded batch (None: no padding)."""
        x = apply_mask(self.stem(apply_mask(z, mask)), mask)
        for block in self.blocks:
            x, mask = block(x, mask)
        return apply_mask(torch.tanh(self.head(self.act(x))), mask)

    def activation_elements(self, num_samples: int) -> int:
        """Elements of the widest activation for one item decoded to ``num_samples`` samples: the last block's
        output, at full rate (each block halves the width and raises the rate by 2 or more)."""
        return self.head.in_channels * num_samples
