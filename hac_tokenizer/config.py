"""Model configuration: one dataclass per part, presets for the paper's model zoo, JSON round trip.

Names of presets follow the paper (Khurana et al., Interspeech 2025): ``HAC-14-LaBSE-mHuB-T-L16`` is
``hac-14-l16``. The teacher (LaBSE/SAMU, HuBERT/mHuBERT) only matters for training, so the SAMU and
LaBSE variants share an architecture and differ in their training recipe (``hac_tokenizer/training/recipes``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENCODER_KINDS = ("dac-cnn", "mel-convnext")
DECODER_KINDS = ("dac-cnn", "istft")
ACOUSTIC_INPUTS = ("latent", "residual")


@dataclass(frozen=True)
class TransformerConfig:
    """TrfENC: pre-LN transformer encoder with a convolutional positional embedding (wav2vec 2.0 style)."""

    layers: int = 4
    heads: int = 8
    width: int = 768
    ffn: int = 3072
    pos_conv_kernel: int = 128  # frames at 50 Hz: 2.56 s of context for the relative position signal
    pos_conv_groups: int = 16
    # Frames on each side a frame may attend to; None: the whole input. Set it to the training clip length:
    # training then runs exactly as with global attention, while long inputs see no more context than the
    # model was trained with, and a token's context is bounded (see ``context_frames``).
    attention_window: int | None = None

    def __post_init__(self) -> None:
        _check_sizes(self)
        window = self.attention_window
        if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 1):
            raise ConfigError(f"TransformerConfig.attention_window must be a positive integer or null, got {window!r}.")

    @property
    def context_frames(self) -> int | None:
        """Frames on each side that can change a frame's output (None: unbounded, global attention)."""
        if self.attention_window is None:
            return None
        return self.layers * self.attention_window + self.pos_conv_kernel // 2


@dataclass(frozen=True)
class StreamConfig:
    """A factored-out token stream (phonetic or lexical): optional transformer, then one VQ layer."""

    codebook_size: int = 16384
    codebook_dim: int = 128
    transformer: TransformerConfig | None = field(default_factory=TransformerConfig)

    def __post_init__(self) -> None:
        _check_sizes(self)


@dataclass(frozen=True)
class HACConfig:
    """Architecture of a HAC model. Sizes default to the paper's HAC-14 at 16 kHz.

    ``encoder_kind`` / ``decoder_kind`` pick the class of each part (``nn/``):

    * ``"dac-cnn"``: the DAC CNN (Kumar et al. 2023), the paper's choice. Channels start at ``encoder_dim`` and
      double at each of the ``encoder_rates`` strides; the decoder's start at ``decoder_dim`` and halve at each of
      the ``decoder_rates`` strides.
    * ``"mel-convnext"`` (encoder) / ``"istft"`` (decoder): frame-rate kinds for small CPU-trained models (log-mel
      front end, Vocos-style iSTFT head, ``encoder_depth`` / ``decoder_depth`` ConvNeXt blocks of width
      ``encoder_dim`` / ``decoder_dim``; the rates then only fix the hop).

    Either way ``hop_length = prod(encoder_rates)`` samples per token frame. ``acoustic_input`` says what the
    acoustic RVQ quantizes: ``"latent"`` is the paper's ``RVQ(Z)``; ``"residual"`` is ``RVQ(Z - Z_Qp - Z_Ql)``, what
    the content streams leave (as SpeechTokenizer's RVQ layers after the first quantize a residual).
    """

    name: str = "hac-14-l16"
    sample_rate: int = 16000
    encoder_kind: str = "dac-cnn"
    encoder_dim: int = 64
    encoder_rates: tuple[int, ...] = (2, 4, 5, 8)
    encoder_depth: int = 1
    latent_dim: int = 1024
    decoder_kind: str = "dac-cnn"
    decoder_dim: int = 1536
    decoder_rates: tuple[int, ...] = (8, 5, 4, 2)
    decoder_depth: int = 1
    acoustic_input: str = "latent"
    acoustic_layers: int = 7
    acoustic_codebook_size: int = 1024
    acoustic_codebook_dim: int = 8
    phonetic: StreamConfig | None = field(default_factory=StreamConfig)
    lexical: StreamConfig | None = field(default_factory=StreamConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoder_rates", tuple(self.encoder_rates))
        object.__setattr__(self, "decoder_rates", tuple(self.decoder_rates))
        _check_sizes(self)
        for key, kinds in (
            ("encoder_kind", ENCODER_KINDS),
            ("decoder_kind", DECODER_KINDS),
            ("acoustic_input", ACOUSTIC_INPUTS),
        ):
            if getattr(self, key) not in kinds:
                raise ConfigError(f"{key} must be one of {', '.join(kinds)}; got {getattr(self, key)!r}.")
        if (self.encoder_kind, self.decoder_kind) != ("dac-cnn", "dac-cnn") and self.hop_length % 2:
            # frames of four hops are centred on each hop's middle: the padding (3 hops / 2) must be whole samples
            raise ConfigError(
                f"the frame-rate encoder and decoder kinds need an even hop length, got {self.hop_length}."
            )
        if self.decoder_kind == "dac-cnn" and self.decoder_dim >> len(self.decoder_rates) < 1:
            raise ConfigError(
                f"decoder_dim {self.decoder_dim} is halved at each of the {len(self.decoder_rates)} decoder stages; "
                f"it must be at least {2 ** len(self.decoder_rates)}."
            )
        if math.prod(self.encoder_rates) != math.prod(self.decoder_rates):
            raise ConfigError(
                f"encoder_rates {self.encoder_rates} and decoder_rates {self.decoder_rates} must have the "
                "same product (the hop length), or decoded audio would not match the input length."
            )
        if self.acoustic_layers < 1:
            raise ConfigError("acoustic_layers must be >= 1: the acoustic RVQ carries what the other streams do not.")
        for stream in (self.phonetic, self.lexical):
            if stream is not None and stream.transformer is not None:
                t = stream.transformer
                if t.width % t.heads or t.width % t.pos_conv_groups:
                    raise ConfigError(
                        f"transformer width {t.width} must be divisible by heads ({t.heads}) and pos_conv_groups "
                        f"({t.pos_conv_groups})."
                    )

    # -- derived quantities -------------------------------------------------------------------
    @property
    def hop_length(self) -> int:
        """Audio samples per token frame (320 at 16 kHz, i.e. 50 Hz)."""
        return math.prod(self.encoder_rates)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    @property
    def streams(self) -> tuple[str, ...]:
        """Names of the token streams this model produces, in the order they are laid out for an LM."""
        names = [n for n in ("lexical", "phonetic") if getattr(self, n) is not None]
        return (*names, "acoustic")

    @property
    def bits_per_frame(self) -> float:
        bits = self.acoustic_layers * math.log2(self.acoustic_codebook_size)
        for stream in (self.phonetic, self.lexical):
            if stream is not None:
                bits += math.log2(stream.codebook_size)
        return bits

    @property
    def bitrate(self) -> float:
        """Bits per second: 4900 for HAC-14 (50 Hz x (7 x 10 + 14 + 14))."""
        return self.frame_rate * self.bits_per_frame

    def vocab_sizes(self) -> dict[str, int]:
        """Codebook size of each stream (``acoustic``: per RVQ layer)."""
        sizes = {"acoustic": self.acoustic_codebook_size}
        for name in ("lexical", "phonetic"):
            stream = getattr(self, name)
            if stream is not None:
                sizes[name] = stream.codebook_size
        return sizes

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HACConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"a HAC config must be a JSON object, got {type(data).__name__}.")
        data = dict(data)
        for key in ("phonetic", "lexical"):
            if data.get(key) is not None:
                data[key] = _build(StreamConfig, data[key], key)
        return _build(cls, data, "config")

    def to_json(self) -> str:
        """The config as JSON text (``checkpoint.save_checkpoint`` writes it as ``config.json``)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> HACConfig:
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            try:
                text = Path(text_or_path).read_text()
            except OSError as err:
                raise ConfigError(f"cannot read config file {text_or_path}: {err}") from err
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise ConfigError(f"config is not valid JSON ({err}); re-export the checkpoint.") from err

    # -- presets --------------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str) -> HACConfig:
        """A config of the model zoo by registry name, e.g. ``HACConfig.preset("hac-14-l16")``."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ConfigError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}.") from None

    @classmethod
    def presets(cls) -> tuple[str, ...]:
        return tuple(PRESETS)


def _check_sizes(config: Any) -> None:
    """Every ``int`` field (and each entry of a ``tuple[int, ...]`` one) is a positive integer.

    A config read from JSON can hold strings, floats or zeros; caught here they name the field,
    instead of failing later as a shape error inside torch.
    """
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        values = value if f.type == "tuple[int, ...]" else (value,) if f.type == "int" else None
        if values is None:
            continue
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            raise ConfigError(
                f"{type(config).__name__}.{f.name} must be {'a non-empty list of ' if f.type != 'int' else 'a '}"
                f"positive integer{'s' if f.type != 'int' else ''}, got {value!r}."
            )


def _build(kind: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object, got {type(data).__name__}.")
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {unknown}; this file was written by another version.")
    if kind is StreamConfig and isinstance(data.get("transformer"), dict):
        data = {**data, "transformer": _build(TransformerConfig, data["transformer"], f"{where}.transformer")}
    try:
        return kind(**data)
    except TypeError as err:
        raise ConfigError(f"{where} is malformed: {err}") from err


# The paper's recipes train on 3.8 s clips (190 frames); attention reaches no further than that.
_PAPER_TRANSFORMER = TransformerConfig(attention_window=190)


def _hac(name: str, bits: int = 14, acoustic_layers: int = 7) -> HACConfig:
    stream = StreamConfig(codebook_size=2**bits, transformer=_PAPER_TRANSFORMER)
    return HACConfig(name=name, acoustic_layers=acoustic_layers, phonetic=stream, lexical=stream)


def _dac(name: str, bits: int) -> HACConfig:
    # DAC-*-HuB-T: 9 VQ layers, the first (phonetic, 128-dim) factored out of the RVQ; no lexical level.
    return HACConfig(
        name=name,
        acoustic_layers=8,
        phonetic=StreamConfig(codebook_size=2**bits, transformer=_PAPER_TRANSFORMER),
        lexical=None,
    )


def tiny_config(name: str = "tiny") -> HACConfig:
    """A few-thousand-parameter model with the full structure, for tests and examples."""
    # An 8-frame attention window: tests on inputs of more than 9 frames run the local-attention path.
    transformer = TransformerConfig(
        layers=1, heads=2, width=16, ffn=32, pos_conv_kernel=8, pos_conv_groups=2, attention_window=8
    )
    stream = StreamConfig(codebook_size=32, codebook_dim=4, transformer=transformer)
    return HACConfig(
        name=name,
        encoder_dim=4,
        latent_dim=32,
        decoder_dim=32,
        acoustic_layers=2,
        acoustic_codebook_size=16,
        acoustic_codebook_dim=4,
        phonetic=stream,
        lexical=stream,
    )


def tiny_frame_config(name: str = "tiny-frame") -> HACConfig:
    """:func:`tiny_config` on the frame-rate kinds (log-mel ConvNeXt encoder, iSTFT decoder, residual RVQ)."""
    return dataclasses.replace(
        tiny_config(name),
        encoder_kind="mel-convnext",
        encoder_dim=16,
        encoder_depth=2,
        decoder_kind="istft",
        decoder_dim=16,
        decoder_depth=2,
        acoustic_input="residual",
    )


def small_config(name: str = "hac-mls8-small") -> HACConfig:
    """The bundled default: the paper's three streams on frame-rate parts that train on 2 CPU cores.

    A log-mel ConvNeXt encoder and a Vocos-style iSTFT decoder replace the DAC CNN, whose waveform-rate
    convolutions were nearly all of a training step's cost; the acoustic RVQ quantizes what the content streams
    leave, so that swapping it changes the voice and keeps the words. Codebooks shrink with the data: a few hours
    of speech cannot fill 16384 entries.
    """
    transformer = TransformerConfig(  # attention reaches as far as a 1.92 s training clip (96 frames)
        layers=2, heads=4, width=192, ffn=768, pos_conv_kernel=32, pos_conv_groups=16, attention_window=96
    )
    return HACConfig(
        name=name,
        encoder_kind="mel-convnext",
        encoder_dim=256,
        encoder_depth=4,
        latent_dim=256,
        decoder_kind="istft",
        decoder_dim=384,
        decoder_depth=6,
        acoustic_input="residual",
        acoustic_layers=4,
        acoustic_codebook_size=1024,
        acoustic_codebook_dim=8,
        phonetic=StreamConfig(codebook_size=512, codebook_dim=32, transformer=transformer),
        lexical=StreamConfig(codebook_size=2048, codebook_dim=32, transformer=transformer),
    )


PRESETS: dict[str, HACConfig] = {
    # Paper's HAC model zoo (Section 3). All HAC-14 variants share this architecture.
    "hac-14-l16": _hac("hac-14-l16"),  # HAC-14-LaBSE-mHuB-T-L16
    "hac-14-en": _hac("hac-14-en"),  # HAC-14-LaBSE-HuB-T-en
    "hac-14-samu-l16": _hac("hac-14-samu-l16"),  # HAC-14-SAMU-mHuB-T-L16
    "hac-14-samu-en": _hac("hac-14-samu-en"),  # HAC-14-SAMU-HuB-T-en
    "hac-10-en": _hac("hac-10-en", bits=10),  # HAC-10-SAMU-HuB-T-en (Table 1, Fig. 5)
    # Single-level baselines that fit this architecture (the ST baseline is EnCodec-based and does not).
    "dac-14-en": _dac("dac-14-en", bits=14),  # DAC-14-HuB-T-en
    "dac-14-l16": _dac("dac-14-l16", bits=14),  # DAC-14-mHuB-T-L16
    "dac-10-en": _dac("dac-10-en", bits=10),  # DAC-10-HuB-T-en
    "hac-mls8-small": small_config(),
    "tiny": tiny_config(),
}
