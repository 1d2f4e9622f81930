"""The factory that maps a teacher spec (a config dict) to a teacher; it imports only what that kind needs.

Spec kinds::

    {"kind": "hubert", "path": "facebook/hubert-base-ls960", "layers": "all"}   # also mHuBERT, any wav2vec2-like
    {"kind": "labse", "path": "sentence-transformers/LaBSE"}                    # aligned words, needs transcripts
    {"kind": "samu", "path": "/models/samu-xlsr"}                                # utterance embedding, no transcripts
    {"kind": "panphon"}                                                          # offline: aligned IPA phones
    {"kind": "phone-identity"}                                                   # offline: panphon + phone code
    {"kind": "word-vectors"}                                                     # offline: all-MiniLM-L6-v2 package
    {"kind": "word-form", "dim": 256}                                            # offline: aligned words' phone strings
    {"kind": "cached", "path": "cache/hubert", "dim": 768}                     # features precomputed to disk

Any kind may add ``"centre": true``: its targets are then centred on each clip's mean (``base.centre_on_clips``),
for teachers whose features share a common direction that a constant student would match.

Timing comes from the model being trained, never from the spec: the caller passes the model's ``sample_rate``
and ``hop_length`` (``HACConfig``), and targets are at ``sample_rate / hop_length`` frames per second. A spec may
still name a ``frame_rate``; it must then equal the model's.
"""

from __future__ import annotations

from ..errors import TeacherError
from .base import ClipCentredTeacher, Teacher


def _require(spec: dict, key: str) -> object:
    if key not in spec:
        raise TeacherError(f"teacher spec {spec} needs a {key!r} entry (a local directory or a Hub id for 'path').")
    return spec[key]


def _frame_rate(spec: dict, sample_rate: int, hop_length: int) -> float:
    frame_rate = sample_rate / hop_length
    asked = spec.get("frame_rate", frame_rate)
    if isinstance(asked, bool) or not isinstance(asked, (int, float)) or asked != frame_rate:
        raise TeacherError(
            f"teacher spec {spec} asks for {spec['frame_rate']} frames/s, but the model makes {frame_rate:g} "
            f"({sample_rate} Hz / hop {hop_length}); drop frame_rate from the spec (the model's is used)."
        )
    return frame_rate


def build_teacher(spec: dict, *, sample_rate: int, hop_length: int) -> Teacher:
    """Build the teacher a config describes for a model at ``sample_rate`` Hz with ``hop_length`` samples per frame."""
    centre = spec.get("centre", False)
    if not isinstance(centre, bool):
        raise TeacherError(f"teacher spec {spec}: 'centre' is true or false, not {centre!r}.")
    teacher = _build(spec, sample_rate, hop_length)
    return ClipCentredTeacher(teacher) if centre else teacher


def _build(spec: dict, sample_rate: int, hop_length: int) -> Teacher:
    kind = spec.get("kind")
    frame_rate = _frame_rate(spec, sample_rate, hop_length)
    if kind in ("hubert", "mhubert", "wav2vec2"):
        from .hubert import HubertTeacher

        path = str(_require(spec, "path"))
        return HubertTeacher(path, sample_rate=sample_rate, frame_rate=frame_rate, layers=spec.get("layers", "all"))
    if kind == "labse":
        from .labse import WordEmbeddingTeacher

        return WordEmbeddingTeacher.from_pretrained(
            str(_require(spec, "path")), frame_rate, pooling=spec.get("pooling", "auto")
        )
    if kind == "word-vectors":
        from .word_vectors import packaged_word_teacher

        return packaged_word_teacher(frame_rate)
    if kind == "word-form":
        from .word_form import WordFormTeacher

        return WordFormTeacher(frame_rate, spec.get("dim", 256))
    if kind == "samu":
        from .samu import SamuTeacher

        return SamuTeacher(str(_require(spec, "path")), sample_rate=sample_rate)
    if kind == "panphon":
        from .panphon_features import PanphonTeacher

        return PanphonTeacher(frame_rate)
    if kind == "phone-identity":
        from .phone_identity import PhoneIdentityTeacher

        return PhoneIdentityTeacher(frame_rate)
    if kind == "cached":
        from .cache import CachedTeacher

        return CachedTeacher(str(_require(spec, "path")), frame_rate)
    raise TeacherError(
        f"unknown teacher kind {kind!r}; use one of hubert, mhubert, wav2vec2, labse, samu, panphon, phone-identity, word-vectors, "
        "word-form, cached."
    )
