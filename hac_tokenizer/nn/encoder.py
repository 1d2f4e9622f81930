"""ENC: the DAC convolutional encoder, waveform -> latent frames Z."""

from __future__ import annotations

from torch import Tensor, nn

from .layers import ResidualStack, Snake, apply_mask, downsampling_conv, wn_conv1d


class EncoderBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.residuals = ResidualStack(in_ch)
        self.act = Snake(in_ch)
        self.down = downsampling_conv(in_ch, out_ch, stride)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        x = self.residuals(x, mask)
        mask = None if mask is None else mask[..., :: self.stride]
        return apply_mask(self.down(self.act(x)), mask), mask


class Encoder(nn.Module):
    """``[B, 1, S] -> [B, D, S / hop]``; ``S`` must be a multiple of the hop length."""

    def __init__(self, dim: int, rates: tuple[int, ...], latent_dim: int) -> None:
        super().__init__()
        self.stem = wn_conv1d(1, dim, 7)
        blocks = []
        for stride in rates:
            blocks.append(EncoderBlock(dim, 2 * dim, stride))
            dim *= 2
        self.blocks = nn.ModuleList(blocks)
        self.act = Snake(dim)
        self.head = wn_conv1d(dim, latent_dim, 3)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``mask [B, 1, S]`` marks valid samples of a padded batch (None: no padding)."""
        x = apply_mask(self.stem(x), mask)
        for block in self.blocks:
            x, mask = block(x, mask)
        return apply_mask(self.head(self.act(x)), mask)

    def activation_elements(self, num_samples: int) -> int:
        """Elements of the widest activation for one item of ``num_samples`` samples: the stem's output, at full
        rate (each block halves the rate or more and doubles the width)."""
        return self.stem.out_channels * num_samples
