"""Training recipes: YAML loading, dotted overrides, strict keys, and every shipped recipe parses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hac_tokenizer.config import HACConfig, tiny_config
from hac_tokenizer.errors import ConfigError
from hac_tokenizer.training.config import TrainConfig
from hac_tokenizer.training.cycle import CYCLES

PAPER_RECIPES = ("hac-14-l16", "hac-14-en", "hac-14-samu-l16", "hac-14-samu-en", "hac-10-en", "dac-14-en", "dac-14-l16",
                 "dac-10-en")


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults_are_the_papers_optimiser(tmp_path):
    config = TrainConfig.load(write(tmp_path, {"data": {"train_manifests": ["m.jsonl"]}}))
    assert config.optim.lr == 1e-4
    assert config.optim.betas == (0.8, 0.9)
    assert config.optim.gamma == 0.999996
    assert config.data.clip_seconds == 3.8
    assert (config.loss.mel, config.loss.adversarial, config.loss.feature_matching) == (15.0, 1.0, 2.0)
    assert (config.loss.commitment, config.loss.codebook) == (0.25, 1.0)


def test_overrides_parse_yaml_values_and_nest(tmp_path):
    path = write(tmp_path, {"data": {"train_manifests": ["m.jsonl"]}, "teachers": {"phonetic": {"kind": "panphon"}}})
    config = TrainConfig.load(
        path, ["steps=300", "data.batch_size=4", "optim.betas=[0.5, 0.99]", "teachers.phonetic.path=/x", "optim.lr=1"]
    )
    assert config.steps == 300 and config.data.batch_size == 4
    assert config.optim.betas == (0.5, 0.99)
    assert config.optim.lr == 1.0 and isinstance(config.optim.lr, float)
    assert config.teachers["phonetic"] == {"kind": "panphon", "path": "/x"}


def test_override_into_a_preset_starts_from_its_values(tmp_path):
    path = write(tmp_path, {"model": "tiny", "data": {"train_manifests": ["m.jsonl"]}})
    config = TrainConfig.load(path, ["model.acoustic_layers=3"])
    expected = HACConfig.preset("tiny")
    assert config.model_config().acoustic_layers == 3
    assert config.model_config().latent_dim == expected.latent_dim


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lrr=1", "optim.lrr"),
        ("stepz=3", "stepz"),
        ("steps=many", "steps"),
        ("optim.betas=[0.8]", "optim.betas"),
        ("amp=fp8", "amp"),
        ("teachers.acoustic={kind: panphon}", "acoustic"),
        ("model=no-such-model", "no-such-model"),
        ("nonsense", "key=value"),
    ],
)
def test_bad_keys_and_values_are_errors_naming_them(tmp_path, override, message):
    path = write(tmp_path, {"data": {"train_manifests": ["m.jsonl"]}})
    with pytest.raises(ConfigError, match=message):
        TrainConfig.load(path, [override])


def test_lexical_teacher_on_a_model_without_lexical_stream_is_refused(tmp_path):
    path = write(tmp_path, {"model": "dac-14-en", "data": {"train_manifests": ["m.jsonl"]},
                            "teachers": {"lexical": {"kind": "labse"}}})
    with pytest.raises(ConfigError, match="no lexical stream"):
        TrainConfig.load(path)


@pytest.mark.parametrize("cycle", list(CYCLES))
def test_a_cycle_on_a_model_without_content_streams_is_refused(tmp_path, cycle):
    model = tiny_config().to_dict() | {"phonetic": None, "lexical": None}
    path = write(tmp_path, {"model": model, "data": {"train_manifests": ["m.jsonl"]}, "loss": {cycle: 1.0}})
    with pytest.raises(ConfigError, match=f"{cycle}=0"):
        TrainConfig.load(path)
    assert getattr(TrainConfig.load(path, [f"loss.{cycle}=0"]).loss, cycle) == 0


def test_yaml_round_trip(tmp_path):
    config = TrainConfig.load(write(tmp_path, {"data": {"train_manifests": ["m.jsonl"]}, "model": "tiny"}), ["seed=7"])
    again = TrainConfig.from_dict(yaml.safe_load(config.to_yaml()))
    assert again == config


@pytest.mark.parametrize("name", [*PAPER_RECIPES, "hac-mls8-small", "tiny"])
def test_shipped_recipes_parse(name):
    config = TrainConfig.load(name)
    assert config.name == name
    assert config.model_config().latent_dim > 0


@pytest.mark.parametrize("name", PAPER_RECIPES)
def test_paper_recipes_use_the_papers_setup(name):
    config = TrainConfig.load(name)
    assert config.model_config() == HACConfig.preset(name)
    assert config.steps == 400_000
    assert config.data.clip_seconds == 3.8
    # 60 s of audio per step (the paper's total batch), to within one clip
    assert abs(config.data.batch_size * config.data.clip_seconds - 60) < config.data.clip_seconds
    assert (config.optim.lr, config.optim.betas, config.optim.gamma) == (1e-4, (0.8, 0.9), 0.999996)
    assert set(config.teachers) == {"phonetic", "lexical"} & set(config.model_config().streams)


def test_cli_prints_the_resolved_recipe(capsys):
    from hac_tokenizer.training.cli import main

    assert main(["--print-config", "hac-14-l16", "steps=5", "data.batch_size=8"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["steps"] == 5 and printed["data"]["batch_size"] == 8
    assert printed["optim"]["betas"] == [0.8, 0.9]


def test_cli_reports_a_bad_override_as_an_error(capsys):
    from hac_tokenizer.training.cli import main

    assert main(["--print-config", "tiny", "optim.lrr=1"]) == 2
    assert "optim.lrr" in capsys.readouterr().err
