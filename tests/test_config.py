import json

import pytest

from hac_tokenizer import HACConfig
from hac_tokenizer.config import StreamConfig, tiny_config
from hac_tokenizer.errors import ConfigError


@pytest.mark.parametrize("name", HACConfig.presets())
def test_presets_round_trip_through_json(name):
    config = HACConfig.preset(name)
    assert HACConfig.from_json(config.to_json()) == config


def test_hac14_numbers_from_the_paper():
    config = HACConfig.preset("hac-14-l16")
    assert config.hop_length == 320 and config.frame_rate == 50
    assert config.latent_dim == 1024 and config.decoder_dim == 1536
    assert config.acoustic_layers == 7 and config.acoustic_codebook_size == 1024 and config.acoustic_codebook_dim == 8
    for stream in (config.phonetic, config.lexical):
        assert (stream.codebook_size, stream.codebook_dim) == (16384, 128)
        t = stream.transformer
        assert (t.layers, t.heads, t.width, t.ffn) == (4, 8, 768, 3072)
    assert config.bitrate == 4900  # 50 x (7 x 10 + 14 + 14)


def test_dac_baseline_has_no_lexical_stream():
    config = HACConfig.preset("dac-14-en")
    assert config.lexical is None and config.streams == ("phonetic", "acoustic")
    assert config.bitrate == 50 * (8 * 10 + 14)


def test_json_file_round_trip(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(tiny_config().to_json())
    assert HACConfig.from_json(path) == tiny_config()


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.update(bogus=1), "unknown keys"),
        (lambda d: d["phonetic"].update(extra=2), "unknown keys"),
        (lambda d: d.update(decoder_rates=[8, 5, 4]), "same product"),
        (lambda d: d.update(acoustic_layers=0), "acoustic_layers"),
        (lambda d: d.update(phonetic=[1, 2]), "must be a JSON object"),
    ],
)
def test_bad_configs_are_refused(mutate, fragment):
    data = json.loads(tiny_config().to_json())
    mutate(data)
    with pytest.raises(ConfigError, match=fragment):
        HACConfig.from_dict(data)


def test_unknown_preset_lists_available():
    with pytest.raises(ConfigError, match="hac-14-l16"):
        HACConfig.preset("hac-99")


def test_stream_without_transformer_round_trips():
    config = HACConfig(phonetic=StreamConfig(transformer=None), lexical=None)
    assert HACConfig.from_json(config.to_json()) == config
