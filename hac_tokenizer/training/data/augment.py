"""Channel augmentations: additive noise, equalisation, reverberation and level, deterministic from a seed.

Each augmentation is a small frozen dataclass called as ``aug(audio, sample_rate, rng)`` on a ``[S]``
float32 numpy waveform; :class:`Channel` applies a list of them, each with its own probability. All
randomness comes from the ``numpy.random.Generator`` handed in, so a seed fixes the result.

None of them moves speech in time (EQ is zero-phase, the reverberation's direct path is at lag 0 and its
tail is cut at the input's length), so word and phone alignments stay valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

EPS = 1e-10


class Augmentation(Protocol):
    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray: ...


def _power(audio: np.ndarray) -> float:
    return float(np.mean(np.square(audio, dtype=np.float64))) + EPS


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def fft_size(num_samples: int) -> int:
    """The power of two at or above ``num_samples``: FFTs of arbitrary lengths can be many times slower."""
    return 1 << max(0, num_samples - 1).bit_length()


def coloured_noise(num_samples: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """``[S]`` unit-power noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    size = fft_size(num_samples)
    spectrum = np.fft.rfft(rng.standard_normal(size))
    frequencies = np.arange(len(spectrum), dtype=np.float64)
    frequencies[0] = frequencies[1] if len(frequencies) > 1 else 1.0  # DC gets the lowest band's gain
    noise = np.fft.irfft(spectrum / frequencies ** (exponent / 2), n=size)[:num_samples]
    return (noise / np.sqrt(_power(noise))).astype(np.float32)


@dataclass(frozen=True)
class Noise:
    """Additive white-to-brown noise at a signal-to-noise ratio drawn from ``snr_db``."""

    snr_db: tuple[float, float] = (5.0, 40.0)
    exponent: tuple[float, float] = (0.0, 2.0)

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        noise = coloured_noise(len(audio), _uniform(rng, self.exponent), rng)
        scale = np.sqrt(_power(audio) / 10 ** (_uniform(rng, self.snr_db) / 10))
        return (audio + scale * noise).astype(np.float32)


@dataclass(frozen=True)
class Equalizer:
    """A random smooth, zero-phase EQ: gains in [-max_gain_db, max_gain_db] at log-spaced bands."""

    max_gain_db: float = 12.0
    bands: int = 6
    lowest_hz: float = 80.0

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        centres = np.geomspace(self.lowest_hz, sample_rate / 2, self.bands)
        gains_db = rng.uniform(-self.max_gain_db, self.max_gain_db, self.bands)
        size = fft_size(len(audio))  # zero padding also keeps the filter's circular wrap out of the speech
        frequencies = np.fft.rfftfreq(size, 1.0 / sample_rate)
        # interpolate in log-frequency so each band shapes an octave range, as an analogue EQ would
        curve_db = np.interp(np.log(np.maximum(frequencies, self.lowest_hz)), np.log(centres), gains_db)
        shaped = np.fft.irfft(np.fft.rfft(audio, size) * 10 ** (curve_db / 20), n=size)[: len(audio)]
        return shaped.astype(np.float32)


def room_impulse_response(sample_rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """``[L]`` synthetic RIR: unit direct path at lag 0, then exponentially decaying noise (−60 dB at rt60)."""
    length = max(2, int(rt60 * sample_rate))
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.9078 * t / rt60)  # ln(1000) = 6.9078: 60 dB of decay
    tail[: int(0.002 * sample_rate) + 1] = 0.0  # first reflections arrive a few ms after the direct sound
    tail /= np.sqrt(np.sum(tail**2)) + EPS
    tail[0] = 1.0
    return tail


@dataclass(frozen=True)
class Reverb:
    """Convolution with a synthetic room: RT60 and direct-to-reverberant mix drawn from ranges."""

    rt60: tuple[float, float] = (0.15, 0.8)
    wet: tuple[float, float] = (0.1, 0.6)

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        rir = room_impulse_response(sample_rate, _uniform(rng, self.rt60), rng)
        rir[1:] *= _uniform(rng, self.wet)
        size = fft_size(len(audio) + len(rir) - 1)
        wet = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(rir, size), n=size)[: len(audio)]
        # keep the loudness: reverberation should change the room, not the level
        return (wet * np.sqrt(_power(audio) / _power(wet))).astype(np.float32)


@dataclass(frozen=True)
class Level:
    """Scale to an RMS level in dBFS drawn from ``dbfs``; scaled down further if a peak would clip."""

    dbfs: tuple[float, float] = (-35.0, -15.0)
    peak: float = 0.99

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        gain = 10 ** (_uniform(rng, self.dbfs) / 20) / np.sqrt(_power(audio))
        gain = min(gain, self.peak / (float(np.abs(audio).max()) + EPS))
        return (audio * gain).astype(np.float32)


@dataclass(frozen=True)
class Channel:
    """Applies each augmentation with its probability, in order (level last, so it sets the final loudness)."""

    steps: Sequence[tuple[Augmentation, float]] = field(
        default_factory=lambda: ((Equalizer(), 0.5), (Reverb(), 0.3), (Noise(), 0.5), (Level(), 1.0))
    )

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        """``[S] -> [S]`` float32."""
        for augmentation, probability in self.steps:
            if rng.random() < probability:
                audio = augmentation(audio, sample_rate, rng)
        return audio
