"""Channel augmentations: deterministic from a seed, and none of them moves speech in time."""

from __future__ import annotations

import numpy as np
import pytest

from hac_tokenizer.training.data.augment import (
    SPEED_OF_SOUND,
    Channel,
    Equalizer,
    Level,
    Noise,
    RoomReverb,
    ShoeBoxRoom,
    coloured_noise,
    shoebox_impulse_response,
)

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


@pytest.mark.parametrize("augmentation", [Equalizer(), RoomReverb(), Noise(snr_db=(20, 20)),
                                          Level(dbfs=(-40, -30))])
def test_same_seed_same_output_and_no_time_shift(augmentation):
    if isinstance(augmentation, RoomReverb):
        pytest.importorskip("pyroomacoustics")
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
    pytest.importorskip("pyroomacoustics")
    audio = burst()
    assert np.array_equal(Channel(steps=((RoomReverb(), 0.0),))(audio, RATE, np.random.default_rng(0)), audio)
    out = Channel()(audio, RATE, np.random.default_rng(1))
    assert np.array_equal(out, Channel()(audio, RATE, np.random.default_rng(1)))
    assert np.abs(out).max() <= 0.99 + 1e-6


# --- RoomReverb: pyroomacoustics image sources + diffuse tail ---------------------------------------------------

# the direct path is exactly 64 samples long: no fractional delay to compare
ROOM = ShoeBoxRoom(size=(5.0, 4.0, 3.0), source=(1.0, 1.3, 1.5),
                   microphone=(1.0 + 64 * SPEED_OF_SOUND / RATE, 1.3, 1.5), rt60=0.5)


@pytest.fixture
def pra():
    return pytest.importorskip("pyroomacoustics")


def test_room_reverb_keeps_speech_in_place(pra):
    audio = burst(16000, at=6000)
    near = RoomReverb(rt60=(0.8, 0.8), distance=(1.0, 1.0))  # the longest reverberation; the direct sound dominates
    for seed in range(10):
        assert lag(audio, near(audio, RATE, np.random.default_rng(seed))) == 0
    # at 3 m the reverberation can be stronger than the direct sound, which still arrives first and in place
    reverb = RoomReverb(rt60=(0.8, 0.8), distance=(3.0, 3.0))
    out = reverb(audio, RATE, np.random.default_rng(2))
    assert out.shape == audio.shape and out.dtype == np.float32
    assert np.array_equal(out, reverb(audio, RATE, np.random.default_rng(2)))
    assert not np.array_equal(out, reverb(audio, RATE, np.random.default_rng(3)))
    # nothing arrives before the direct sound, except the 40-sample half of a fractional-delay filter
    assert np.abs(out[:6000 - 41]).max() < 1e-6
    assert np.abs(out[6000:6010]).max() > 0.1 * np.abs(audio[6000:6010]).max()
    # and the reverberation is there: energy goes on after the burst ends
    assert np.sqrt(np.mean(out[6500:8000] ** 2)) > 0.01 * np.sqrt(np.mean(out[6000:6400] ** 2))


def test_impulse_response_is_pyroomacoustics_image_method_then_rt60_tail(pra, monkeypatch):
    rir, direct = shoebox_impulse_response(ROOM, RATE, np.random.default_rng(0))
    assert direct == 40 and rir[direct] == pytest.approx(1.0, abs=1e-3)
    # the early part is what pyroomacoustics computes for the same room (its DC-blocking high-pass off),
    # delayed by the path length and scaled by the direct path's 1/distance
    monkeypatch.setitem(pra.parameters._constants, "rir_hpf_enable", False)
    room = pra.ShoeBox(list(ROOM.size), fs=RATE, materials=pra.Material(ROOM.absorption), max_order=12)
    room.add_source(list(ROOM.source))
    room.add_microphone(list(ROOM.microphone))
    room.compute_rir()
    reference = room.rir[0][0] * ROOM.distance
    early = int(ROOM.complete_until(12) * RATE) - 41
    ours, theirs = rir[direct:direct + early], reference[40 + 64:40 + 64 + early]
    assert np.linalg.norm(ours - theirs) < 0.01 * np.linalg.norm(theirs)
    # the tail decays by 60 dB in rt60, and starts where the early part leaves off
    assert pra.experimental.measure_rt60(rir, RATE) == pytest.approx(ROOM.rt60, rel=0.1)
    start, ms10 = direct + int(np.ceil(ROOM.complete_until(12) * RATE)), RATE // 100
    before, after = np.mean(rir[start - ms10:start] ** 2), np.mean(rir[start:start + ms10] ** 2)
    assert abs(10 * np.log10(after / before)) < 3


@pytest.mark.parametrize("seed", range(5))
def test_rooms_are_drawn_inside_the_ranges(pra, seed):
    reverb = RoomReverb()
    room = reverb.draw(np.random.default_rng(seed))
    assert room == reverb.draw(np.random.default_rng(seed))
    assert all(lo <= side <= hi for side, (lo, hi) in zip(room.size, reverb.size))
    for point in (room.source, room.microphone):
        assert all(reverb.margin <= x <= side - reverb.margin for x, side in zip(point, room.size))
    assert reverb.distance[0] - 1e-9 <= room.distance <= reverb.distance[1] + 1e-9
    assert reverb.rt60[0] <= room.rt60 <= reverb.rt60[1] and 0 < room.absorption < 1
    rir, _ = shoebox_impulse_response(room, RATE, np.random.default_rng(seed))
    assert pra.experimental.measure_rt60(rir, RATE) == pytest.approx(room.rt60, rel=0.15)
