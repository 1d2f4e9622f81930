import json

import pytest

from hac_tokenizer.evaluation.cli import build_parser, main
from hac_tokenizer.evaluation.runner import METRIC_GROUPS


@pytest.fixture(scope="module")
def tiny_dir(tiny_tokenizer, tmp_path_factory):
    return tiny_tokenizer.save_pretrained(tmp_path_factory.mktemp("model") / "tiny")


def test_help_lists_every_metric():
    text = build_parser().format_help()
    for group in METRIC_GROUPS:
        assert group in text
    for metric in (
        "PNMI",
        "F1",
        "ABX",
        "perplexity",
        "bitrate",
        "mel distance",
        "SI-SDR",
        "PESQ",
        "STOI",
        "ViSQOL",
        "speaker",
    ):
        assert metric.lower() in text.lower()


@pytest.mark.slow  # a few seconds alone; draws four matplotlib figures
def test_end_to_end_writes_metrics_report_and_plots(tiny_dir, synthetic_manifest, tmp_path):
    out = tmp_path / "eval"
    code = main(
        ["--model", str(tiny_dir), "--manifest", str(synthetic_manifest), "--out", str(out), "-q", "--batch-size", "4"]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(METRIC_GROUPS) <= set(metrics)
    assert not any("skipped" in metrics[g] for g in METRIC_GROUPS)
    report = (out / "report.md").read_text()
    for png in ("pnmi_layers.png", "word_f1.png", "pnmi_languages.png", "spectrogram.png"):
        assert (out / png).stat().st_size > 1000
        assert png in report
    assert "| phonetic |" in report and "ABX" in report and "mel_distance" in report


def test_max_utterances_and_metric_selection(tiny_dir, synthetic_manifest, tmp_path):
    out = tmp_path / "eval"
    args = ["--model", str(tiny_dir), "--manifest", str(synthetic_manifest), "--out", str(out), "-q"]
    assert main([*args, "--max-utterances", "3", "--metrics", "pnmi,codebook"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["utterances"] == 3
    assert "reconstruction" not in metrics and "pnmi" in metrics


def test_bad_input_is_an_error_code(tiny_dir, tmp_path, capsys):
    assert main(["--model", str(tiny_dir), "--manifest", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)]) == 2
    assert "manifest not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--manifest", "m", "--out", "o", "--metrics", "nonsense"])
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "a", "audio": "a.wav", "duration": 1.0}\n')
    assert (
        main(["--model", str(tiny_dir), "--manifest", str(manifest), "--out", str(tmp_path), "--ablations", "lexcal"])
        == 2
    )
    assert "unknown streams ['lexcal']" in capsys.readouterr().err
