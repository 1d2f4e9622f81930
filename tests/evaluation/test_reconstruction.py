import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from hac_tokenizer.evaluation import (
    EvaluationError,
    MissingDependencyError,
    mel_distance,
    pesq_wb,
    si_sdr,
    stft_distance,
    stoi,
)
from hac_tokenizer.evaluation.reconstruction import (
    MIN_SAMPLES,
    ReconstructionMetrics,
    Visqol,
    default_metrics,
    lag_ms,
    level_difference,
    magnitude,
    mel_filters,
    visqol_available,
)
from hac_tokenizer.nn.dsp import mel_filterbank, stft_magnitude

RATE = 16000
REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference"


def voiced(seconds: float = 2.0, seed: int = 0) -> torch.Tensor:
    """A speech-like test signal: a 120 Hz harmonic source, amplitude-modulated at syllable rate."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * RATE)) / RATE
    source = sum(torch.sin(2 * torch.pi * 120 * k * t + torch.rand(1, generator=g) * 6) / k for k in range(1, 30))
    envelope = 0.5 * (1 - torch.cos(2 * torch.pi * 4 * t)).clamp_min(0)
    return 0.2 * source * envelope


def test_si_sdr_of_a_scaled_copy_is_very_high_and_of_noise_very_low():
    x = voiced()
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    assert si_sdr(x, 0.37 * x) > 100
    assert si_sdr(x, noise) < -20
    assert si_sdr(x, x + 0.1 * x.std() * noise) == pytest.approx(20.0, abs=0.5)


def test_si_sdr_is_batched():
    x = torch.stack([voiced(seed=0), voiced(seed=1)])
    assert si_sdr(x, 2 * x).shape == (2,)


@pytest.mark.parametrize("distance", [mel_distance, stft_distance])
def test_spectral_distances_are_zero_for_a_copy_and_grow_with_noise(distance):
    x = voiced()
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    assert float(distance(x, x.clone(), RATE)) == pytest.approx(0.0, abs=1e-6)
    slightly, badly = float(distance(x, x + 0.01 * noise, RATE)), float(distance(x, x + 0.3 * noise, RATE))
    assert 0 < slightly < badly


def _dac_reference():
    spec = importlib.util.spec_from_file_location("dac_distances", REFERENCE / "dac_distances.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.signal_pairs(), json.loads((REFERENCE / "dac_distances.json").read_text())


def test_spectral_distances_equal_dacs_on_reference_signals():
    """benchmarks/reference/dac_distances.json holds DAC's own MelSpectrogramLoss / MultiScaleSTFTLoss values."""
    pairs, reference = _dac_reference()
    assert reference["sample_rate"] == RATE and set(pairs) == set(reference["pairs"])
    for name, (x, y) in pairs.items():
        expected = reference["pairs"][name]
        # the seeded signals are the ones the JSON was made from (else rerun the script)
        assert len(x) == expected["samples"]
        assert float((x.astype("float64") ** 2).sum()) == pytest.approx(expected["reference_sum_squares"], rel=1e-9)
        assert float((y.astype("float64") ** 2).sum()) == pytest.approx(expected["estimate_sum_squares"], rel=1e-9)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        assert float(mel_distance(x, y, RATE)) == pytest.approx(expected["mel_distance"], rel=1e-4), name
        assert float(stft_distance(x, y, RATE)) == pytest.approx(expected["stft_distance"], rel=1e-4), name


def test_spectral_distances_read_audio_through_nn_dsp():
    x = voiced(0.5)
    torch.testing.assert_close(magnitude(x, 512), stft_magnitude(x[None, None], 512)[0])
    torch.testing.assert_close(mel_filters(RATE, 256, 40), mel_filterbank(RATE, 256, 40))


def test_audio_too_short_for_the_longest_window_is_a_typed_error_and_an_unscored_row():
    x = voiced(0.5)[: MIN_SAMPLES - 1]
    for distance in (mel_distance, stft_distance):
        with pytest.raises(EvaluationError, match=str(MIN_SAMPLES)):
            distance(x, x, RATE)
    assert float(mel_distance(voiced(0.5)[:MIN_SAMPLES], voiced(0.5)[:MIN_SAMPLES], RATE)) == 0.0
    metrics = ReconstructionMetrics({"mel_distance": mel_distance, "si_sdr": si_sdr}, {})
    scores = metrics.score(x, torch.stack([x, 0.5 * x]), RATE)
    assert [row["mel_distance"] for row in scores] == [None, None]
    assert scores[1]["si_sdr"] > 100


def test_mel_filters_have_unit_area_and_rising_centres():
    filters = mel_filters(RATE, 2048, 80)
    assert filters.shape == (80, 1025) and (filters >= 0).all()
    bin_hz = RATE / 2048
    assert torch.allclose(filters.sum(-1) * bin_hz, torch.ones(80), atol=0.15)  # triangles of unit area
    assert (torch.diff(filters.argmax(-1)) >= 0).all()


def test_mismatched_lengths_raise():
    with pytest.raises(EvaluationError):
        mel_distance(torch.zeros(100), torch.zeros(90), RATE)


def test_pesq_and_stoi_rank_clean_above_noisy():
    x = voiced(3.0)
    noisy = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    assert pesq_wb(x, x, RATE) > 4.0
    assert pesq_wb(x, noisy, RATE) < pesq_wb(x, x, RATE)
    assert stoi(x, x, RATE) == pytest.approx(1.0, abs=1e-3)
    assert stoi(x, noisy, RATE) < stoi(x, x, RATE)


def test_pesq_resamples_other_rates():
    x = voiced(3.0)
    from hac_tokenizer.audio import resample

    x24 = resample(x[None], RATE, 24000)[0]
    assert pesq_wb(x24, x24, 24000) > 4.0


def test_missing_package_gives_a_typed_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pesq", None)  # makes ``import pesq`` fail as if it were not installed
    with pytest.raises(MissingDependencyError, match="hac-tokenizer\\[eval\\]"):
        pesq_wb(voiced(), voiced(), RATE)


@pytest.mark.skipif(visqol_available(), reason="visqol is installed here")
def test_visqol_without_bindings_says_how_to_get_them():
    with pytest.raises(MissingDependencyError, match="visqol"):
        Visqol()


def test_one_reference_against_several_estimates_equals_pairwise():
    x = voiced()
    g = torch.Generator().manual_seed(4)
    estimates = torch.stack([x + 0.05 * torch.randn(x.shape, generator=g), 0.5 * x, torch.randn(x.shape, generator=g)])
    for metric in (mel_distance, stft_distance, si_sdr):
        batched = metric(x, estimates, RATE)
        assert batched.shape == (3,)
        pairwise = torch.stack([metric(x, e, RATE) for e in estimates])
        assert torch.allclose(batched, pairwise, rtol=1e-4, atol=1e-4)


def test_metric_set_scores_every_estimate_and_marks_failures():
    def fails_on_silence(reference, estimate, sample_rate):
        if estimate.abs().max() == 0:
            raise EvaluationError("silent")
        return 1.0

    metrics = ReconstructionMetrics({"si_sdr": si_sdr}, {"custom": fails_on_silence})
    x = voiced(0.5)
    scores = metrics.score(x, torch.stack([2 * x, torch.zeros_like(x)]), RATE)
    assert scores[0]["si_sdr"] > 100 and scores[0]["custom"] == 1.0
    assert scores[1]["custom"] is None


def test_level_difference_and_lag_find_a_known_gain_and_delay():
    x = torch.randn(16000, generator=torch.Generator().manual_seed(0))
    late = torch.cat([torch.zeros(80), x[:-80]])  # 5 ms late
    early = torch.cat([x[16:], torch.zeros(16)])  # 1 ms early
    estimates = torch.stack([0.5 * late, x, early])
    assert lag_ms(x, estimates, 16000).tolist() == [5.0, 0.0, -1.0]
    torch.testing.assert_close(level_difference(x, estimates)[:2], torch.tensor([-6.04, 0.0]), atol=0.01, rtol=0)  # late lost 80 samples
    row = default_metrics().score(x, estimates[:1], 16000)[0]
    assert row["lag_ms"] == 5.0 and abs(row["level_db"] + 6.02) < 0.05
