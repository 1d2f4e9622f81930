"""Encode a manifest in batches and keep, per utterance, what the metrics read.

Per utterance: the valid frames' codes of each stream, the stream's *token-embedding features*, the
frame phone labels, and the reconstruction scores of the full decode and of each stream-subset decode.

Token-embedding features (used by ABX and the probes): the codebook vector of each frame's token in the
quantizer's own lookup space, L2-normalised (the space where the quantizer compares codes by cosine);
for the acoustic stream the N RVQ layers' vectors are concatenated. The embedding each stream adds to
``Z_Q`` is a fixed linear map of these vectors, so a linear probe reads the same information from either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..audio import to_mono_items
from ..manifest import ManifestEntry, frame_labels
from ..tokenizer import HACTokenizer
from ..tokens import HACAudio, HACTokens
from .reconstruction import ReconstructionMetrics


@dataclass
class Utterance:
    """What the metrics need from one manifest entry (valid frames only, T of them)."""

    entry: ManifestEntry
    codes: dict[str, np.ndarray]  # "lexical"/"phonetic": [T]; "acoustic": [N, T]
    features: dict[str, Tensor]  # per stream [T, d] token-embedding features (CPU)
    phones: list[str | None]  # [T] frame phone labels
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # decode name -> metric -> value

    @property
    def num_frames(self) -> int:
        return len(self.phones)


def token_features(tok: HACTokenizer, tokens: HACTokens) -> dict[str, Tensor]:
    """Per stream ``[B, T, d]`` normalised code vectors (padding frames hold code 0's vector)."""
    model, out = tok.model, {}
    with torch.inference_mode():
        for name, stream in model.streams().items():
            codes = getattr(tokens, name)
            if codes is not None:
                out[name] = F.normalize(stream.vq.codebook(codes.clamp_min(0)).float(), dim=-1)
        if tokens.acoustic is not None:
            layers = [
                F.normalize(layer.codebook(c.clamp_min(0)).float(), dim=-1)
                for layer, c in zip(model.acoustic.layers, tokens.acoustic.unbind(1))
            ]
            out["acoustic"] = torch.cat(layers, dim=-1)
    return out


def _batches(entries: Sequence[ManifestEntry], batch_size: int) -> Iterator[list[ManifestEntry]]:
    # sorting by duration keeps padding (wasted compute) small
    ordered = sorted(entries, key=lambda e: e.duration)
    for begin in range(0, len(ordered), batch_size):
        yield ordered[begin : begin + batch_size]


@dataclass(frozen=True)
class CollectOptions:
    batch_size: int = 8
    decodes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> streams; "full" uses tok.decode
    metrics: ReconstructionMetrics | None = None  # None: no decoding
    example_count: int = 1  # utterances whose waveforms are kept for plots


@dataclass
class Collected:
    utterances: list[Utterance]
    examples: list[dict[str, np.ndarray]]  # {"original": [S], decode name: [S]} for the first utterances


def decode_all(tok: HACTokenizer, tokens: HACTokens, decodes: Mapping[str, tuple[str, ...]]) -> dict[str, HACAudio]:
    """Every named decode of a batch: ``full`` through the public ``decode``, the others from their streams."""
    return {
        name: tok.decode(tokens) if name == "full" else tok.decode_streams(tokens, streams)
        for name, streams in decodes.items()
    }


def _utterance(
    entry: ManifestEntry, tokens: HACTokens, features: Mapping[str, Tensor], b: int, frame_rate: float
) -> Utterance:
    """Item ``b`` of a batch, cut to its valid frames."""
    t = int(tokens.lengths[b])
    return Utterance(
        entry=entry,
        codes={name: c[b, ..., :t].cpu().numpy() for name, c in tokens.streams().items()},
        features={name: f[b, :t].cpu() for name, f in features.items()},
        phones=frame_labels(entry.phones, t, frame_rate),
    )


def collect(
    tok: HACTokenizer,
    entries: Sequence[ManifestEntry],
    options: CollectOptions,
    progress: Callable[[int], None] = lambda n: None,
) -> Collected:
    """Encode (and decode) ``entries`` batch by batch; ``progress(n)`` is called after each batch of n."""
    utterances, examples = [], []
    for batch in _batches(entries, options.batch_size):
        audio = to_mono_items([e.audio for e in batch], None, tok.sample_rate)
        tokens = tok.encode(audio, sample_rate=tok.sample_rate)
        features = token_features(tok, tokens)
        decoded = decode_all(tok, tokens, options.decodes) if options.metrics is not None else {}
        for b, entry in enumerate(batch):
            utterance = _utterance(entry, tokens, features, b, tok.frame_rate)
            if decoded:
                reference = audio[b].to(tok.device)
                estimates = torch.stack([result.waveform[b, : len(reference)] for result in decoded.values()])  # [K, S]
                scores = options.metrics.score(reference, estimates, tok.sample_rate)
                utterance.scores = dict(zip(decoded, scores))
            if len(examples) < options.example_count:
                examples.append(
                    {"original": audio[b].numpy(), **{n: r.unbatch()[b].cpu().numpy() for n, r in decoded.items()}}
                )
            utterances.append(utterance)
        progress(len(batch))
    return Collected(utterances, examples)


def acoustic_layers(codes: np.ndarray) -> dict[str, np.ndarray]:
    """``[N, T]`` acoustic codes -> ``{"acoustic.0": [T], ...}``: layers from 0, coarsest first (as in ``lm``)."""
    return {f"acoustic.{n}": layer for n, layer in enumerate(codes)}
