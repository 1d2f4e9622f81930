"""Discriminator output shapes, feature maps and gradients (small channel widths for speed)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hac_tokenizer.training.discriminators import (
    MultiDiscriminator,
    MultiPeriodDiscriminator,
    MultiResolutionSTFTDiscriminator,
    PeriodDiscriminator,
    STFTDiscriminator,
)

SMALL_PERIOD = (4, 8, 8, 8, 8)


@pytest.fixture(scope="module")
def audio() -> torch.Tensor:
    return torch.randn(2, 1, 3200, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("period", [2, 3, 5, 7, 11])
def test_period_discriminator_folds_by_its_period(audio, period):
    out = PeriodDiscriminator(period, SMALL_PERIOD)(audio)
    rows = -(-3200 // period)
    for _ in range(4):  # four stride-3 convs with kernel 5, padding 2
        rows = (rows - 1) // 3 + 1
    assert out.logits.shape == (2, 1, rows, period)
    assert len(out.features) == len(SMALL_PERIOD)
    assert [f.shape[1] for f in out.features] == list(SMALL_PERIOD)


@pytest.mark.parametrize("period", [2, 5])
def test_period_discriminator_equals_its_2d_convolutions_over_the_fold(audio, period):
    # The columns of the fold run as a batch of 1-D signals; the same weights as 2-D convolutions over
    # [B, 1, S / period, period] (HiFi-GAN's formulation) must give the same logits, features and gradients.
    torch.manual_seed(0)
    disc = PeriodDiscriminator(period, SMALL_PERIOD)
    x = audio.clone().requires_grad_(True)
    out = disc(x)
    folded = F.pad(x, (0, -x.shape[-1] % period), mode="reflect").reshape(2, 1, -1, period)
    features = []
    for layer in disc.layers:
        folded = F.leaky_relu(layer(folded), 0.1)
        features.append(folded)
    logits = disc.to_logits(folded)
    torch.testing.assert_close(out.logits, logits)
    for got, expected in zip(out.features, features, strict=True):
        torch.testing.assert_close(got, expected)
    (grad,) = torch.autograd.grad(out.logits.square().sum() + out.features[1].abs().sum(), x)
    (expected_grad,) = torch.autograd.grad(logits.square().sum() + features[1].abs().sum(), x)
    torch.testing.assert_close(grad, expected_grad)


@pytest.mark.parametrize("window", [512, 1024, 2048])
def test_stft_discriminator_joins_bands_along_frequency(audio, window):
    disc = STFTDiscriminator(window, channels=4)
    out = disc(audio)
    frames = 3200 // (window // 4) + 1
    bins = [hi - lo for lo, hi in disc.band_edges]
    assert sum(bins) == window // 2 + 1
    downsampled = bins
    for _ in range(3):  # three stride-2 convs along frequency (kernel 9, padding 4)
        downsampled = [(b - 1) // 2 + 1 for b in downsampled]
    assert out.logits.shape == (2, 1, frames, sum(downsampled))
    assert out.features[0].shape == (2, 4, frames, sum(bins))
    assert len(out.features) == 5


def test_multi_discriminator_runs_every_member_and_passes_gradients(audio):
    disc = MultiDiscriminator(16000, (2, 3, 5, 7, 11), (2048, 1024, 512), period_channels=SMALL_PERIOD, stft_channels=4)
    x = audio[..., :2400].clone().requires_grad_(True)  # one 2048-sample window and a bit
    outputs = disc(x)
    assert len(outputs) == 8
    sum(o.logits.mean() for o in outputs).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_ensembles_ignore_level(audio):
    # peak normalisation: a discriminator judges waveform shape, so 4x louder audio scores the same
    disc = MultiPeriodDiscriminator((2, 3), SMALL_PERIOD)
    clip = audio[..., :960]
    quiet, loud = disc(clip), disc(4 * clip)
    for a, b in zip(quiet, loud):
        torch.testing.assert_close(a.logits, b.logits)
    assert len(MultiResolutionSTFTDiscriminator((512, 256), channels=4)(clip)) == 2
