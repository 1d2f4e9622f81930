"""Hub model cards: metadata parsed back by huggingface_hub, figures only for the weights they were measured on."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from signals import chirp

from hac_tokenizer import HACTokenizer, hub, model_card
from hac_tokenizer.config import tiny_config
from hac_tokenizer.errors import ConfigError
from hac_tokenizer.model_card import FIGURES_NAME, Evaluation, Metric, ModelFigures, weights_fingerprint

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_FIGURES = hub.REGISTRY[hub.DEFAULT_MODEL].directory / FIGURES_NAME


@pytest.fixture(scope="module")
def bundled() -> HACTokenizer:
    return HACTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def bundled_folder(bundled, tmp_path_factory) -> Path:
    return bundled.save_pretrained(tmp_path_factory.mktemp("bundled"))


def _figures_for(tok: HACTokenizer, **changes) -> ModelFigures:
    figures = ModelFigures(
        model=tok.config.name,
        weights_fingerprint=weights_fingerprint(tok.model),
        license="apache-2.0",
        languages=("en",),
        datasets=("openslr/librispeech_asr",),
        training="trained for the test",
        limitations="none known",
        source="this test",
        evaluations=(
            Evaluation("chirps", "chirps", "test", "made up for the test", (Metric("stoi", "full decode STOI", 0.5),)),
        ),
    )
    return dataclasses.replace(figures, **changes)


def test_bundled_card_metadata_parses_back_with_the_shipped_figures(bundled_folder):
    card = ModelCard.load(bundled_folder / "README.md")
    shipped = ModelFigures.load(BUNDLED_FIGURES)
    data = card.data
    assert data.library_name == "hac-tokenizer" and data.license == "mit"
    assert data.pipeline_tag == "audio-to-audio" and "speech-tokenizer" in data.tags
    assert data.language == ["en", "fr", "de", "it", "pl", "pt", "es", "nl"]
    assert data.model_name == hub.DEFAULT_MODEL
    expected = [(e.dataset_type, m.type, m.name, m.value) for e in shipped.evaluations for m in e.metrics]
    parsed = [(r.dataset_type, r.metric_type, r.metric_name, r.metric_value) for r in data.eval_results]
    assert parsed == expected and len(parsed) == 18
    assert ModelFigures.load(bundled_folder / FIGURES_NAME) == shipped


def test_card_body_states_architecture_from_the_config(bundled_folder, bundled):
    text = (bundled_folder / "README.md").read_text()
    c = bundled.config
    assert f"{c.bitrate:.0f} bps nominal" in text and "3000 bps" in text
    assert f"| `acoustic` | `[B, N, T]` | {c.acoustic_layers} x {c.acoustic_codebook_size} |" in text
    assert f"{bundled.num_parameters() / 1e6:.2f} M parameters" in text


def test_shipped_figures_belong_to_the_shipped_weights(bundled):
    """Fails when the bundled checkpoint is re-exported without re-measuring: update figures.json with MODEL_CARD.md."""
    assert ModelFigures.load(BUNDLED_FIGURES).weights_fingerprint == weights_fingerprint(bundled.model)


def test_every_shipped_figure_is_in_model_card_md():
    """figures.json repeats MODEL_CARD.md's measured numbers for the Hub card: each must be one MODEL_CARD.md states."""
    text = (REPO_ROOT / "MODEL_CARD.md").read_text()
    stated = {float(number) for number in re.findall(r"-?\d+\.\d+", text)}  # 0.700 in the card states 0.7
    figures = ModelFigures.load(BUNDLED_FIGURES)
    missing = [(m.name, m.value) for e in figures.evaluations for m in e.metrics if m.value not in stated]
    assert not missing, missing


def test_saved_folder_loads_back_with_identical_tokens(bundled_folder, bundled):
    audio = chirp(16000)
    again = HACTokenizer.from_pretrained(bundled_folder)
    expected, got = bundled.encode(audio), again.encode(audio)
    for stream in ("lexical", "phonetic", "acoustic"):
        assert torch.equal(getattr(got, stream), getattr(expected, stream))


def test_fingerprint_names_values_not_storage(bundled, tiny_tokenizer):
    assert weights_fingerprint(bundled.model, torch.float16) == weights_fingerprint(bundled.model)  # fp16 weights
    assert weights_fingerprint(tiny_tokenizer.model, torch.float16) != weights_fingerprint(tiny_tokenizer.model)
    changed = HACTokenizer.from_config(tiny_config())
    changed.model.load_state_dict(tiny_tokenizer.model.state_dict())
    assert weights_fingerprint(changed.model) == weights_fingerprint(tiny_tokenizer.model)
    with torch.no_grad():
        next(changed.model.parameters()).view(-1)[0] += 1e-3
    assert weights_fingerprint(changed.model) != weights_fingerprint(tiny_tokenizer.model)


def test_other_weights_get_no_borrowed_figures(tmp_path):
    torch.manual_seed(1)
    random_init = HACTokenizer.from_config(tiny_config())
    random_init.save_pretrained(tmp_path)
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.library_name == "hac-tokenizer" and card.data.eval_results is None
    assert card.data.license is None and card.data.language is None
    assert "No measured figures are recorded for these exact weights" in card.text
    assert not (tmp_path / FIGURES_NAME).exists()


def test_bundled_model_saved_in_a_lossy_dtype_would_still_match(bundled, tmp_path):
    """The bundled weights are fp16 values, so an fp16 save keeps them and keeps the figures."""
    bundled.save_pretrained(tmp_path, dtype=torch.float16)
    assert ModelCard.load(tmp_path / "README.md").data.eval_results is not None


def test_given_figures_go_into_the_card_and_the_folder(tiny_tokenizer, tmp_path):
    figures = _figures_for(tiny_tokenizer)
    tiny_tokenizer.save_pretrained(tmp_path, figures=figures)
    data = ModelCard.load(tmp_path / "README.md").data
    assert data.license == "apache-2.0" and data.datasets == ["openslr/librispeech_asr"]
    assert [(r.metric_type, r.metric_value) for r in data.eval_results] == [("stoi", 0.5)]
    assert ModelFigures.load(tmp_path / FIGURES_NAME) == figures


def test_figures_of_other_weights_are_refused_before_writing(tiny_tokenizer, tmp_path):
    figures = _figures_for(tiny_tokenizer, weights_fingerprint="0" * 64)
    with pytest.raises(ConfigError, match="would describe another model"):
        tiny_tokenizer.save_pretrained(tmp_path / "out", figures=figures)
    assert not (tmp_path / "out").exists()


def test_figures_that_fp16_rounding_would_change_are_refused(tiny_tokenizer, tmp_path):
    with pytest.raises(ConfigError, match=r"stored in torch.float16"):
        tiny_tokenizer.save_pretrained(tmp_path, dtype=torch.float16, figures=_figures_for(tiny_tokenizer))


@pytest.mark.parametrize("text", ["[]", "{", '{"model": "x"}'])
def test_malformed_figures_files_are_config_errors(tmp_path, text):
    path = tmp_path / FIGURES_NAME
    path.write_text(text)
    with pytest.raises(ConfigError, match="figures"):
        ModelFigures.load(path)


def test_figures_round_trip_through_json(tiny_tokenizer, tmp_path):
    figures = _figures_for(tiny_tokenizer)
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / FIGURES_NAME).write_text(figures.to_json())
    assert ModelFigures.load(tmp_path / "tiny" / FIGURES_NAME) == figures
    assert model_card.bundled_figures(tiny_tokenizer.model, tmp_path) == figures
    assert model_card.bundled_figures(tiny_tokenizer.model, tmp_path, torch.float16) is None
    (tmp_path / "tiny" / FIGURES_NAME).write_text(dataclasses.replace(figures, model="other").to_json())
    assert model_card.bundled_figures(tiny_tokenizer.model, tmp_path) is None  # figures name another model
