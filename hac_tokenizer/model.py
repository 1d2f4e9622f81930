"""HACModel: the network of the paper's Fig. 1, with no I/O concerns.

    Z = ENC(x);  Z_Qp = VQphn(TrfENC_p(Z));  Z_Ql = VQlex(TrfENC_l(Z))
    Z_Qa = RVQacoust(Z)  or, with ``acoustic_input="residual"``,  RVQacoust(Z - Z_Qp - Z_Ql)
    x_hat = DEC(Z_Qa + Z_Qp + Z_Ql)

``build_encoder`` / ``build_decoder`` map the config's kinds to their classes; the three streams are
registered here (``lexical``, ``phonetic``, ``acoustic``: the checkpoint keys) and used through one
:class:`~hac_tokenizer.quantization.SplitQuantizer`, ``model.quantizer``.

``HACTokenizer`` wraps it for users; the trainer calls ``forward`` for the straight-through path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config import HACConfig
from .nn.decoder import Decoder
from .nn.encoder import Encoder
from .nn.frame_codec import ISTFTDecoder, MelEncoder
from .nn.layers import apply_mask
from .quantization import ResidualVQ, SplitQuantizer, TokenStream, VQOutput


@dataclass
class HACOutput:
    """Everything a training step needs from one forward pass."""

    audio: Tensor | None  # [B, 1, S] reconstruction; None from a pass that stopped at the quantizers
    latent: Tensor  # [B, D, T] encoder output Z
    quantized: dict[str, VQOutput]  # per stream: "acoustic", "phonetic", "lexical"


def build_encoder(config: HACConfig) -> nn.Module:
    """The encoder of ``config.encoder_kind``: ``[B, 1, S], sample mask [B, 1, S] -> Z [B, D, S / hop]``."""
    if config.encoder_kind == "mel-convnext":
        return MelEncoder(
            config.sample_rate, config.hop_length, config.encoder_dim, config.encoder_depth, config.latent_dim
        )
    return Encoder(config.encoder_dim, config.encoder_rates, config.latent_dim)


def build_decoder(config: HACConfig) -> nn.Module:
    """The decoder of ``config.decoder_kind``: ``Z_Q [B, D, T], frame mask [B, 1, T] -> [B, 1, T * hop]``."""
    if config.decoder_kind == "istft":
        return ISTFTDecoder(config.latent_dim, config.hop_length, config.decoder_dim, config.decoder_depth)
    return Decoder(config.latent_dim, config.decoder_dim, config.decoder_rates)


class HACModel(nn.Module):
    def __init__(self, config: HACConfig) -> None:
        super().__init__()
        self.config = config
        d = config.latent_dim
        self.encoder = build_encoder(config)
        self.acoustic = ResidualVQ(
            d, config.acoustic_layers, config.acoustic_codebook_size, config.acoustic_codebook_dim
        )
        self.phonetic = None if config.phonetic is None else TokenStream(d, config.phonetic)
        self.lexical = None if config.lexical is None else TokenStream(d, config.lexical)
        self.decoder = build_decoder(config)

    @property
    def quantizer(self) -> SplitQuantizer:
        """The three streams behind one encode / embed / decode (a view: the modules stay registered here)."""
        return SplitQuantizer(self.streams(), self.acoustic, residual=self.config.acoustic_input == "residual")

    @property
    def device(self) -> torch.device:
        return next(self.decoder.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Compute dtype of the convolutional and transformer parts (quantizers always run in fp32)."""
        return next(self.decoder.parameters()).dtype

    def streams(self) -> dict[str, TokenStream]:
        """The factored-out streams this model has, by name."""
        return {name: s for name in ("lexical", "phonetic") if (s := getattr(self, name)) is not None}

    def quantizers(self) -> list[nn.Module]:
        """Modules that must stay in fp32 (nearest-code search) whatever the model dtype."""
        return self.quantizer.modules()

    def encode(self, audio: Tensor, frame_mask: Tensor | None, streams: tuple[str, ...]) -> dict[str, Tensor]:
        """``audio [B, 1, S]`` (S a multiple of the hop) -> codes per requested stream.

        ``frame_mask [B, 1, T]`` marks valid frames; the sample mask is derived from it.
        """
        return self.quantizer.encode(self.latent(audio, frame_mask), frame_mask, streams)

    def latent(self, audio: Tensor, frame_mask: Tensor | None) -> Tensor:
        """``audio [B, 1, S] -> Z [B, D, T]``, padding zeroed."""
        sample_mask = None if frame_mask is None else frame_mask.repeat_interleave(self.config.hop_length, -1)
        return self.encoder(apply_mask(audio, sample_mask), sample_mask)

    def embed(self, codes: dict[str, Tensor]) -> Tensor:
        """Codes of any subset of the streams -> ``Z_Q [B, D, T]`` (fp32); see :meth:`SplitQuantizer.embed`."""
        return self.quantizer.embed(codes)

    def decode(self, z_q: Tensor, frame_mask: Tensor | None) -> Tensor:
        """``Z_Q [B, D, T] -> audio [B, 1, T * hop]``."""
        return self.decoder(z_q.to(self.dtype), frame_mask)

    def quantize(self, audio: Tensor, frame_mask: Tensor | None = None) -> tuple[Tensor, dict[str, VQOutput]]:
        """Training path up to the quantizers: ``audio [B, 1, S]`` -> ``Z [B, D, T]`` and each quantizer's output."""
        z = self.latent(audio, frame_mask)
        return z, self.quantizer.quantize(z, frame_mask)

    def forward(self, audio: Tensor, frame_mask: Tensor | None = None) -> HACOutput:
        """Training path: ``audio [B, 1, S]`` -> reconstruction, latent and every quantizer's output."""
        z, quantized = self.quantize(audio, frame_mask)
        z_q = torch.stack([q.quantized for q in quantized.values()]).sum(0)
        return HACOutput(self.decode(z_q, frame_mask), z, quantized)
