"""The factory that maps a teacher spec (a config dict) to a teacher; it imports only what that kind needs.

Spec kinds::

    {"kind": "hubert", "path": "facebook/hubert-base-ls960", "layers": "all"}   # also mHuBERT, any wav2vec2-like
    {"kind": "labse", "path": "sentence-transformers/LaBSE"}                    # aligned words, needs transcripts
    {"kind": "samu", "path": "/models/samu-xlsr"}                                # utterance embedding, no transcripts
    {"kind": "panphon"}                                                          # offline: aligned IPA phones
    {"kind": "phone-identity"}                                                   # offline: panphon + phone code
    {"kind": "word-vectors"}                                                     # offline: all-MiniLM-L6-v2 package
    {"kind": "cached", "path": "cache/hubert", "dim": 768}                     # features precomputed to disk

Every kind accepts ``frame_rate`` (default 50.0).
"""

from __future__ import annotations

from .base import FRAME_RATE, Teacher, TeacherError


def _require(spec: dict, key: str) -> object:
    if key not in spec:
        raise TeacherError(f"teacher spec {spec} needs a {key!r} entry (a local directory or a Hub id for 'path').")
    return spec[key]


def build_teacher(spec: dict) -> Teacher:
    """Build the teacher a config describes; imports only what that kind needs."""
    kind = spec.get("kind")
    frame_rate = float(spec.get("frame_rate", FRAME_RATE))
    if kind in ("hubert", "mhubert", "wav2vec2"):
        from .hubert import HubertTeacher

        return HubertTeacher(str(_require(spec, "path")), layers=spec.get("layers", "all"), frame_rate=frame_rate)
    if kind == "labse":
        from .labse import WordEmbeddingTeacher

        return WordEmbeddingTeacher.from_pretrained(
            str(_require(spec, "path")), pooling=spec.get("pooling", "auto"), frame_rate=frame_rate
        )
    if kind == "word-vectors":
        from .word_vectors import packaged_word_teacher

        return packaged_word_teacher(frame_rate=frame_rate)
    if kind == "samu":
        from .samu import SamuTeacher

        return SamuTeacher(str(_require(spec, "path")))
    if kind == "panphon":
        from .panphon_features import PanphonTeacher

        return PanphonTeacher(frame_rate=frame_rate)
    if kind == "phone-identity":
        from .phone_identity import PhoneIdentityTeacher

        return PhoneIdentityTeacher(frame_rate=frame_rate)
    if kind == "cached":
        from .cache import CachedTeacher

        return CachedTeacher(str(_require(spec, "path")))
    raise TeacherError(
        f"unknown teacher kind {kind!r}; use one of hubert, mhubert, wav2vec2, labse, samu, panphon, phone-identity, word-vectors, cached."
    )
