"""Export: a training run becomes an inference checkpoint that HACTokenizer loads and encodes with."""

from __future__ import annotations

import shutil

import pytest
import torch
from signals import chirp
from tiny_runs import tiny_recipe

from hac_tokenizer import HACTokenizer
from hac_tokenizer.errors import CheckpointError
from hac_tokenizer.training.cli import main
from hac_tokenizer.training.export import export_run
from hac_tokenizer.training.state import load_state


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("export")
    run = tmp_path / "run"
    assert main(["--config", str(tiny_recipe(tmp_path, run)), "steps=2"]) == 0
    return run


def test_export_then_load_then_encode(run_dir, tmp_path):
    out = export_run(run_dir, tmp_path / "ckpt")
    tok = HACTokenizer.from_pretrained(str(out))
    trained = load_state(run_dir)["model"]
    loaded = tok.model.state_dict()
    assert all(torch.equal(loaded[k], trained[k]) for k in trained)
    tokens = tok.encode(chirp(6400))
    assert tokens.lexical.shape == tokens.phonetic.shape == (1, 20)
    assert tokens.acoustic.shape == (1, 2, 20)
    assert tok.decode(tokens).waveform.shape == (1, 6400)
    assert "step 2" in (out / "recipe.yaml").read_text()


def test_cli_export_fp16(run_dir, tmp_path, capsys):
    assert main(["export", "--run", str(run_dir), "--out", str(tmp_path / "half"), "--fp16"]) == 0
    assert "from_pretrained" in capsys.readouterr().out
    tok = HACTokenizer.from_pretrained(str(tmp_path / "half"))
    trained = load_state(run_dir)["model"]
    key = next(iter(trained))
    assert torch.equal(tok.model.state_dict()[key], trained[key].half().float())


def test_export_of_a_run_without_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(CheckpointError, match="hac-train"):
        export_run(tmp_path, tmp_path / "out")


def test_export_can_average_the_weights_of_snapshots_of_one_run(run_dir, tmp_path):
    later = tmp_path / "later"
    shutil.copytree(run_dir, later)
    state = load_state(later)
    state["model"] = {k: v + 1.0 if v.is_floating_point() else v for k, v in state["model"].items()}
    state["step"] = 4
    torch.save(state, later / "state.pt")
    assert main(["export", "--run", str(later), "--out", str(tmp_path / "mean"), "--average", str(run_dir)]) == 0
    tok = HACTokenizer.from_pretrained(str(tmp_path / "mean"))
    first = load_state(run_dir)["model"]
    for name, tensor in tok.model.state_dict().items():
        expected = first[name] + 0.5 if first[name].is_floating_point() else first[name]
        torch.testing.assert_close(tensor, expected)
    assert "at step 4, weights averaged with steps 2" in (tmp_path / "mean" / "recipe.yaml").read_text()
    other = load_state(run_dir)
    other["model_config"] = {**other["model_config"], "latent_dim": 7}
    torch.save(other, later / "state.pt")
    with pytest.raises(CheckpointError, match="different configs"):
        export_run(later, tmp_path / "bad", average=[run_dir])
