from pathlib import Path

import pytest
import torch

import hac_tokenizer
from hac_tokenizer import HACConfig
from hac_tokenizer.config import tiny_config, tiny_frame_config
from hac_tokenizer.model import HACModel
from hac_tokenizer.nn.layers import length_mask


@pytest.fixture(scope="module", params=[tiny_config, tiny_frame_config], ids=["dac-cnn", "frame-rate"])
def model(request):
    """The tiny model on each kind of encoder and decoder (the DAC CNN; the log-mel / iSTFT frame-rate pair)."""
    torch.manual_seed(0)
    return HACModel(request.param()).eval()


def test_forward_shapes(model):
    out = model(torch.randn(2, 1, 3200) * 0.1)
    assert out.audio.shape == (2, 1, 3200)
    assert out.latent.shape == (2, 32, 10)
    assert out.quantized["acoustic"].codes.shape == (2, 2, 10)
    assert out.quantized["phonetic"].codes.shape == out.quantized["lexical"].codes.shape == (2, 10)


@torch.no_grad()
def test_masked_padding_does_not_reach_valid_frames(model):
    torch.manual_seed(1)
    short = torch.randn(1, 1, 1600) * 0.1
    padded = torch.cat([short, torch.randn(1, 1, 1600)], -1)  # garbage after the valid part
    mask = length_mask(torch.tensor([5]), 10)
    streams = ("lexical", "phonetic", "acoustic")
    alone, batched = model.encode(short, None, streams), model.encode(padded, mask, streams)
    for name in streams:
        assert torch.equal(alone[name], batched[name][..., :5])
    latent_alone = model.embed(alone)
    audio_alone = model.decode(latent_alone, None)
    audio_padded = model.decode(torch.cat([latent_alone, torch.randn_like(latent_alone)], -1), mask)
    torch.testing.assert_close(audio_padded[..., :1600], audio_alone, atol=1e-5, rtol=0)
    assert audio_padded[..., 1600:].abs().max() == 0


def test_full_size_parameter_count():
    model = HACModel(HACConfig.preset("hac-14-l16"))
    count = sum(p.numel() for p in model.parameters())
    assert 140e6 < count < 160e6  # 148.1M: DAC-16k codec (~74M) + two 4-layer transformers + codebooks


def test_state_dict_keys_are_those_of_the_bundled_checkpoint():
    """The split quantizer is a view: the streams stay ``acoustic.*``/``phonetic.*``/``lexical.*`` under HACModel."""
    from safetensors.torch import load_file

    from hac_tokenizer.checkpoint import read_config

    bundled = Path(hac_tokenizer.__file__).parent / "checkpoints" / "hac-mls8-small"
    weights = load_file(str(bundled / "model.safetensors"))
    model = HACModel(read_config(bundled / "config.json"))
    assert sorted(model.state_dict()) == sorted(weights)
    model.load_state_dict(weights, strict=True)
    assert "quantizer" not in dict(model.named_children())


def test_parameter_order_is_unchanged():
    """Optimiser state is stored by parameter index: the modules keep their registration order."""
    model = HACModel(tiny_config())
    tops = list(dict.fromkeys(name.split(".")[0] for name, _ in model.named_parameters()))
    assert tops == ["encoder", "acoustic", "phonetic", "lexical", "decoder"]


def test_quantizer_is_a_view_over_the_registered_streams(model):
    quantizer = model.quantizer
    assert quantizer.acoustic is model.acoustic
    assert quantizer.content == {"lexical": model.lexical, "phonetic": model.phonetic}
    assert quantizer.streams == model.config.streams
    assert model.quantizers() == quantizer.modules()
    assert quantizer.residual == (model.config.acoustic_input == "residual")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_snake_in_place_inference_path_gives_the_autograd_paths_bits(dtype):
    from hac_tokenizer.nn.layers import Snake

    snake = Snake(8).to(dtype)
    with torch.no_grad():
        snake.alpha.uniform_(0.2, 2.0)
    x = torch.randn(2, 8, 1000).to(dtype)
    before = x.clone()
    expected = snake(x)  # grad enabled: the out-of-place path autograd needs
    assert expected.requires_grad
    with torch.inference_mode():
        got = snake(x)
    assert torch.equal(got, expected.detach())
    assert torch.equal(x, before)  # the in-place path writes only its own temporary
