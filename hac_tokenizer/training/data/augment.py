"""Channel augmentations: additive noise, equalisation, reverberation and level, deterministic from a seed.

Each augmentation is a small frozen dataclass called as ``aug(audio, sample_rate, rng)`` on a ``[S]``
float32 numpy waveform; :class:`Channel` applies a list of them, each with its own probability. All
randomness comes from the ``numpy.random.Generator`` handed in, so a seed fixes the result.

Reverberation: :class:`RoomReverb` (the default) simulates a random shoebox room: early reflections by the
image source method of ``pyroomacoustics``, then a diffuse exponentially decaying tail with the room's
RT60 (:func:`shoebox_impulse_response`).

None of them moves speech in time (EQ is zero-phase, every reverberation's direct path is put at lag 0
and its tail is cut at the input's length), so word and phone alignments stay valid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..errors import DataError

EPS = 1e-10
SPEED_OF_SOUND = 343.0  # m/s, as pyroomacoustics assumes
FRACTIONAL_DELAY_TAPS = 81  # windowed-sinc length placing each reflection between samples (pyroomacoustics' too)
LN_1E6 = math.log(1e6)  # 60 dB of energy decay


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


def convolve_aligned(audio: np.ndarray, rir: np.ndarray, direct: int) -> np.ndarray:
    """``audio`` through ``rir`` whose direct path is sample ``direct``: no delay, same length, same power.

    The output sample ``n`` is the full convolution's sample ``n + direct``, so the direct sound stays where
    the input was (what comes before it in ``rir``, a fractional-delay filter's left half, acts ahead of it).
    """
    size = fft_size(len(audio) + len(rir) - 1)
    wet = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(rir, size), n=size)[direct : direct + len(audio)]
    # keep the loudness: reverberation should change the room, not the level
    return (wet * np.sqrt(_power(audio) / _power(wet))).astype(np.float32)


def _pyroomacoustics():
    try:
        import pyroomacoustics
    except ImportError as err:
        raise DataError(
            "RoomReverb needs pyroomacoustics: `pip install pyroomacoustics` (part of the [train] extra)."
        ) from err
    return pyroomacoustics


def fractional_delays(delays: np.ndarray, taps: int = FRACTIONAL_DELAY_TAPS) -> np.ndarray:
    """``[N, taps]`` Hann-windowed sinc filters; row ``i``, centred on tap ``taps // 2``, delays by ``delays[i] % 1``.

    An integer delay gives an exact unit impulse at the centre tap.
    """
    half = taps // 2
    x = np.arange(-half, half + 1)[None, :] - (delays - np.floor(delays))[:, None]
    return np.sinc(x) * (0.5 + 0.5 * np.cos(np.pi * x / (half + 1)))


@dataclass(frozen=True)
class ShoeBoxRoom:
    """A rectangular room, a talker and a microphone in it (metres), and its reverberation time (s)."""

    size: tuple[float, float, float]
    source: tuple[float, float, float]
    microphone: tuple[float, float, float]
    rt60: float

    @property
    def distance(self) -> float:
        return float(np.linalg.norm(np.subtract(self.source, self.microphone)))

    @property
    def absorption(self) -> float:
        """Wall energy absorption that gives ``rt60`` by Eyring's formula (the image method decays about so)."""
        length, width, height = self.size
        volume, surface = length * width * height, 2 * (length * width + length * height + width * height)
        return 1.0 - math.exp(-LN_1E6 * 4 * volume / (SPEED_OF_SOUND * surface * self.rt60))

    def complete_until(self, max_order: int) -> float:
        """Seconds after the direct sound up to which images of order <= ``max_order`` are all there are.

        The images of order <= N fill a diamond-shaped pile of mirrored rooms around the source that holds a
        sphere of radius (N + 1) * R, R the smallest face's inscribed-diamond radius (as in
        ``pyroomacoustics.inverse_sabine``); every image nearer than that is in the model.
        """
        a, b, c = self.size
        radius = min(x * y / math.hypot(x, y) for x, y in ((a, b), (a, c), (b, c)))
        return ((max_order + 1) * radius - self.distance) / SPEED_OF_SOUND

    def image_sources(self, max_order: int) -> tuple[np.ndarray, np.ndarray]:
        """(``[N]`` path lengths in metres, ``[N]`` wall-reflection amplitude factors) of the visible images."""
        pra = _pyroomacoustics()
        # fs is unused here: only the images' positions and attenuations are taken, the RIR is built by the caller
        room = pra.ShoeBox(list(self.size), fs=16000, materials=pra.Material(self.absorption), max_order=max_order)
        room.add_source(list(self.source))
        room.add_microphone(list(self.microphone))
        room.image_source_model()
        visible = room.visibility[0][0].astype(bool)
        images = room.sources[0].images[:, visible]
        lengths = np.sqrt(np.sum((images - np.asarray(self.microphone)[:, None]) ** 2, axis=0))
        return lengths, room.sources[0].damping[0, visible]


def shoebox_impulse_response(
    room: ShoeBoxRoom, sample_rate: int, rng: np.random.Generator, max_order: int = 12
) -> tuple[np.ndarray, int]:
    """``([L] RIR, index of its direct path)``: the direct path is a unit impulse at that index.

    Early part: every image source of ``pyroomacoustics``' image method up to ``max_order`` reflections,
    with delays measured from the direct sound and amplitudes relative to it (spherical spreading and wall
    absorption), each placed between samples by a windowed sinc. From the time the early part is complete
    (:meth:`ShoeBoxRoom.complete_until`) on, a diffuse tail: Gaussian noise decaying by 60 dB per ``rt60``,
    starting at the early part's energy over its last 20 ms. (A high-order image method alone, besides being
    slow, decays ever slower than ``rt60`` in an empty shoebox: its grazing paths hardly meet a wall.)
    """
    lengths, damping = room.image_sources(max_order)
    direct = room.distance
    delays = np.maximum(lengths - direct, 0.0) / SPEED_OF_SOUND * sample_rate  # direct path: exactly 0
    amplitudes = damping * direct / np.maximum(lengths, EPS)
    window = int(0.02 * sample_rate)
    tail_start = math.ceil(room.complete_until(max_order) * sample_rate)
    if tail_start <= window:
        raise DataError(f"max_order={max_order} leaves too short an early part in {room}; raise it.")
    early = delays < tail_start
    delays, amplitudes = delays[early], amplitudes[early]
    half = FRACTIONAL_DELAY_TAPS // 2
    length = tail_start + math.ceil(room.rt60 * sample_rate)
    positions = np.floor(delays).astype(np.int64)[:, None] + np.arange(FRACTIONAL_DELAY_TAPS)[None, :]
    weights = fractional_delays(delays) * amplitudes[:, None]
    rir = np.bincount(positions.ravel(), weights.ravel(), minlength=length + 2 * half)[: length + 2 * half]
    level = float(np.mean(rir[half + tail_start - window : half + tail_start] ** 2))
    t = (np.arange(tail_start, length) - (tail_start - window / 2)) / sample_rate  # s after the window's centre
    tail = np.sqrt(level) * np.exp(-0.5 * LN_1E6 * t / room.rt60) * rng.standard_normal(len(t))
    rir[half + tail_start : half + length] = tail
    return rir, half


@dataclass(frozen=True)
class RoomReverb:
    """Reverberation of a random shoebox room (:func:`shoebox_impulse_response`), a talker and a microphone.

    Room sides, RT60, the talker's position (uniform, ``margin`` from the walls) and the microphone's
    distance from the talker and direction (uniform on the sphere, also inside the margin) are drawn from
    the ranges. The direct sound stays at lag 0; the direct-to-reverberant ratio follows from the room.
    """

    rt60: tuple[float, float] = (0.15, 0.8)
    size: tuple[tuple[float, float], ...] = ((3.0, 10.0), (3.0, 8.0), (2.4, 4.0))  # length, width, height
    distance: tuple[float, float] = (0.3, 3.0)
    margin: float = 0.3
    max_order: int = 12

    def draw(self, rng: np.random.Generator) -> ShoeBoxRoom:
        """A room, talker and microphone, from ``rng`` only."""
        size = np.array([_uniform(rng, bounds) for bounds in self.size])
        low, high = np.full(3, self.margin), size - self.margin
        rt60 = _uniform(rng, self.rt60)
        source = rng.uniform(low, high)
        for _ in range(100):  # microphone at the drawn distance, inside the room
            direction = rng.standard_normal(3)
            microphone = source + _uniform(rng, self.distance) * direction / (np.linalg.norm(direction) + EPS)
            if np.all(microphone >= low) and np.all(microphone <= high):
                break
        microphone = np.clip(microphone, low, high)
        return ShoeBoxRoom(tuple(size.tolist()), tuple(source.tolist()), tuple(microphone.tolist()), rt60)

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        rir, direct = shoebox_impulse_response(self.draw(rng), sample_rate, rng, self.max_order)
        return convolve_aligned(audio, rir, direct)


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
        default_factory=lambda: ((Equalizer(), 0.5), (RoomReverb(), 0.3), (Noise(), 0.5), (Level(), 1.0))
    )

    def __call__(self, audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        """``[S] -> [S]`` float32."""
        for augmentation, probability in self.steps:
            if rng.random() < probability:
                audio = augmentation(audio, sample_rate, rng)
        return audio
