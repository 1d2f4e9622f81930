import numpy as np
import torch

from hac_tokenizer.evaluation.collect import acoustic_layers, token_features
from hac_tokenizer.lm import LMVocabulary


def test_decode_from_all_streams_equals_decode(tiny_tokenizer):
    g = torch.Generator().manual_seed(0)
    audio = [0.1 * torch.randn(3200, generator=g), 0.1 * torch.randn(2500, generator=g)]
    tokens = tiny_tokenizer.encode(audio)
    full = tiny_tokenizer.decode(tokens)
    partial = tiny_tokenizer.decode_streams(tokens, tiny_tokenizer.config.streams)
    assert torch.allclose(full.waveform, partial.waveform, atol=1e-6)
    assert partial.lengths.tolist() == [3200, 2500]


def test_dropping_a_stream_changes_the_audio_and_equals_zeroing_its_embedding(tiny_tokenizer):
    tokens = tiny_tokenizer.encode(0.1 * torch.randn(3200, generator=torch.Generator().manual_seed(1)))
    content = tiny_tokenizer.decode_streams(tokens, ("lexical", "phonetic"))
    assert not torch.allclose(content.waveform, tiny_tokenizer.decode(tokens).waveform)
    model = tiny_tokenizer.model
    with torch.inference_mode():
        z_q = model.lexical.vq.decode(tokens.lexical) + model.phonetic.vq.decode(tokens.phonetic)
        expected = model.decode(z_q, None)[:, 0]
    assert torch.allclose(content.waveform, expected, atol=1e-6)


def test_token_features_are_unit_codebook_vectors(tiny_tokenizer):
    tokens = tiny_tokenizer.encode(0.1 * torch.randn(2, 1600, generator=torch.Generator().manual_seed(2)))
    features = token_features(tiny_tokenizer, tokens)
    config = tiny_tokenizer.config
    assert features["phonetic"].shape == (2, 5, config.phonetic.codebook_dim)
    assert features["acoustic"].shape == (2, 5, config.acoustic_layers * config.acoustic_codebook_dim)
    assert torch.allclose(features["lexical"].norm(dim=-1), torch.ones(2, 5), atol=1e-5)


def test_acoustic_layers_are_numbered_from_zero_as_in_the_lm_layout(tiny_tokenizer):
    codes = np.array([[1, 2, 3], [4, 5, 6]])  # [N, T]: layer 0 (coarsest), layer 1
    layers = acoustic_layers(codes)
    assert list(layers) == ["acoustic.0", "acoustic.1"]
    assert layers["acoustic.0"].tolist() == [1, 2, 3] and layers["acoustic.1"].tolist() == [4, 5, 6]
    lm_names = [c.name for c in LMVocabulary.from_config(tiny_tokenizer.config).codebooks if c.stream == "acoustic"]
    assert list(acoustic_layers(np.zeros((tiny_tokenizer.config.acoustic_layers, 1)))) == lm_names
