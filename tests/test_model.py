import pytest
import torch

from hac_tokenizer import HACConfig
from hac_tokenizer.config import tiny_config
from hac_tokenizer.model import HACModel
from hac_tokenizer.nn.layers import length_mask


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return HACModel(tiny_config()).eval()


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
