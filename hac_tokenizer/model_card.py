"""Hub model cards: the ``README.md`` of a checkpoint folder, YAML metadata first, built with huggingface_hub.

Two kinds of facts go into a card, from two places and never typed in twice:

* what the architecture *is* (streams, vocabularies, frame rate, bitrate, parameters) is computed from the
  model and its :class:`~hac_tokenizer.config.HACConfig`;
* what was *measured* (PNMI, PESQ, STOI, ...) comes only from a :class:`ModelFigures` file, ``figures.json``,
  kept beside the checkpoint that was measured (the bundled one's is
  ``hac_tokenizer/checkpoints/hac-mls8-small/figures.json``, the figures of MODEL_CARD.md).

Figures belong to the exact weights they were measured on, named by :func:`weights_fingerprint` (a hash of the
weight *values*, so the fp16 bundled file and an fp32 copy of it share one fingerprint). A model whose weights
differ (fine-tuned, re-trained, randomly initialised) gets a card without measured figures rather than borrowed
ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .atomic import atomic_write
from .errors import ConfigError
from .model import HACModel

if TYPE_CHECKING:  # imported where used: huggingface_hub costs import time and only cards need it
    from huggingface_hub import ModelCard, ModelCardData

FIGURES_NAME = "figures.json"
CARD_NAME = "README.md"
LIBRARY_NAME = "hac-tokenizer"
# The Hub tags codec tokenizers (audio -> discrete codes -> audio) "audio-to-audio", e.g. WavTokenizer.
PIPELINE_TAG = "audio-to-audio"
TAGS = ("audio", "speech", "speech-tokenizer", "audio-codec", "rvq", "hac")
PAPER = (
    "Khurana et al., *Factorized RVQ-GAN for Disentangled Speech Tokenization*, Interspeech 2025 "
    "([hal-05233295](https://hal.science/hal-05233295))"
)
_TASK = "audio-to-audio"
_USAGE = """## Use

```python
from hac_tokenizer import HACTokenizer

tok = HACTokenizer.from_pretrained("<this repo id>")   # or the path of a local copy of this folder
tokens = tok.encode("speech.wav")   # lexical/phonetic [B, T], acoustic [B, N, T]
audio = tok.decode(tokens)          # HACAudio: waveform [B, S]
```"""


def weights_fingerprint(model: HACModel, dtype: torch.dtype = torch.float32) -> str:
    """sha256 of the weight values ``model`` has once stored in ``dtype``, key by key in sorted order.

    Names weights, not files: values are hashed as float32 after the cast to ``dtype`` (what a checkpoint saved
    in ``dtype`` loads back as), so the fp16 bundled file and an fp32 copy of it share one fingerprint, while
    any changed value, or fp32 weights rounded by an fp16 save, gives another.
    """
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        stored = tensor.detach().to("cpu", dtype) if tensor.is_floating_point() else tensor.detach().to("cpu")
        values = np.ascontiguousarray(stored.float().numpy(), dtype="<f4")
        digest.update(f"{key}:{tuple(values.shape)};".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Metric:
    """One measured number. ``type`` is the Hub's metric id (e.g. ``"pesq"``), ``name`` what a reader sees."""

    type: str
    name: str
    value: float


@dataclass(frozen=True)
class Evaluation:
    """Metrics measured on one evaluation set, with how they were measured."""

    dataset_name: str  # what a reader sees, e.g. "held-out synthetic test split (8 languages)"
    dataset_type: str  # an id for the set; a Hub dataset id when the set is on the Hub
    split: str
    method: str  # the command (and date) that printed these figures
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class ModelFigures:
    """What was measured on one set of weights, and the facts of its training a config cannot tell.

    Stored as ``figures.json`` beside the checkpoint; ``weights_fingerprint`` ties it to those weights.
    """

    model: str
    weights_fingerprint: str
    license: str  # an SPDX-style id the Hub knows, e.g. "mit"
    languages: tuple[str, ...]  # ISO 639-1 codes of the training speech
    datasets: tuple[str, ...]  # Hub dataset ids of the training data; empty when none is on the Hub
    training: str  # one paragraph: data, steps, compute
    limitations: str  # one paragraph: what not to use it for
    source: str  # where the full account of these figures is (e.g. "MODEL_CARD.md")
    evaluations: tuple[Evaluation, ...]

    @classmethod
    def from_dict(cls, data: dict) -> ModelFigures:
        try:
            evaluations = tuple(
                Evaluation(**{**e, "metrics": tuple(Metric(**m) for m in e["metrics"])}) for e in data["evaluations"]
            )
            return cls(
                **{
                    **data,
                    "languages": tuple(data["languages"]),
                    "datasets": tuple(data["datasets"]),
                    "evaluations": evaluations,
                }
            )
        except (KeyError, TypeError) as err:
            raise ConfigError(
                f"model figures are malformed ({type(err).__name__}: {err}); every field of ModelFigures, "
                "Evaluation and Metric is required and no other is allowed."
            ) from err

    @classmethod
    def load(cls, path: str | os.PathLike) -> ModelFigures:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read model figures {path} ({err}); it must be a JSON object.") from err
        if not isinstance(data, dict):
            raise ConfigError(f"model figures {path} must hold a JSON object, not {type(data).__name__}.")
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def bundled_figures(
    model: HACModel, root: str | os.PathLike, dtype: torch.dtype = torch.float32
) -> ModelFigures | None:
    """The figures under ``root/*/figures.json`` measured on exactly ``model``'s weights stored in ``dtype``, or None."""
    # Only figures of a model of this name can match: other models are not hashed (a full-size one is 600 MB).
    named = [
        f for f in map(ModelFigures.load, sorted(Path(root).glob(f"*/{FIGURES_NAME}"))) if f.model == model.config.name
    ]
    if not named:
        return None
    fingerprint = weights_fingerprint(model, dtype)
    return next((f for f in named if f.weights_fingerprint == fingerprint), None)


def check_figures(figures: ModelFigures, model: HACModel, dtype: torch.dtype = torch.float32) -> None:
    """Raise :class:`ConfigError` unless ``figures`` were measured on ``model``'s weights as stored in ``dtype``."""
    fingerprint = weights_fingerprint(model, dtype)
    if figures.weights_fingerprint != fingerprint:
        raise ConfigError(
            f"the figures of {figures.model!r} were measured on weights {figures.weights_fingerprint[:12]}..., "
            f"but this model's weights (stored in {dtype}) are {fingerprint[:12]}...: they would describe another "
            "model. Measure this model (hac-eval) and write its own ModelFigures; or, if only the dtype differs, "
            "save in the dtype the figures were measured in."
        )


def card_data(model: HACModel, figures: ModelFigures | None) -> ModelCardData:
    """The card's YAML metadata: library, tags, pipeline, and (with figures) licence, languages, data, results."""
    from huggingface_hub import EvalResult, ModelCardData

    name = model.config.name
    evaluations = figures.evaluations if figures is not None else ()
    results = [
        EvalResult(
            task_type=_TASK,
            dataset_type=e.dataset_type,
            dataset_name=e.dataset_name,
            dataset_split=e.split,
            metric_type=m.type,
            metric_name=m.name,
            metric_value=m.value,
        )
        for e in evaluations
        for m in e.metrics
    ]
    return ModelCardData(
        library_name=LIBRARY_NAME,
        pipeline_tag=PIPELINE_TAG,
        tags=list(TAGS),
        license=figures.license if figures is not None else None,
        language=list(figures.languages) if figures is not None and figures.languages else None,
        datasets=list(figures.datasets) if figures is not None and figures.datasets else None,
        model_name=name,
        eval_results=results or None,
    )


def _architecture(model: HACModel) -> str:
    c = model.config
    parameters = sum(p.numel() for p in model.parameters())
    rows = [("stream", "shape", "vocabulary")]
    sizes = c.vocab_sizes()
    for stream in c.streams:
        size = sizes[stream]
        shape = "[B, N, T]" if stream == "acoustic" else "[B, T]"
        vocabulary = f"{c.acoustic_layers} x {size}" if stream == "acoustic" else str(size)
        rows.append((f"`{stream}`", f"`{shape}`", vocabulary))
    table = "\n".join(f"| {' | '.join(r)} |" for r in [rows[0], ("---",) * 3, *rows[1:]])
    return (
        f"{table}\n\n"
        f"{c.sample_rate} Hz audio, {c.frame_rate:g} frames per second, {c.bits_per_frame:g} bits per frame = "
        f"{c.bitrate:.0f} bps nominal; encoder `{c.encoder_kind}`, decoder `{c.decoder_kind}`, "
        f"{parameters / 1e6:.2f} M parameters. These facts are computed from `config.json`."
    )


def _figures_section(figures: ModelFigures | None) -> str:
    if figures is None:
        return (
            "No measured figures are recorded for these exact weights. Measure them with `hac-eval` "
            "(see the hac-tokenizer README) before relying on the tokens or the decoded audio."
        )
    parts = [
        f"From {figures.source}; measured on exactly these weights (fingerprint `{figures.weights_fingerprint[:16]}`)."
    ]
    for e in figures.evaluations:
        lines = "\n".join(f"| {m.name} | {m.value:g} |" for m in e.metrics)
        parts.append(f"**{e.dataset_name}** ({e.split}; `{e.method}`)\n\n| metric | value |\n|---|---|\n{lines}")
    return "\n\n".join(parts)


def build_card(model: HACModel, figures: ModelFigures | None = None, dtype: torch.dtype = torch.float32) -> ModelCard:
    """The Hub card (``README.md``) of ``model`` saved in ``dtype``: metadata from :func:`card_data`, then a body.

    Raises :class:`ConfigError` if ``figures`` were measured on other weights (:func:`check_figures`).
    """
    from huggingface_hub import ModelCard

    if figures is not None:
        check_figures(figures, model, dtype)
    name = model.config.name
    body = [
        f"# {name}",
        (
            f"A hac-tokenizer checkpoint: a Hierarchical Audio Codec ({PAPER}) that turns 16 kHz speech into "
            "three token streams, lexical, phonetic and acoustic, and decodes them back to audio."
        ),
        _USAGE,
        f"## Architecture\n\n{_architecture(model)}",
        f"## Measured figures\n\n{_figures_section(figures)}",
    ]
    if figures is not None:
        body += [f"## Training\n\n{figures.training}", f"## Limitations\n\n{figures.limitations}"]
    data = card_data(model, figures)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(body) + "\n")


def save_card(directory: str | os.PathLike, card: ModelCard, figures: ModelFigures | None) -> None:
    """Write ``README.md`` and, with figures, ``figures.json`` (so the folder carries them) into ``directory``."""
    directory = Path(directory)
    with atomic_write(directory / CARD_NAME) as f:
        f.write(str(card).encode())
    if figures is not None:
        with atomic_write(directory / FIGURES_NAME) as f:
            f.write(figures.to_json().encode())
