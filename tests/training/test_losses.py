"""Mel, adversarial and feature-matching losses on inputs with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from hac_tokenizer.evaluation.reconstruction import mel_distance
from hac_tokenizer.nn import dsp
from hac_tokenizer.nn.dsp import mel_filterbank
from hac_tokenizer.training import discriminators, losses
from hac_tokenizer.training.discriminators import DiscriminatorOutput
from hac_tokenizer.training.errors import LossConfigError
from hac_tokenizer.training.losses import (
    MEL_BANDS,
    MEL_WINDOWS,
    MelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
    level_loss,
)


@pytest.fixture(scope="module")
def mel_loss() -> MelLoss:
    return MelLoss(16000)


@pytest.fixture(scope="module")
def noise() -> torch.Tensor:
    return 0.3 * torch.randn(2, 1, 8000, generator=torch.Generator().manual_seed(0))


def test_mel_filterbank_covers_every_band():
    for window, bands in zip(MEL_WINDOWS, MEL_BANDS):
        filters = mel_filterbank(16000, window, bands)
        assert filters.shape == (bands, window // 2 + 1)
        assert (filters >= 0).all()
        # the documented settings leave no band without an FFT bin at 16 kHz
        assert (filters.sum(dim=1) > 0).all()


def test_mel_loss_is_zero_for_identical_signals(mel_loss, noise):
    assert mel_loss(noise, noise.clone()).item() == 0.0


def test_mel_loss_grows_with_the_error(mel_loss, noise):
    g = torch.Generator().manual_seed(1)
    small = mel_loss(noise + 0.01 * torch.randn(noise.shape, generator=g), noise)
    large = mel_loss(noise + 0.3 * torch.randn(noise.shape, generator=g), noise)
    assert 0 < small < large


def test_mel_loss_of_a_tenfold_gain_is_one_per_scale(mel_loss, noise):
    # |log10(10 m) - log10(m)| = 1 in every band of every scale (nothing near the clamp), summed over 7 scales
    assert mel_loss(10 * noise, noise).item() == pytest.approx(len(MEL_WINDOWS), rel=1e-4)


def test_mel_loss_rejects_mismatched_settings():
    with pytest.raises(LossConfigError):
        MelLoss(16000, window_lengths=(32, 64), n_mels=(5,))


def test_mel_loss_is_the_evaluation_mel_distance(mel_loss, noise):
    """One DSP: the training loss and the reported Mel distance are DAC's MelSpectrogramLoss, per item."""
    noisy = noise + 0.05 * torch.randn(noise.shape, generator=torch.Generator().manual_seed(2))
    for b in range(noise.shape[0]):
        loss = mel_loss(noisy[b : b + 1], noise[b : b + 1]).item()
        assert loss == pytest.approx(float(mel_distance(noise[b, 0], noisy[b, 0], 16000)), rel=1e-5)


def test_stft_helpers_live_in_nn_dsp_only():
    assert discriminators.stft_complex is dsp.stft_complex
    assert not hasattr(losses, "stft_complex") and not hasattr(losses, "stft_magnitude")


def _outputs(*logits: list[float]) -> list[DiscriminatorOutput]:
    return [DiscriminatorOutput(torch.tensor(values).reshape(1, 1, -1), []) for values in logits]


def test_hinge_losses_on_known_numbers():
    real = _outputs([0.5, 2.0], [1.0, 0.0])
    fake = _outputs([-0.5, 1.5], [0.0, -2.0])
    # disc 1: mean(relu(1-r)) = 0.25, mean(relu(1+f)) = 1.5; disc 2: 0.5 and 0.5
    assert discriminator_loss(real, fake, "hinge").item() == pytest.approx(0.25 + 1.5 + 0.5 + 0.5)
    # -mean(f): -0.5 and 1.0
    assert generator_loss(fake, "hinge").item() == pytest.approx(-0.5 + 1.0)


def test_least_squares_losses_on_known_numbers():
    real = _outputs([0.5, 2.0])
    fake = _outputs([-0.5, 1.5])
    assert discriminator_loss(real, fake, "ls").item() == pytest.approx((0.25 + 1.0) / 2 + (0.25 + 2.25) / 2)
    assert generator_loss(fake, "ls").item() == pytest.approx((2.25 + 0.25) / 2)


@pytest.mark.parametrize("kind", ["hinge", "ls"])
def test_gan_losses_are_taken_in_fp32_from_bf16_discriminator_outputs(kind):
    exact = _outputs([0.1 + 1 / 3, 2 / 3])
    halved = [DiscriminatorOutput(o.logits.bfloat16(), []) for o in exact]
    widened = [DiscriminatorOutput(o.logits.bfloat16().float(), []) for o in exact]  # the same values, in fp32
    assert generator_loss(halved, kind).dtype == discriminator_loss(halved, halved, kind).dtype == torch.float32
    assert generator_loss(halved, kind).item() == generator_loss(widened, kind).item()
    assert discriminator_loss(halved, halved, kind).item() == discriminator_loss(widened, widened, kind).item()
    third = torch.full((1, 3), 1 / 3).bfloat16()
    real, fake = [DiscriminatorOutput(torch.zeros(1), [torch.zeros(1, 3).bfloat16()])], [
        DiscriminatorOutput(torch.zeros(1), [third])]
    matching = feature_matching_loss(real, fake)
    assert matching.dtype == torch.float32 and matching.item() == third.float().mean().item()


def test_unknown_adversarial_kind_is_an_error():
    with pytest.raises(LossConfigError, match="hinge"):
        generator_loss(_outputs([0.0]), "wasserstein")


def test_feature_matching_sums_l1_over_layers_and_trains_the_generator_only():
    real_feature = torch.zeros(1, 2, 3, requires_grad=True)
    fake_feature = torch.ones(1, 2, 3, requires_grad=True)
    real = [DiscriminatorOutput(torch.zeros(1), [real_feature, real_feature])]
    fake = [DiscriminatorOutput(torch.zeros(1), [fake_feature, 3 * fake_feature])]
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx(1.0 + 3.0)
    loss.backward()
    assert real_feature.grad is None
    assert math.isclose(fake_feature.grad.sum().item(), (1 + 3) / 6 * 6)


def test_level_loss_is_the_level_gap_in_db(noise):
    assert float(level_loss(noise, noise)) == 0.0
    half = 20 * math.log10(2)  # 6.02 dB, whichever side is quieter
    assert float(level_loss(noise / 2, noise)) == pytest.approx(half, abs=1e-4)
    assert float(level_loss(noise * 2, noise)) == pytest.approx(half, abs=1e-4)
    silence = torch.zeros_like(noise)
    assert float(level_loss(silence, silence)) == 0.0


def test_level_loss_trains_a_gain_to_the_input_level(noise):
    # the term's gradient alone brings a decode 6 dB too quiet back to the input's level
    gain = torch.nn.Parameter(torch.tensor(0.5))
    opt = torch.optim.Adam([gain], lr=0.02)
    for _ in range(200):
        opt.zero_grad()
        level_loss(gain * noise, noise).backward()
        opt.step()
    assert float(level_loss(gain.detach() * noise, noise)) < 0.2
    assert float(gain) == pytest.approx(1.0, abs=0.03)


def test_level_loss_and_the_evaluation_level_are_one_measure(noise):
    from hac_tokenizer.evaluation.reconstruction import level_difference

    quieter = noise * torch.tensor([0.5, 0.8]).view(2, 1, 1)
    expected = level_difference(noise[:, 0], quieter[:, 0]).abs().mean()
    assert float(level_loss(quieter, noise)) == pytest.approx(float(expected), abs=1e-4)
