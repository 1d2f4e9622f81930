"""The opt-in torch.compile path gives exactly the tokens of the eager model (and audio up to rounding)."""

from __future__ import annotations

import pytest
import torch
from signals import chirp

from hac_tokenizer import HACTokenizer
from hac_tokenizer.config import HACConfig, StreamConfig, TransformerConfig


def micro_config() -> HACConfig:
    """Every part of HAC, as few layers as possible: inductor compile time grows with the op count.

    The 500-frame test input exceeds the 16-frame attention window, so the local-attention path is compiled."""
    transformer = TransformerConfig(
        layers=1, heads=2, width=8, ffn=16, pos_conv_kernel=4, pos_conv_groups=2, attention_window=16
    )
    stream = StreamConfig(codebook_size=16, codebook_dim=4, transformer=transformer)
    return HACConfig(
        name="micro", encoder_dim=2, encoder_rates=(2, 2), latent_dim=8, decoder_dim=8, decoder_rates=(2, 2),
        acoustic_layers=2, acoustic_codebook_size=16, acoustic_codebook_dim=4, phonetic=stream, lexical=stream,
    )


@pytest.mark.slow
def test_compiled_tokenizer_matches_eager() -> None:
    torch.manual_seed(0)
    eager = HACTokenizer.from_config(micro_config())
    compiled = HACTokenizer.from_config(micro_config())
    compiled.model.load_state_dict(eager.model.state_dict())
    compiled.compile()
    audio = chirp(2000, seed=1)
    expected, got = eager.encode(audio), compiled.encode(audio)
    for name, tokens in expected.streams().items():
        assert torch.equal(got.streams()[name], tokens), name
    audio_eager, audio_compiled = eager.decode(expected).waveform, compiled.decode(expected).waveform
    torch.testing.assert_close(audio_compiled, audio_eager, atol=1e-4, rtol=1e-4)
