"""Peer codecs at random initialisation, behind one small interface, for side-by-side speed runs.

Weights do not change speed, so every peer is built from its published architecture with random
weights: nothing is downloaded. Peers live in their own virtual environment (their pinned
dependencies must not touch the main one), see ``benchmarks/README.md``:

* DAC 16 kHz (``descript-audio-codec``): ``dac.DAC`` with the 16 kHz model's hyper-parameters.
* SpeechTokenizer (``speechtokenizer``): the published ``speechtokenizer_hubert_avg`` config.
* EnCodec 24 kHz (``encodec``): ``EncodecModel.encodec_model_24khz(pretrained=False)`` at 6 kbps.
* Mimi (``moshi``): ``loaders.get_mimi(None)`` (random init), 8 codebooks.

``dac`` imports ``audiotools``, which imports ``torchaudio`` at module level; torchaudio's compiled
library does not load against torch 2.13 CPU. None of the model code used here calls torchaudio (it
is needed for file I/O and augmentation only), so :func:`stub_torchaudio` inserts an empty module in
``sys.modules`` of THIS benchmark process before those imports. Nothing else is patched.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class Codec:
    """A codec under test: ``encode(wav [B, 1, S]) -> codes`` and ``decode(codes) -> wav [B, 1, S]``."""

    name: str
    sample_rate: int
    module: nn.Module
    encode: Callable[[Tensor], object]
    decode: Callable[[object], Tensor]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())


def stub_torchaudio() -> None:
    """Give ``import torchaudio`` an empty module (see the module docstring for why)."""
    if "torchaudio" not in sys.modules:
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        sys.modules["torchaudio"] = stub


def dac_16khz() -> Codec:
    stub_torchaudio()
    import dac

    # Hyper-parameters of the released 16 kHz DAC (12 codebooks of 1024, 50 Hz).
    model = dac.DAC(
        encoder_dim=64, encoder_rates=[2, 4, 5, 8], decoder_dim=1536, decoder_rates=[8, 5, 4, 2],
        n_codebooks=12, codebook_size=1024, codebook_dim=8, sample_rate=16000,
    ).eval()

    def encode(wav: Tensor) -> Tensor:
        return model.encode(model.preprocess(wav, 16000))[1]  # codes [B, 12, T]

    def decode(codes: Tensor) -> Tensor:
        return model.decode(model.quantizer.from_codes(codes)[0])

    return Codec("DAC-16k", 16000, model, encode, decode)


SPEECHTOKENIZER_CONFIG = {
    # speechtokenizer_hubert_avg/config.json as published with the model.
    "n_filters": 64, "strides": [8, 5, 4, 2], "dimension": 1024, "semantic_dimension": 768,
    "bidirectional": True, "dilation_base": 2, "residual_kernel_size": 3, "n_residual_layers": 1,
    "lstm_layers": 2, "activation": "ELU", "sample_rate": 16000, "codebook_size": 1024, "n_q": 8,
}


def speechtokenizer() -> Codec:
    stub_torchaudio()
    from speechtokenizer import SpeechTokenizer

    model = SpeechTokenizer(SPEECHTOKENIZER_CONFIG).eval()
    return Codec("SpeechTokenizer", 16000, model, model.encode, model.decode)


def encodec_24khz() -> Codec:
    stub_torchaudio()
    from encodec import EncodecModel

    model = EncodecModel.encodec_model_24khz(pretrained=False).eval()
    model.set_target_bandwidth(6.0)
    return Codec("EnCodec-24k", 24000, model, model.encode, model.decode)


def mimi() -> Codec:
    stub_torchaudio()
    from moshi.models import loaders

    model = loaders.get_mimi(None, device="cpu", num_codebooks=8).eval()
    return Codec("Mimi", 24000, model, model.encode, model.decode)


PEERS: dict[str, Callable[[], Codec]] = {
    "dac16k": dac_16khz,
    "speechtokenizer": speechtokenizer,
    "encodec24k": encodec_24khz,
    "mimi": mimi,
}


def build_peers(names: list[str], log: Callable[[str], None] = print) -> list[Codec]:
    """Build the named peers; one that does not install or build is reported and left out."""
    codecs = []
    for name in names:
        try:
            codecs.append(PEERS[name]())
        except Exception as err:  # an optional dependency missing or broken: report it, keep going
            log(f"peer {name} left out: {type(err).__name__}: {err}")
    return codecs


def to(codec: Codec, device: torch.device | str) -> Codec:
    codec.module.to(device)
    return codec
