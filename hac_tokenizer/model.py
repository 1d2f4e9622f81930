"""HACModel: the network of the paper's Fig. 1, with no I/O concerns.

    Z = ENC(x);  Z_Qp = VQphn(TrfENC_p(Z));  Z_Ql = VQlex(TrfENC_l(Z))
    Z_Qa = RVQacoust(Z)  or, with ``acoustic_input="residual"``,  RVQacoust(Z - Z_Qp - Z_Ql)
    x_hat = DEC(Z_Qa + Z_Qp + Z_Ql)

``build_encoder`` / ``build_decoder`` map the config's kinds to their classes.

``HACTokenizer`` wraps it for users; the trainer calls ``forward`` for the straight-through path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config import HACConfig, StreamConfig
from .nn.decoder import Decoder
from .nn.encoder import Encoder
from .nn.frame_codec import ISTFTDecoder, MelEncoder
from .nn.layers import apply_mask
from .nn.transformer import TransformerEncoder
from .quantization import FactorizedVQ, ResidualVQ, VQOutput


class TokenStream(nn.Module):
    """A factored-out stream: optional TrfENC, then a single factorized VQ layer."""

    def __init__(self, dim: int, config: StreamConfig) -> None:
        super().__init__()
        self.transformer = None if config.transformer is None else TransformerEncoder(dim, config.transformer)
        self.vq = FactorizedVQ(dim, config.codebook_size, config.codebook_dim)

    def features(self, z: Tensor, mask: Tensor | None) -> Tensor:  # [B, D, T] -> [B, D, T]
        return z if self.transformer is None else self.transformer(z, mask)

    def encode(self, z: Tensor, mask: Tensor | None) -> Tensor:  # [B, D, T] -> [B, T]
        return self.vq.encode(self.features(z, mask))

    def forward(self, z: Tensor, mask: Tensor | None) -> VQOutput:
        return self.vq(self.features(z, mask))


@dataclass
class HACOutput:
    """Everything a training step needs from one forward pass."""

    audio: Tensor | None  # [B, 1, S] reconstruction; None from a pass that stopped at the quantizers
    latent: Tensor  # [B, D, T] encoder output Z
    quantized: dict[str, VQOutput]  # per stream: "acoustic", "phonetic", "lexical"


def build_encoder(config: HACConfig) -> nn.Module:
    """The encoder of ``config.encoder_kind``: ``[B, 1, S], sample mask [B, 1, S] -> Z [B, D, S / hop]``."""
    if config.encoder_kind == "mel-convnext":
        return MelEncoder(config.sample_rate, config.hop_length, config.encoder_dim, config.encoder_depth, config.latent_dim)
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
        self.acoustic = ResidualVQ(d, config.acoustic_layers, config.acoustic_codebook_size, config.acoustic_codebook_dim)
        self.phonetic = None if config.phonetic is None else TokenStream(d, config.phonetic)
        self.lexical = None if config.lexical is None else TokenStream(d, config.lexical)
        self.decoder = build_decoder(config)

    def streams(self) -> dict[str, TokenStream]:
        """The factored-out streams this model has, by name."""
        return {name: s for name in ("lexical", "phonetic") if (s := getattr(self, name)) is not None}

    def quantizers(self) -> list[nn.Module]:
        """Modules that must stay in fp32 (nearest-code search) whatever the model dtype."""
        return [self.acoustic, *(s.vq for s in self.streams().values())]

    def encode(self, audio: Tensor, frame_mask: Tensor | None, streams: tuple[str, ...]) -> dict[str, Tensor]:
        """``audio [B, 1, S]`` (S a multiple of the hop) -> codes per requested stream.

        ``frame_mask [B, 1, T]`` marks valid frames; the sample mask is derived from it.
        """
        z = self.latent(audio, frame_mask)
        residual = self.config.acoustic_input == "residual" and "acoustic" in streams
        codes = {}
        for name, stream in self.streams().items():
            if name in streams or residual:
                codes[name] = stream.encode(z, frame_mask)
        if "acoustic" in streams:
            if residual:
                z = z - self.embed({name: codes[name] for name in self.streams()}).to(z.dtype)
            codes["acoustic"] = self.acoustic.encode(z)
        return {name: codes[name] for name in streams if name in codes}

    def latent(self, audio: Tensor, frame_mask: Tensor | None) -> Tensor:
        """``audio [B, 1, S] -> Z [B, D, T]``, padding zeroed."""
        sample_mask = None if frame_mask is None else frame_mask.repeat_interleave(self.config.hop_length, -1)
        return self.encoder(apply_mask(audio, sample_mask), sample_mask)

    def embed(self, codes: dict[str, Tensor]) -> Tensor:
        """Codes -> ``Z_Q [B, D, T]``, the sum of each given stream's code embeddings (fp32)."""
        parts = [self.acoustic.decode(codes["acoustic"])] if "acoustic" in codes else []
        parts += [stream.vq.decode(codes[name]) for name, stream in self.streams().items() if name in codes]
        return torch.stack(parts).sum(0)

    def decode(self, z_q: Tensor, frame_mask: Tensor | None) -> Tensor:
        """``Z_Q [B, D, T] -> audio [B, 1, T * hop]``."""
        dtype = next(self.decoder.parameters()).dtype
        return self.decoder(z_q.to(dtype), frame_mask)

    def quantize(self, audio: Tensor, frame_mask: Tensor | None = None) -> tuple[Tensor, dict[str, VQOutput]]:
        """Training path up to the quantizers: ``audio [B, 1, S]`` -> ``Z [B, D, T]`` and each quantizer's output."""
        z = self.latent(audio, frame_mask)
        quantized = {name: stream(z, frame_mask) for name, stream in self.streams().items()}
        content = [q.quantized for q in quantized.values()]
        acoustic_in = z - torch.stack(content).sum(0) if self.config.acoustic_input == "residual" and content else z
        quantized["acoustic"] = self.acoustic(acoustic_in)
        return z, quantized

    def forward(self, audio: Tensor, frame_mask: Tensor | None = None) -> HACOutput:
        """Training path: ``audio [B, 1, S]`` -> reconstruction, latent and every quantizer's output."""
        z, quantized = self.quantize(audio, frame_mask)
        z_q = torch.stack([q.quantized for q in quantized.values()]).sum(0)
        return HACOutput(self.decode(z_q, frame_mask), z, quantized)
