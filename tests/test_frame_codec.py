"""The frame-rate kinds: log-mel ConvNeXt encoder, iSTFT decoder, and the residual acoustic input."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hac_tokenizer.config import HACConfig, tiny_frame_config
from hac_tokenizer.errors import ConfigError
from hac_tokenizer.model import HACModel
from hac_tokenizer.nn.frame_codec import ISTFTDecoder, MelEncoder

STREAMS = ("lexical", "phonetic", "acoustic")


def frame_config(**changes) -> HACConfig:
    return dataclasses.replace(tiny_frame_config(), **changes)


@pytest.fixture(scope="module")
def model() -> HACModel:
    torch.manual_seed(0)
    return HACModel(frame_config()).eval()


def test_config_builds_the_named_kinds_and_round_trips(model):
    assert isinstance(model.encoder, MelEncoder) and isinstance(model.decoder, ISTFTDecoder)
    assert HACConfig.from_json(model.config.to_json()) == model.config
    with pytest.raises(ConfigError, match="encoder_kind"):
        frame_config(encoder_kind="wavlm")
    with pytest.raises(ConfigError, match="acoustic_input"):
        frame_config(acoustic_input="sum")
    with pytest.raises(ConfigError, match="even hop"):
        frame_config(encoder_rates=(3, 5), decoder_rates=(5, 3))


@torch.no_grad()
def test_residual_acoustic_rvq_reads_what_the_content_streams_leave(model):
    audio = 0.1 * torch.randn(1, 1, 3200, generator=torch.Generator().manual_seed(2))
    codes = model.encode(audio, None, STREAMS)
    assert torch.equal(model.encode(audio, None, ("acoustic",))["acoustic"], codes["acoustic"])
    z = model.latent(audio, None)
    residual = z - model.embed({"lexical": codes["lexical"], "phonetic": codes["phonetic"]})
    assert torch.equal(model.acoustic.encode(residual), codes["acoustic"])
    assert not torch.equal(model.acoustic.encode(z), codes["acoustic"])
    paper = HACModel(frame_config(acoustic_input="latent")).eval()
    paper.load_state_dict(model.state_dict())
    assert torch.equal(paper.encode(audio, None, ("acoustic",))["acoustic"], model.acoustic.encode(z))
