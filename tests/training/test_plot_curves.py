"""training/plot_curves.py draws a run directory's metrics as MetricsLog writes them."""

import importlib.util
from pathlib import Path

from hac_tokenizer.training.metrics_log import MetricsLog, read_metrics

SCRIPT = Path(__file__).resolve().parents[2] / "training" / "plot_curves.py"
spec = importlib.util.spec_from_file_location("plot_curves", SCRIPT)
plot_curves = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plot_curves)


def test_smooth_is_a_trailing_mean():
    assert plot_curves.smooth([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]


def test_a_curve_leaves_out_the_rows_where_its_term_was_not_computed():
    rows = [{"step": 1, "mel": 0.0, "content_cycle": 0.0, "level": 0.0}, {"step": 2, "mel": 3.0, "content_cycle": 2.0}]
    assert plot_curves.curve(rows, "mel") == ([2], [3.0])
    assert plot_curves.curve(rows, "content_cycle") == ([2], [2.0])
    assert plot_curves.curve(rows, "level") == ([1], [0.0])  # a real 0 dB level difference stays
    assert plot_curves.curve(rows, "reconstruction_cycle") == ([], [])


def test_a_run_with_a_content_first_stage_and_a_column_added_later(tmp_path, capsys):
    log = MetricsLog(tmp_path / "run", resume_step=0)
    for step in range(10, 210, 10):
        row = {"mel": 0.0 if step <= 50 else 3.0 - step / 100, "kd_phonetic": 0.5, "kd_lexical": 0.6}
        row |= {"commitment": 1.0, "perplexity_phonetic": 100.0, "step_seconds": 0.5}
        if step > 100:
            row["level"] = 2.0  # a term that joined mid-run
            row["content_cycle"] = 0.0 if step <= 150 else 2.5  # logged 0 while its weight was 0
        log.write("train", step, row)
        if step % 50 == 0:
            log.write("eval", step, {"mel": 2.5, "kd_phonetic": 0.55})
    out = tmp_path / "curves.png"
    plot_curves.main(["--run", str(tmp_path / "run"), "--out", str(out), "--smooth", "3"])
    assert out.stat().st_size > 10_000 and f"wrote {out}" in capsys.readouterr().out


def test_a_run_started_from_a_checkpoint_counts_its_hours_from_init_step(tmp_path):
    run = tmp_path / "run"
    log = MetricsLog(run, resume_step=1000)
    for step in (1010, 1020):
        log.write("train", step, {"mel": 2.0, "kd_phonetic": 0.5, "step_seconds": 360.0})
    log.close()
    assert plot_curves.first_step(run) == 0  # no config.yaml: a run from step 0
    (run / "config.yaml").write_text("init:\n  checkpoint: ckpt/a\n  step: 1000\n")
    assert plot_curves.first_step(run) == 1000
    rows = read_metrics(run / "train.csv")
    assert plot_curves.logged_hours(rows, 1000) == 2.0  # 2 rows x 10 steps x 360 s, not 1010 steps for the first
    out = tmp_path / "curves.png"
    plot_curves.main(["--run", str(run), "--out", str(out)])
    assert out.exists()
