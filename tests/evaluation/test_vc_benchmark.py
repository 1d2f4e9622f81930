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


def test_half_width_of_a_mean():
    assert voice_conversion.half_width([1.0, 2.0, 3.0]) == pytest.approx(1.96 / 3**0.5)
    assert np.isnan(voice_conversion.half_width([0.5]))


def test_the_table_shows_each_figure_with_its_interval():
    figures = {"to_reference": 5 / 60, "to_reference_95": (0.036, 0.181), "to_source": 0.0,
               "phonetic_agreement": 0.359, "phonetic_agreement_95": 0.021, "lexical_agreement": 0.1,
               "phonetic_pnmi": 0.5}  # fmt: skip
    report = {"model": "m", "speakers": 50, "pairs": 60, "chance": 0.02, "probe_ceiling": 0.4,
              "probe_on_original_audio": 0.5, "source_pnmi": 0.6, "conditions": {"loop, all layers": figures}}  # fmt: skip
    assert "| loop, all layers | 0.083 (0.036-0.181) | 0.000 | 0.359 ± 0.021 |" in voice_conversion.table(report)
