"""Packaged recipes: found by name from an installed package, listed, printed, and a local file never shadowed."""

from __future__ import annotations

import logging

import pytest
import yaml
from tiny_runs import tiny_recipe

from hac_tokenizer.config import HACConfig
from hac_tokenizer.errors import ConfigError
from hac_tokenizer.hub import REGISTRY
from hac_tokenizer.training.cli import main
from hac_tokenizer.training.config import TrainConfig
from hac_tokenizer.training.recipes import RECIPE_DIR, recipe_names, recipe_path


def test_every_registry_entry_names_a_packaged_recipe_of_its_architecture():
    for name, entry in REGISTRY.items():
        assert entry.recipe == name
        config = TrainConfig.load(entry.recipe)
        assert config.name == name
        assert config.model_config() == HACConfig.preset(name)


def test_every_recipe_says_what_it_is_what_data_it_reads_and_what_it_costs():
    names = recipe_names()
    assert set(REGISTRY) | {"tiny"} == set(names)
    for name in names:
        about = TrainConfig.load(name).about
        assert about.summary and about.data and about.cost, name


def test_recipes_command_lists_every_recipe_with_its_description(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name in recipe_names():
        about = TrainConfig.load(name).about
        assert f"{name}\n  {about.summary}\n  data: {about.data}\n  cost: {about.cost}" in out


def test_printed_recipe_is_a_recipe_file_that_loads_back_to_the_same_config(tmp_path, capsys):
    assert main(["--print-config", "hac-mls8-small", "steps=7"]) == 0
    copy = tmp_path / "mine.yaml"
    copy.write_text(capsys.readouterr().out)
    assert TrainConfig.load(copy) == TrainConfig.load("hac-mls8-small", ["steps=7"])


def test_a_local_file_wins_over_a_packaged_recipe_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").write_text(yaml.safe_dump({"name": "local", "data": {"train_manifests": ["m.jsonl"]}}))
    assert TrainConfig.load("tiny").name == "local"
    assert recipe_path("hac-14-en") == RECIPE_DIR / "hac-14-en.yaml"


@pytest.mark.parametrize(
    ("recipe", "message"),
    [("hac-14-l61", "no recipe named 'hac-14-l61'"), ("configs/tiny.yaml", "no such recipe file 'configs/tiny.yaml'")],
)
def test_an_unknown_recipe_is_named_and_the_real_ones_listed(tmp_path, monkeypatch, recipe, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message) as err:
        TrainConfig.load(recipe)
    assert "hac-14-l16" in str(err.value) and "hac-train recipes" in str(err.value)


def test_config_and_print_config_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        main(["--config", "tiny", "--print-config", "tiny"])
    assert "not allowed with" in capsys.readouterr().err


@pytest.fixture
def restore_logging():
    """``--quiet`` turns down process-wide logging and transformers' bars: give them back to the other tests."""
    from transformers.utils import logging as transformers_logging

    package = logging.getLogger("hac_tokenizer")
    level, verbosity = package.level, transformers_logging.get_verbosity()
    yield
    package.setLevel(level)
    transformers_logging.set_verbosity(verbosity)
    transformers_logging.enable_progress_bar()


def test_quiet_training_prints_nothing_and_loud_training_shows_progress(tmp_path, capfd, restore_logging):
    recipe = str(tiny_recipe(tmp_path, tmp_path / "run"))
    assert main(["--config", recipe, "steps=1"]) == 0
    loud = capfd.readouterr()
    assert "1/1" in loud.err  # the progress bar
    assert main(["--config", recipe, "--quiet", "steps=2"]) == 0  # resumes at step 1, trains one more
    quiet = capfd.readouterr()
    assert (quiet.out, quiet.err) == ("", "")
    # the metric files are written all the same: the second run logged step 2
    assert (tmp_path / "run" / "train.csv").read_text().splitlines()[-1].startswith("2,")
