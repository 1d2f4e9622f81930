"""benchmarks/voice_conversion.py: the uncertainty it reports beside its shares and means."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("voice_conversion", ROOT / "benchmarks" / "voice_conversion.py")
voice_conversion = importlib.util.module_from_spec(spec)
sys.modules["voice_conversion"] = voice_conversion
spec.loader.exec_module(voice_conversion)


def test_wilson_interval_at_its_closed_forms():
    # No hits: the upper end is z^2 / (n + z^2); all hits mirror it.
    assert voice_conversion.wilson_interval(0, 10) == (0.0, pytest.approx(1.96**2 / (10 + 1.96**2)))
    assert voice_conversion.wilson_interval(10, 10) == (pytest.approx(10 / (10 + 1.96**2)), 1.0)
    low, high = voice_conversion.wilson_interval(5, 60)
    assert (round(low, 3), round(high, 3)) == (0.036, 0.181)


def test_wilson_interval_covers_the_true_share_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    for share in (0.02, 0.1, 0.4):
        hits = rng.binomial(60, share, size=4000)
        covered = [low <= share <= high for low, high in (voice_conversion.wilson_interval(int(k), 60) for k in hits)]
        assert 0.92 <= np.mean(covered) <= 0.99, share


def test_half_width_of_a_mean():
    assert voice_conversion.half_width([1.0, 2.0, 3.0]) == pytest.approx(1.96 / 3**0.5)
    assert np.isnan(voice_conversion.half_width([0.5]))
