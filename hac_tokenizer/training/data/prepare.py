"""Manifests for public corpora: LibriSpeech, Multilingual LibriSpeech (MLS) and VoxPopuli, with MFA alignments.

Layouts read (as distributed; paths relative to the ``root`` given):

* LibriSpeech: ``<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac`` with
  ``<speaker>-<chapter>.trans.txt`` (``<utt id> <TEXT>`` per line) beside them. ``root`` is the
  ``LibriSpeech`` directory holding the subsets (``train-clean-100``, ``dev-clean``, ...).
* MLS: ``<split>/transcripts.txt`` (``<speaker>_<book>_<utt>\\t<text>``) and
  ``<split>/audio/<speaker>/<book>/<utt id>.flac`` (``.opus`` in the opus release); ``root`` is e.g.
  ``mls_german``; the language comes from that name unless given.
* Recordings by language: ``<language>/**/<label>.<wav|flac|ogg|...>``, e.g. the spoken words that the Debian
  package ``ktuberling-data`` installs under ``/usr/share/ktuberling/sounds``. Every file is one ``test``
  utterance, its transcript the file name; they carry no alignments, so they serve reconstruction and
  codebook metrics on real recorded speech.
* VoxPopuli (after ``python -m voxpopuli.get_asr_data --root R --lang L``):
  ``R/transcribed_data/L/asr_<split>.tsv`` (id, raw_text, normalized_text, speaker_id, split, gender)
  and ``R/transcribed_data/L/<year>/<id>.ogg``; ``root`` is ``R`` or ``R/transcribed_data/L``.

Alignments: Montreal Forced Aligner TextGrids anywhere under ``alignments``, found by utterance id
(``<id>.TextGrid``; MFA mirrors the corpus's directories). With ``alignments``, utterances without a
TextGrid are left out and counted; without it, entries carry text and no word or phone intervals.

Splits: LibriSpeech keeps its subset names (``train-clean-100``, ``test-other``...), MLS and VoxPopuli
map ``dev`` to ``valid``. Speaker ids are prefixed by corpus (``librispeech-103``, ``mls-de-1234``,
``voxpopuli-28217``) so corpora can share a manifest.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from ...audio import list_audio_files
from ...manifest import ManifestEntry
from ..errors import DataError
from .textgrid import read_alignment

MLS_LANGUAGE_CODES = {
    "english": "en",
    "german": "de",
    "dutch": "nl",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "polish": "pl",
}
SPLIT_NAMES = {"dev": "valid", "train": "train", "test": "test"}


@dataclass(frozen=True)
class Utterance:
    """What a corpus says about one recording, before alignments are attached."""

    id: str
    audio: Path
    text: str
    speaker: str
    split: str


@dataclass
class PreparedCorpus:
    """Manifest entries and what was left out, for the report."""

    entries: list[ManifestEntry] = field(default_factory=list)
    missing_audio: list[str] = field(default_factory=list)
    unreadable_audio: list[str] = field(default_factory=list)
    missing_alignment: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """Ids the corpus lists whose audio is missing or unreadable (no TextGrid is MFA's verdict, not a failure)."""
        return self.missing_audio + self.unreadable_audio

    def summary(self) -> str:
        hours = sum(e.duration for e in self.entries) / 3600
        return (
            f"{len(self.entries)} utterances ({hours:.2f} h); left out: {len(self.missing_audio)} without audio, "
            f"{len(self.unreadable_audio)} unreadable, {len(self.missing_alignment)} without a TextGrid"
        )


def index_textgrids(alignments: str | os.PathLike) -> dict[str, Path]:
    """Every ``*.TextGrid`` under a directory, by file stem (the utterance id)."""
    alignments = Path(alignments)
    if not alignments.is_dir():
        raise DataError(f"alignment directory not found: {alignments} (point it at MFA's output directory).")
    return {p.stem: p for p in sorted(alignments.rglob("*.TextGrid"))}


def build_manifest(
    utterances: Iterable[Utterance], language: str, alignments: str | os.PathLike | None = None
) -> PreparedCorpus:
    """Entries for utterances whose audio exists (and TextGrid, when ``alignments`` is given)."""
    textgrids = index_textgrids(alignments) if alignments is not None else None
    corpus = PreparedCorpus()
    for utt in utterances:
        if not utt.audio.is_file():
            corpus.missing_audio.append(utt.id)
            continue
        words, phones = (), ()
        if textgrids is not None:
            if utt.id not in textgrids:
                corpus.missing_alignment.append(utt.id)
                continue
            words, phones = read_alignment(textgrids[utt.id])
        try:
            info = sf.info(str(utt.audio))
        except RuntimeError:  # soundfile's LibsndfileError: a corrupt or truncated file is one failed utterance
            corpus.unreadable_audio.append(utt.id)
            continue
        corpus.entries.append(
            ManifestEntry(
                id=utt.id,
                audio=utt.audio.resolve(),
                duration=info.frames / info.samplerate,
                language=language,
                speaker=utt.speaker,
                sample_rate=info.samplerate,
                text=utt.text,
                split=utt.split,
                words=words,
                phones=phones,
            )
        )
    return corpus


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as f:
        yield from (line.rstrip("\n") for line in f if line.strip())


def librispeech_utterances(root: str | os.PathLike, subsets: Iterable[str] | None = None) -> Iterator[Utterance]:
    """Utterances of the LibriSpeech subsets under ``root`` (all subsets found when ``subsets`` is None)."""
    root = Path(root)
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if subsets is None else list(subsets)
    for subset in names:
        if not (root / subset).is_dir():
            raise DataError(f"LibriSpeech subset {subset!r} not found under {root}.")
        for transcript in sorted((root / subset).glob("*/*/*.trans.txt")):
            for line in _lines(transcript):
                utt_id, _, text = line.partition(" ")
                yield Utterance(
                    utt_id,
                    transcript.parent / f"{utt_id}.flac",
                    text.strip(),
                    f"librispeech-{utt_id.split('-')[0]}",
                    subset,
                )


def mls_language(root: str | os.PathLike) -> str:
    """Language code from an MLS directory name such as ``mls_german`` or ``mls_german_opus``."""
    parts = Path(root).resolve().name.lower().split("_")
    for part in parts:
        if part in MLS_LANGUAGE_CODES:
            return MLS_LANGUAGE_CODES[part]
    raise DataError(f"cannot tell the language of {root} from its name; pass language= (e.g. 'de').")


def mls_utterances(
    root: str | os.PathLike, language: str, splits: Iterable[str] = ("train", "dev", "test")
) -> Iterator[Utterance]:
    """Utterances of an MLS language directory (flac or opus release)."""
    root = Path(root)
    for split in splits:
        transcripts = root / split / "transcripts.txt"
        if not transcripts.is_file():
            raise DataError(f"MLS transcripts not found: {transcripts}.")
        for line in _lines(transcripts):
            utt_id, _, text = line.partition("\t")
            parts = utt_id.split("_")
            if len(parts) != 3:
                raise DataError(f"{transcripts}: id {utt_id!r} is not <speaker>_<book>_<utterance>; is this MLS?")
            speaker, book, _ = parts
            folder = root / split / "audio" / speaker / book
            audio = folder / f"{utt_id}.flac"
            if not audio.is_file() and (folder / f"{utt_id}.opus").is_file():
                audio = folder / f"{utt_id}.opus"
            yield Utterance(utt_id, audio, text.strip(), f"mls-{language}-{speaker}", SPLIT_NAMES.get(split, split))


def voxpopuli_dir(root: str | os.PathLike, language: str) -> Path:
    """The ``transcribed_data/<language>`` directory, given it or the VoxPopuli root above it."""
    root = Path(root)
    for candidate in (root, root / "transcribed_data" / language):
        if any(candidate.glob("asr_*.tsv")):
            return candidate
    raise DataError(
        f"no asr_<split>.tsv under {root} or {root / 'transcribed_data' / language}; "
        "run `python -m voxpopuli.get_asr_data --root ROOT --lang LANG` first."
    )


def voxpopuli_utterances(
    root: str | os.PathLike, language: str, splits: Iterable[str] = ("train", "dev", "test")
) -> Iterator[Utterance]:
    """Utterances of one VoxPopuli language (normalised text)."""
    folder = voxpopuli_dir(root, language)
    for split in splits:
        tsv = folder / f"asr_{split}.tsv"
        if not tsv.is_file():
            raise DataError(f"VoxPopuli manifest not found: {tsv}.")
        with tsv.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                utt_id = row["id"]
                yield Utterance(
                    utt_id,
                    folder / utt_id[:4] / f"{utt_id}.ogg",
                    row["normalized_text"].strip(),
                    f"voxpopuli-{row['speaker_id']}",
                    SPLIT_NAMES.get(split, split),
                )


def recording_utterances(root: str | os.PathLike, language: str) -> Iterator[Utterance]:
    """Every audio file under ``root/language``, one ``test`` utterance each (speaker: one per corpus and language)."""
    folder = Path(root) / language
    if not folder.is_dir():
        raise DataError(f"no folder {folder}; --root must hold one folder per language code.")
    for path in list_audio_files(folder):
        label = path.relative_to(folder).with_suffix("").as_posix()
        yield Utterance(
            f"{Path(root).name}-{language}-{label.replace('/', '-')}",
            path,
            path.stem.replace("_", " "),
            f"{Path(root).name}-{language}",
            "test",
        )


def prepare_recordings(root: str | os.PathLike, languages: Iterable[str]) -> PreparedCorpus:
    corpus = PreparedCorpus()
    for language in languages:
        part = build_manifest(recording_utterances(root, language), language)
        if not part.entries and not part.failed:
            raise DataError(f"no audio files under {Path(root) / language}.")
        corpus.entries += part.entries
        corpus.unreadable_audio += part.unreadable_audio
    return corpus


def prepare_librispeech(
    root: str | os.PathLike, alignments: str | os.PathLike | None = None, subsets: Iterable[str] | None = None
) -> PreparedCorpus:
    return build_manifest(librispeech_utterances(root, subsets), "en", alignments)


def prepare_mls(
    root: str | os.PathLike,
    alignments: str | os.PathLike | None = None,
    language: str | None = None,
    splits: Iterable[str] = ("train", "dev", "test"),
) -> PreparedCorpus:
    language = language or mls_language(root)
    return build_manifest(mls_utterances(root, language, splits), language, alignments)


def prepare_voxpopuli(
    root: str | os.PathLike,
    language: str,
    alignments: str | os.PathLike | None = None,
    splits: Iterable[str] = ("train", "dev", "test"),
) -> PreparedCorpus:
    return build_manifest(voxpopuli_utterances(root, language, splits), language, alignments)
