"""Word-detection F1 of single tokens (Harwath, Hsu & Glass, ICLR 2020, as used by the HAC paper, Fig. 4/6).

Every token id ``k`` of a stream is treated as a detector of every word type ``w``. The unit of
counting is a word *segment* (one aligned occurrence of a word): ``k`` fires on a segment if it occurs
on at least one frame of it. Over all word segments of the manifest::

    precision(w, k) = #segments of type w where k fires / #segments (of any type) where k fires
    recall(w, k)    = #segments of type w where k fires / #segments of type w
    F1(w, k)        = 2 precision recall / (precision + recall)

A token's score is its best F1 over word types. We report the maximum F1 of the stream and, for each
threshold in (0.3, 0.5, 0.7, 0.9), how many tokens score strictly above it (the paper's curves).
Word types with fewer than ``min_word_count`` segments are not candidates (their segments still count in
the precision denominators), because a word seen once is trivially "detected" by any token unique to it.
Word types are distinguished by language (``en:the`` and ``nl:the`` differ) by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import EvaluationError

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True)
class WordSegment:
    """One aligned word occurrence and the tokens of its frames."""

    word: str
    tokens: np.ndarray  # [F] token ids of the segment's frames


@dataclass(frozen=True)
class Detector:
    token: int
    word: str
    f1: float
    precision: float
    recall: float


@dataclass(frozen=True)
class WordDetectionResult:
    max_f1: float
    above: dict[float, int]  # threshold -> number of tokens whose best F1 exceeds it
    top: list[Detector]  # best (token, word) pairs, best first
    num_segments: int
    num_word_types: int  # candidate types (at least min_word_count segments)
    num_tokens: int  # distinct tokens seen on word segments

    def to_dict(self) -> dict:
        return {
            "max_f1": self.max_f1,
            "tokens_above": {f"{t:g}": n for t, n in self.above.items()},
            "top_detectors": [d.__dict__ for d in self.top],
            "num_segments": self.num_segments,
            "num_word_types": self.num_word_types,
            "num_tokens": self.num_tokens,
        }


def _presence(segments: Sequence[WordSegment]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (segment index, token) pairs: which tokens fire on which segment."""
    seg_ids = np.concatenate([np.full(len(s.tokens), i) for i, s in enumerate(segments)])
    tokens = np.concatenate([np.asarray(s.tokens, dtype=np.int64) for s in segments])
    pairs = np.unique(np.stack([seg_ids, tokens], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def word_detection(
    segments: Sequence[WordSegment],
    thresholds: Sequence[float] = THRESHOLDS,
    min_word_count: int = 1,
    top_k: int = 10,
) -> WordDetectionResult:
    """F1 of every (word type, token) pair over ``segments``; see the module docstring."""
    segments = [s for s in segments if len(s.tokens) > 0]
    if not segments:
        raise EvaluationError("no word segment covers a frame: word detection needs word alignments in the manifest.")
    word_names, word_of_segment = np.unique([s.word for s in segments], return_inverse=True)
    segments_per_word = np.bincount(word_of_segment, minlength=len(word_names))
    if segments_per_word.max() < min_word_count:
        raise EvaluationError(
            f"no word type occurs {min_word_count} times; lower min_word_count or use more utterances."
        )
    seg_ids, tokens = _presence(segments)
    token_names, token_ids = np.unique(tokens, return_inverse=True)
    segments_per_token = np.bincount(token_ids, minlength=len(token_names))

    pair_words = word_of_segment[seg_ids]
    keys, hits = np.unique(pair_words * len(token_names) + token_ids, return_counts=True)
    words, toks = np.divmod(keys, len(token_names))
    candidate = segments_per_word[words] >= min_word_count
    words, toks, hits = words[candidate], toks[candidate], hits[candidate]
    precision = hits / segments_per_token[toks]
    recall = hits / segments_per_word[words]
    f1 = 2 * precision * recall / (precision + recall)

    best = np.zeros(len(token_names))
    np.maximum.at(best, toks, f1)
    order = np.argsort(-f1, kind="stable")[:top_k]
    top = [
        Detector(
            int(token_names[toks[i]]), str(word_names[words[i]]), float(f1[i]), float(precision[i]), float(recall[i])
        )
        for i in order
    ]
    return WordDetectionResult(
        max_f1=float(best.max(initial=0.0)),
        above={float(t): int((best > t).sum()) for t in thresholds},
        top=top,
        num_segments=len(segments),
        num_word_types=int((segments_per_word >= min_word_count).sum()),
        num_tokens=len(token_names),
    )
