"""Run every metric group on a manifest: the engine behind ``hac-eval``.

Streams are named ``lexical``, ``phonetic``, ``acoustic`` (all RVQ layers together: ABX, probes) and
``acoustic.0`` .. ``acoustic.{N-1}`` (one RVQ layer: PNMI, word detection, codebook usage). Every metric
reads valid frames only; frames are at the model's frame rate and a frame's phone/word is the
interval holding its centre. A metric group that the data cannot support (no word alignments, a single
speaker, ...) is reported as ``{"skipped": reason}`` instead of failing the whole run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..manifest import ManifestEntry
from ..tokenizer import HACTokenizer
from ..tokens import STREAMS
from .abx import abx_error, frame_index, sample_triplets, triphones
from .codebook import bitrate, codebook_usage
from .collect import Collected, CollectOptions, Utterance, acoustic_layers, collect
from .errors import EvaluationError
from .pnmi import pnmi, shuffled_pnmi
from .probes import phone_probe, speaker_probe
from .reconstruction import default_metrics
from .word_detection import WordSegment, word_detection

METRIC_GROUPS = ("pnmi", "word_detection", "abx", "codebook", "reconstruction", "probes")
FEATURES = (
    "token embeddings: L2-normalised codebook vectors in each quantizer's lookup space "
    "(acoustic: RVQ layers concatenated)"
)


@dataclass(frozen=True)
class EvalOptions:
    metrics: tuple[str, ...] = METRIC_GROUPS
    batch_size: int = 8
    ablations: tuple[tuple[str, ...], ...] = (("lexical", "phonetic"), ("acoustic",))  # stream subsets to decode from
    min_word_count: int = 2  # a word seen once is 'detected' by any token unique to it
    abx_max_triplets: int = 5000
    abx_max_per_cell: int = 5
    probe_test_fraction: float = 0.3
    seed: int = 0


def frame_streams(utterance: Utterance) -> dict[str, np.ndarray]:
    """``[T]`` codes per single-token stream: lexical, phonetic, acoustic.0 .. acoustic.{N-1}."""
    codes = {name: c for name, c in utterance.codes.items() if name != "acoustic"}
    if "acoustic" in utterance.codes:
        codes.update(acoustic_layers(utterance.codes["acoustic"]))
    return codes


def _guarded(group: Callable[[], dict]) -> dict:
    try:
        return group()
    except EvaluationError as err:
        return {"skipped": str(err)}


# -- token-linguistics metrics ------------------------------------------------------------------------
def _pnmi_and_floor(group: Sequence[Utterance], stream: str) -> tuple[float, float]:
    """PNMI of ``stream`` over the labelled frames of all utterances in ``group``, and its shuffled floor."""
    phones, tokens = [], []
    for u in group:
        keep = [t for t, p in enumerate(u.phones) if p is not None]
        phones += [u.phones[t] for t in keep]
        tokens.append(frame_streams(u)[stream][keep])
    labels, codes = np.asarray(phones, dtype=str), np.concatenate(tokens)
    return pnmi(labels, codes), shuffled_pnmi(labels, codes)


def _language_pnmi(group: Sequence[Utterance], stream: str) -> tuple[float | None, float | None]:
    try:
        return _pnmi_and_floor(group, stream)
    except EvaluationError:
        return None, None  # a language without labelled frames (or with one phone) has no PNMI


def _mean(values: Mapping[str, float | None]) -> float | None:
    valid = [v for v in values.values() if v is not None]
    return float(np.mean(valid)) if valid else None


def pnmi_metrics(utterances: Sequence[Utterance]) -> dict:
    """PNMI per stream over all labelled frames, per language, and the mean over languages; each with its
    ``_shuffled`` floor (:func:`~hac_tokenizer.evaluation.pnmi.shuffled_pnmi`: the estimator's bias on this set)."""
    by_language: dict[str, list[Utterance]] = defaultdict(list)
    for u in utterances:
        by_language[u.entry.language].append(u)
    out = {}
    for stream in frame_streams(utterances[0]):
        pairs = {lang: _language_pnmi(group, stream) for lang, group in sorted(by_language.items())}
        per_language = {lang: value for lang, (value, _) in pairs.items()}
        floors = {lang: floor for lang, (_, floor) in pairs.items()}
        pooled, pooled_floor = _pnmi_and_floor(utterances, stream)
        out[stream] = {
            "all": pooled,
            "all_shuffled": pooled_floor,
            "per_language": per_language,
            "per_language_shuffled": floors,
            "language_mean": _mean(per_language),
            "language_mean_shuffled": _mean(floors),
        }
    return out


def word_metrics(utterances: Sequence[Utterance], frame_rate: float, min_word_count: int) -> dict:
    out = {}
    for stream in frame_streams(utterances[0]):
        segments = [
            WordSegment(
                f"{u.entry.language}:{w.label}",
                frame_streams(u)[stream][frame_index(w.start, frame_rate) : frame_index(w.end, frame_rate)],
            )
            for u in utterances
            for w in u.entry.words
        ]
        out[stream] = word_detection(segments, min_word_count=min_word_count).to_dict()
    return out


def abx_metrics(utterances: Sequence[Utterance], frame_rate: float, options: EvalOptions, device) -> dict:
    items = [
        item
        for i, u in enumerate(utterances)
        for item in triphones(i, u.entry.phones, u.entry.speaker, u.num_frames, frame_rate)
    ]
    out: dict = {"features": FEATURES, "distance": "DTW, angular distance arccos(cos)/pi, path-averaged"}
    for mode in ("within", "across"):
        try:
            triplets = sample_triplets(items, mode, options.abx_max_per_cell, options.abx_max_triplets, options.seed)
        except EvaluationError as err:
            out[mode] = {"skipped": str(err)}
            continue
        out[mode] = {"triplets": len(triplets)}
        for stream in utterances[0].features:
            features = [utterances[item.utterance].features[stream][item.start : item.end] for item in items]
            out[mode][stream] = abx_error(features, triplets, device)
    return out


def codebook_metrics(utterances: Sequence[Utterance], tok: HACTokenizer) -> dict:
    sizes = tok.config.vocab_sizes()
    usages = {}
    for stream in frame_streams(utterances[0]):
        codes = np.concatenate([frame_streams(u)[stream] for u in utterances])
        usages[stream] = codebook_usage(codes, sizes[stream.split(".")[0]])
    return {
        "streams": {name: u.to_dict() for name, u in usages.items()},
        "bitrate": bitrate(usages, tok.frame_rate).to_dict(),
    }


# -- reconstruction and probes -------------------------------------------------------------------------
def reconstruction_summary(utterances: Sequence[Utterance]) -> dict:
    """Mean of each metric per decode over utterances where it could be computed, and how many failed."""
    out: dict = {}
    for decode in utterances[0].scores:
        out[decode] = {}
        for metric in utterances[0].scores[decode]:
            values = [u.scores[decode][metric] for u in utterances]
            ok = [v for v in values if v is not None and math.isfinite(v)]
            out[decode][metric] = {
                "mean": float(np.mean(ok)) if ok else None,
                "count": len(ok),
                "failed": len(values) - len(ok),
            }
    return out


def _stream_probes(utterances: Sequence[Utterance], stream: str, options: EvalOptions, device) -> tuple[dict, dict]:
    """Speaker and phone probe results of one stream (each ``{"skipped": why}`` when the data cannot support it)."""
    speakers = [u.entry.speaker for u in utterances]
    pooled = torch.stack([u.features[stream].mean(0) for u in utterances]).to(device)  # [U, d]
    frames = [u.features[stream].to(device) for u in utterances]
    split = (options.probe_test_fraction, options.seed)
    speaker = _guarded(lambda: speaker_probe(pooled, speakers, *split).to_dict())
    phone = _guarded(lambda: phone_probe(frames, [u.phones for u in utterances], *split).to_dict())
    return speaker, phone


def probe_metrics(utterances: Sequence[Utterance], options: EvalOptions, device) -> dict:
    out: dict = {"speaker": {}, "phone": {}, "features": FEATURES}
    for stream in utterances[0].features:
        out["speaker"][stream], out["phone"][stream] = _stream_probes(utterances, stream, options, device)
    return out


# -- the whole run ----------------------------------------------------------------------------------------
def collect_manifest(tok: HACTokenizer, entries: Sequence[ManifestEntry], options: EvalOptions, progress) -> Collected:
    """Encode, and decode when reconstruction is asked, every entry (``progress(n)`` after each batch)."""
    if not entries:
        raise EvaluationError("the manifest has no entries (check --split and the file).")
    available = tok.config.streams
    unknown = sorted({s for subset in options.ablations for s in subset} - set(STREAMS))
    if unknown:
        raise EvaluationError(f"unknown streams {unknown} in the ablations; use {'/'.join(STREAMS)} joined by '+'.")
    decodes = {"full": available}
    for subset in options.ablations:
        kept = tuple(s for s in available if s in subset)
        if kept and kept != available:
            decodes["+".join(kept)] = kept
    wanted = "reconstruction" in options.metrics
    collect_options = CollectOptions(options.batch_size, decodes, default_metrics() if wanted else None)
    return collect(tok, entries, collect_options, progress)


def evaluate(
    tok: HACTokenizer,
    collected: Collected,
    options: EvalOptions,
    progress: Callable[[str], None] = lambda name: None,
) -> dict:
    """All requested metric groups on collected utterances, as a JSON-ready dict (``progress(group)`` after each)."""
    utterances, device, rate = collected.utterances, tok.device, tok.frame_rate
    groups: dict[str, Callable[[], dict]] = {
        "pnmi": lambda: pnmi_metrics(utterances),
        "word_detection": lambda: word_metrics(utterances, rate, options.min_word_count),
        "abx": lambda: abx_metrics(utterances, rate, options, device),
        "codebook": lambda: codebook_metrics(utterances, tok),
        "reconstruction": lambda: reconstruction_summary(utterances),
        "probes": lambda: probe_metrics(utterances, options, device),
    }
    results: dict = {
        "model": tok.name,
        "utterances": len(utterances),
        "frames": sum(u.num_frames for u in utterances),
        "seconds": sum(u.num_frames for u in utterances) / rate,
        "languages": sorted({u.entry.language for u in utterances}),
        "speakers": len({u.entry.speaker for u in utterances}),
    }
    for name in options.metrics:
        results[name] = _guarded(groups[name])
        progress(name)
    return results
