"""training/plot_figures.py reads the files hac-eval and the voice-conversion benchmark really write."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from hac_tokenizer.evaluation.cli import main as hac_eval

ROOT = Path(__file__).resolve().parents[2]


def _load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


plot_figures = _load("training/plot_figures.py", "plot_figures")


@pytest.fixture(scope="module")
def measured(tiny_tokenizer, synthetic_manifest, tmp_path_factory):
    """A point directory as the model card's evaluation writes it, from the tiny model and the tiny manifest."""
    root = tmp_path_factory.mktemp("point")
    model = tiny_tokenizer.save_pretrained(root / "tiny")
    for split in ("synth-test", "real-en"):
        args = ["--model", str(model), "--manifest", str(synthetic_manifest), "--out", str(root / "eval" / split)]
        assert hac_eval([*args, "-q", "--metrics", "pnmi,probes,reconstruction"]) == 0
    voice_conversion = _load("benchmarks/voice_conversion.py", "voice_conversion")
    vc = root / "vc.json"
    assert voice_conversion.main(["--manifest", str(synthetic_manifest), "--model", str(model), "--out", str(vc)]) == 0
    return root / "eval", vc


def test_every_series_is_found_in_what_the_tools_write(measured):
    point = plot_figures.load_point(*measured)
    missing = [s.label for s in plot_figures.SERIES if plot_figures.figure(point, s) is None]
    assert missing == []
    pnmi = json.loads((measured[0] / "synth-test" / "metrics.json").read_text())["pnmi"]["phonetic"]["all"]
    assert plot_figures.figure(point, plot_figures.SERIES[0]) == pytest.approx(pnmi)


def test_shares_of_a_count_find_their_count_and_are_bracketed_by_their_interval(measured):
    point = plot_figures.load_point(*measured)
    shares = [s for s in plot_figures.SERIES if s.trials is not None]
    assert {s.panel for s in shares} == {"probe accuracy", "voice conversion"}
    for series in shares:
        low, high = plot_figures.interval(point, series)
        assert 0 <= low <= plot_figures.figure(point, series) <= high <= 1 and high - low > 0.05, series.label
    assert plot_figures.interval(point, plot_figures.SERIES[0]) is None  # PNMI is no share of a count


def test_a_point_without_a_file_leaves_gaps(measured, tmp_path):
    point = plot_figures.load_point(measured[0])  # no voice-conversion JSON
    assert all(plot_figures.figure(point, s) is None for s in plot_figures.SERIES if s.source == "vc")
    assert plot_figures.figure(point, plot_figures.SERIES[0]) is not None
    assert all(plot_figures.figure(plot_figures.load_point(tmp_path), s) is None for s in plot_figures.SERIES)


def test_main_draws_points_and_random_init(measured, tmp_path, capsys):
    eval_dir, vc = measured
    out = tmp_path / "figures.png"
    args = ["--out", str(out), "--point", "200", str(eval_dir), str(vc), "--point", "100", str(eval_dir)]
    assert plot_figures.main([*args, "--random", str(eval_dir), "--mark", "150", "GAN on"]) == 0
    assert out.stat().st_size > 10_000 and f"wrote {out}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (["x", "."], "STEP EVAL_DIR"),
        (["1"], "STEP EVAL_DIR"),
        (["1", "nowhere"], "nowhere does not exist"),
        (["1", ".", "--mark", "late", "GAN"], "--mark takes STEP LABEL"),
    ],
)
def test_bad_points_are_usage_errors(point, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        plot_figures.main(["--out", str(tmp_path / "f.png"), "--point", *point])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_log_step_trend_is_recovered_and_its_target_crossing_found():
    # +0.05 per doubling from 0.40 at step 1000: 0.60 four doublings later, at step 16000
    measured = [(step, 0.40 + 0.05 * math.log2(step / 1000)) for step in (500, 1000, 2000, 3000, 4000)]
    trend = plot_figures.log_trend(measured, start=1000)  # the point at 500 (before a recipe change) is left out
    assert trend.start == 1000 and trend.per_doubling == pytest.approx(0.05)
    assert trend.at(8000) == pytest.approx(0.55)
    assert trend.step_crossing(0.6) == pytest.approx(16000)
    assert trend.step_crossing(0.3) is None  # crossed before the fitted range: not a forecast
    assert plot_figures.Trend(1000, 0.5, 0.0).step_crossing(0.6) is None  # flat
    assert plot_figures.Trend(1000, 0.5, -0.01).step_crossing(0.6) is None  # falling away from it
    assert plot_figures.log_trend(measured[:3], start=1000) is None  # two points are no trend


def test_main_prints_the_trend_of_each_targeted_series(measured, tmp_path, capsys):
    eval_dir, vc = measured
    points = [arg for step in (100, 200, 400) for arg in ("--point", str(step), str(eval_dir), str(vc))]
    assert plot_figures.main(["--out", str(tmp_path / "f.png"), *points, "--trend-from", "100"]) == 0
    out = capsys.readouterr().out
    # the same figures at every step: flat trends, which cross no target
    assert "phonetic PNMI, synthetic, pooled: " in out and "0.000 per doubling of steps from step 100" in out
    assert "does not cross the target 0.6" in out
    assert "lexical PNMI" not in out  # no target, no trend
