import json

import numpy as np

from hac_tokenizer.evaluation.report import write_report


def metrics(**groups):
    base = {"model": "m", "utterances": 2, "frames": 100, "seconds": 2.0, "languages": ["en", "fr"], "speakers": 2}
    return {**base, **groups}


PNMI = {
    s: {"all": v, "all_shuffled": v / 4, "per_language": {"en": v, "fr": v / 2}, "language_mean": 0.75 * v,
        "language_mean_shuffled": v / 3}
    for s, v in (("lexical", 0.3), ("phonetic", 0.6), ("acoustic.0", 0.1))
}


def test_report_has_tables_and_plots(tmp_path):
    example = {"original": np.sin(np.arange(8000) / 5.0), "full": np.zeros(8000)}
    report = write_report(metrics(pnmi=PNMI), [example], 16000, tmp_path).read_text()
    assert "| phonetic | 0.600 | 0.150 | 0.450 | 0.200 |" in report  # PNMI and its shuffled floor, pooled and per language
    assert "| fr | 0.150 | 0.300 | 0.050 |" in report
    for png in ("pnmi_layers.png", "pnmi_languages.png", "spectrogram.png"):
        assert (tmp_path / png).is_file() and png in report
    assert json.loads((tmp_path / "metrics.json").read_text())["pnmi"]["phonetic"]["all"] == 0.6


def test_skipped_groups_are_listed_and_not_plotted(tmp_path):
    report = write_report(
        metrics(pnmi={"skipped": "no labelled frames"}, abx={"skipped": "no triplet"}), [], 16000, tmp_path
    )
    text = report.read_text()
    assert "- pnmi: no labelled frames" in text and "- abx: no triplet" in text
    assert not (tmp_path / "pnmi_layers.png").exists()
