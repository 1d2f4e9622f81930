"""Metrics files: CSV rows per split, rows after the resumed step dropped, optional TensorBoard."""

from __future__ import annotations

import pytest

from hac_tokenizer.training.metrics_log import MetricsLog, read_metrics


def test_rows_are_appended_per_split(tmp_path):
    log = MetricsLog(tmp_path, resume_step=0)
    log.write("train", 1, {"mel": 2.0, "total": 30.0})
    log.write("train", 2, {"mel": 1.5, "total": 25.0})
    log.write("eval", 2, {"mel": 1.7})
    assert read_metrics(tmp_path / "train.csv") == [{"step": 1, "mel": 2.0, "total": 30.0},
                                                    {"step": 2, "mel": 1.5, "total": 25.0}]
    assert read_metrics(tmp_path / "eval.csv") == [{"step": 2, "mel": 1.7}]


def test_a_resumed_run_drops_rows_logged_after_its_checkpoint(tmp_path):
    log = MetricsLog(tmp_path, resume_step=0)
    for step in range(1, 6):
        log.write("train", step, {"mel": float(step)})
    MetricsLog(tmp_path, resume_step=3).write("train", 4, {"mel": 40.0})
    assert [(r["step"], r["mel"]) for r in read_metrics(tmp_path / "train.csv")] == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0)]


def test_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = MetricsLog(tmp_path, resume_step=0, tensorboard=True)
    log.write("train", 1, {"mel": 1.5})
    log.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("train/mel")] == [(1, 1.5)]


def test_a_column_added_on_resume_widens_the_file(tmp_path):
    # a run resumed by code that logs a new loss term: the header gains the column, earlier rows leave it empty
    MetricsLog(tmp_path, resume_step=0).write("train", 1, {"mel": 2.0, "total": 30.0})
    log = MetricsLog(tmp_path, resume_step=1)
    log.write("train", 2, {"mel": 1.5, "level": 2.5, "total": 25.0})
    log.write("train", 3, {"mel": 1.4, "level": 2.0, "total": 24.0})
    assert (tmp_path / "train.csv").read_text().splitlines()[:2] == ["step,mel,total,level", "1,2.0,30.0,"]
    assert read_metrics(tmp_path / "train.csv") == [
        {"step": 1, "mel": 2.0, "total": 30.0},
        {"step": 2, "mel": 1.5, "level": 2.5, "total": 25.0},
        {"step": 3, "mel": 1.4, "level": 2.0, "total": 24.0},
    ]
    MetricsLog(tmp_path, resume_step=2).write("train", 3, {"mel": 1.3})  # a column the row lacks stays empty
    assert read_metrics(tmp_path / "train.csv")[-1] == {"step": 3, "mel": 1.3}


def test_a_file_removed_mid_run_starts_again_with_its_header(tmp_path):
    log = MetricsLog(tmp_path, resume_step=0)
    log.write("train", 1, {"mel": 2.0})
    (tmp_path / "train.csv").unlink()
    log.write("train", 2, {"mel": 1.5})
    assert read_metrics(tmp_path / "train.csv") == [{"step": 2, "mel": 1.5}]
