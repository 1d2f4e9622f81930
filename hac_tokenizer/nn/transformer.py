"""TrfENC: pre-LN transformer encoder with a convolutional positional embedding (wav2vec 2.0 style).

It reads the CNN latent ``Z [B, D, T]`` and returns ``[B, D, T]`` for a stream's VQ. Padded frames
are masked out of attention and zeroed before the positional convolution, so they never reach a
valid frame.

Attention is global, or local when the config sets ``attention_window``: each frame then attends to the
frames at most that many steps away. A model trained on clips of that length never saw more context, so
local attention keeps long inputs in the training distribution, bounds the context a token depends on
(windowed encoding can then match whole-utterance encoding), and costs ``O(T * window)`` instead of
``O(T^2)``.
"""

from __future__ import annotations

import torch
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


def local_attention(q: Tensor, k: Tensor, v: Tensor, radius: int, key_mask: Tensor | None) -> Tensor:
    """Attention of each query to the keys at most ``radius`` steps away, in ``O(T * radius)`` memory.

    ``q, k, v [B, H, T, d]``; ``key_mask [B, T]`` True where a key may be attended to (None: all). Queries go
    in blocks of ``radius`` frames; block ``i`` sees the keys of blocks ``i - 1 .. i + 1``, of which the band
    mask keeps the ones in reach. Every query may also attend to itself, so a padded query far from any valid
    key gets a finite (and ignored) output instead of NaN, which would survive the padding mask.
    """
    length = q.shape[2]
    blocks = -(-length // radius)
    tail = blocks * radius - length
    q = rearrange(F.pad(q, (0, 0, 0, tail)), "b h (n r) d -> b h n r d", r=radius)
    k, v = (F.pad(t, (0, 0, radius, radius + tail)).unfold(2, 3 * radius, radius).transpose(-1, -2) for t in (k, v))
    valid = torch.ones(q.shape[0], length, dtype=torch.bool, device=q.device) if key_mask is None else key_mask
    valid = F.pad(valid, (radius, radius + tail)).unfold(1, 3 * radius, radius)  # [B, n, 3r]
    offset = torch.arange(3 * radius, device=q.device) - radius - torch.arange(radius, device=q.device)[:, None]
    mask = (valid[:, :, None, :] & (offset.abs() <= radius)) | (offset == 0)  # [B, n, r, 3r]
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None])
    return rearrange(y, "b h n r d -> b h (n r) d")[:, :, :length]


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, window: int | None) -> None:
        super().__init__()
        self.heads = heads
        self.window = window
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: Tensor, key_mask: Tensor | None) -> Tensor:
        """``x [B, T, C]``; ``key_mask [B, T]`` True where a key may be attended to (None: every key)."""
        q, k, v = rearrange(self.qkv(x), "b t (three h d) -> three b h t d", three=3, h=self.heads)
        if self.window is not None and x.shape[1] > self.window + 1:
            y = local_attention(q, k, v, self.window, key_mask)
        else:  # global, or local with every pair of frames within reach: the same thing
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None if key_mask is None else rearrange(key_mask, "b t -> b 1 1 t")
            )
        return self.out(rearrange(y, "b h t d -> b t (h d)"))


class TransformerLayer(nn.Module):
    def __init__(self, width: int, heads: int, ffn: int, window: int | None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, window)
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
            TransformerLayer(config.width, config.heads, config.ffn, config.attention_window)
            for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.width)
        self.proj_out = nn.Linear(config.width, dim)

    def forward(self, z: Tensor, mask: Tensor | None = None) -> Tensor:
        """``z [B, D, T]``, ``mask [B, 1, T]`` (None: no padding) -> ``[B, D, T]``."""
        x = apply_mask(rearrange(self.proj_in(self.norm_in(rearrange(z, "b d t -> b t d"))), "b t c -> b c t"), mask)
        x = rearrange(x + self.pos(x), "b c t -> b t c")
        key_mask = None if mask is None else rearrange(mask.bool(), "b 1 t -> b t")
        for layer in self.layers:
            x = layer(x, key_mask)
        return rearrange(self.proj_out(self.norm(x)), "b t d -> b d t")
