"""Channel augmentations: deterministic from a seed, and none of them moves speech in time."""

from __future__ import annotations

import numpy as np
import pytest

from hac_tokenizer.training.data.augment import Channel, Equalizer, Level, Noise, Reverb, coloured_noise

RATE = 16000


def burst(num_samples: int = 8000, at: int = 3000) -> np.ndarray:
    """Silence with a short noise burst at a known place."""
    audio = np.zeros(num_samples, np.float32)
    audio[at:at + 400] = np.random.default_rng(0).standard_normal(400).astype(np.float32) * 0.3
    return audio


def lag(a: np.ndarray, b: np.ndarray) -> int:
    """Lag of b relative to a at the cross-correlation peak."""
    corr = np.correlate(b, a, mode="full")
    return int(np.argmax(np.abs(corr))) - (len(a) - 1)


@pytest.mark.parametrize("augmentation", [Equalizer(), Reverb(), Noise(snr_db=(20, 20)), Level(dbfs=(-40, -30))])
def test_same_seed_same_output_and_no_time_shift(augmentation):
    audio = burst()
    out = augmentation(audio, RATE, np.random.default_rng(5))
    assert out.shape == audio.shape and out.dtype == np.float32
    assert np.array_equal(out, augmentation(audio, RATE, np.random.default_rng(5)))
    assert not np.array_equal(out, augmentation(audio, RATE, np.random.default_rng(6)))
    assert lag(audio, out) == 0


def test_noise_reaches_the_requested_snr():
    audio = np.sin(np.arange(RATE) * 0.1).astype(np.float32) * 0.5
    out = Noise(snr_db=(10, 10), exponent=(1, 1))(audio, RATE, np.random.default_rng(0))
    snr = 10 * np.log10(np.mean(audio**2) / np.mean((out - audio) ** 2))
    assert snr == pytest.approx(10, abs=0.1)


def test_coloured_noise_tilts_the_spectrum():
    brown = coloured_noise(RATE, 2.0, np.random.default_rng(0))
    spectrum = np.abs(np.fft.rfft(brown)) ** 2
    assert spectrum[10:100].mean() > 100 * spectrum[4000:8000].mean()
    assert np.mean(brown**2) == pytest.approx(1.0, rel=1e-3)


def test_level_and_peak_limit():
    audio = np.sin(np.arange(RATE) * 0.1).astype(np.float32) * 0.01
    out = Level(dbfs=(-20, -20))(audio, RATE, np.random.default_rng(0))
    assert 20 * np.log10(np.sqrt(np.mean(out.astype(np.float64) ** 2))) == pytest.approx(-20, abs=0.01)
    loud = Level(dbfs=(0, 0))(audio, RATE, np.random.default_rng(0))
    assert np.abs(loud).max() == pytest.approx(0.99, abs=1e-4)


def test_channel_applies_steps_by_probability():
    audio = burst()
    assert np.array_equal(Channel(steps=((Reverb(), 0.0),))(audio, RATE, np.random.default_rng(0)), audio)
    out = Channel()(audio, RATE, np.random.default_rng(1))
    assert np.array_equal(out, Channel()(audio, RATE, np.random.default_rng(1)))
    assert np.abs(out).max() <= 0.99 + 1e-6
