import json

import pytest
import torch
from signals import chirp

from hac_tokenizer import HACTokenizer
from hac_tokenizer.checkpoint import CONFIG_NAME, WEIGHTS_NAME, load_checkpoint, sha256_of
from hac_tokenizer.config import tiny_config
from hac_tokenizer.errors import CheckpointError


def test_save_and_load_gives_identical_tokens(tiny_tokenizer, tmp_path):
    tiny_tokenizer.save_pretrained(tmp_path)
    assert json.loads((tmp_path / CONFIG_NAME).read_text())["format_version"] == 1
    loaded = HACTokenizer.from_pretrained(tmp_path)
    wav = chirp(8000)
    a, b = tiny_tokenizer.encode(wav), loaded.encode(wav)
    for name, t in a.streams().items():
        assert torch.equal(getattr(b, name), t)
    torch.testing.assert_close(loaded.decode(b).waveform, tiny_tokenizer.decode(a).waveform)


def test_fp16_weights_load_into_fp32_model(tiny_tokenizer, tmp_path):
    tiny_tokenizer.save_pretrained(tmp_path, dtype=torch.float16)
    model = load_checkpoint(tmp_path)
    assert next(model.parameters()).dtype == torch.float32


def test_mismatched_config_names_the_key(tiny_tokenizer, tmp_path):
    tiny_tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / CONFIG_NAME).read_text())
    config["acoustic_codebook_size"] = 32
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="acoustic.layers.0.codebook.weight"):
        load_checkpoint(tmp_path)


def test_sha256_is_checked_when_expected(tiny_tokenizer, tmp_path):
    tiny_tokenizer.save_pretrained(tmp_path)
    good = sha256_of(tmp_path / WEIGHTS_NAME)
    load_checkpoint(tmp_path, expected_sha256=good)
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(tmp_path, expected_sha256="0" * 64)


def test_config_of_other_model_is_refused(tmp_path):
    HACTokenizer.from_config(tiny_config()).save_pretrained(tmp_path)
    config = json.loads((tmp_path / CONFIG_NAME).read_text())
    config["lexical"] = None
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unexpected keys"):
        load_checkpoint(tmp_path)
