"""TrfENC: local attention equals attention under an explicit band mask, and bounds a frame's context."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hac_tokenizer.config import TransformerConfig
from hac_tokenizer.errors import ConfigError
from hac_tokenizer.nn.layers import length_mask
from hac_tokenizer.nn.transformer import TransformerEncoder, local_attention


def band_attention(q, k, v, radius, key_mask):
    """The definition: dense attention with a ``|i - j| <= radius`` mask (and every query allowed itself)."""
    steps = torch.arange(q.shape[2])
    band = (steps[:, None] - steps[None, :]).abs() <= radius
    allowed = band if key_mask is None else band & key_mask[:, None, None, :]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed | torch.eye(q.shape[2], dtype=torch.bool))


@pytest.mark.parametrize("length", [1, 5, 6, 7, 12, 13, 40])
@pytest.mark.parametrize("radius", [1, 3, 6])
def test_local_attention_equals_band_masked_attention(length: int, radius: int) -> None:
    q, k, v = torch.randn(3, 2, 3, length, 4, generator=torch.Generator().manual_seed(length * 10 + radius))
    lengths = torch.tensor([length, max(1, length - 4)])
    key_mask = length_mask(lengths, length)[:, 0]
    for mask in (None, key_mask):
        expected = band_attention(q, k, v, radius, mask)
        got = local_attention(q, k, v, radius, mask)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_padded_queries_far_from_valid_keys_stay_finite() -> None:
    """Queries more than ``radius`` past an item's end have no valid key in reach; they must not turn to NaN,
    which the padding mask (a multiplication) would carry into later layers."""
    q, k, v = torch.randn(3, 1, 1, 30, 4)
    y = local_attention(q, k, v, 2, length_mask(torch.tensor([5]), 30)[:, 0])
    assert torch.isfinite(y).all()


def test_a_frame_depends_on_no_input_beyond_its_context() -> None:
    config = TransformerConfig(layers=2, heads=2, width=8, ffn=16, pos_conv_kernel=4, pos_conv_groups=2, attention_window=3)
    assert config.context_frames == 2 * 3 + 2
    encoder = TransformerEncoder(6, config).eval()
    z = torch.randn(1, 6, 60)
    changed = z.clone()
    changed[..., 40:] = torch.randn(1, 6, 20)  # frames 40.. differ: frame 40 - 8 = 32 is the last one blind to them
    with torch.no_grad():
        a, b = encoder(z), encoder(changed)
    torch.testing.assert_close(a[..., :32], b[..., :32], rtol=0, atol=1e-5)
    assert not torch.allclose(a[..., 32:40], b[..., 32:40])


def test_global_attention_has_unbounded_context() -> None:
    assert TransformerConfig(attention_window=None).context_frames is None


@pytest.mark.parametrize("window", [0, -3, 2.5, True, "96"])
def test_attention_window_is_validated(window) -> None:
    with pytest.raises(ConfigError, match="attention_window"):
        TransformerConfig(attention_window=window)
