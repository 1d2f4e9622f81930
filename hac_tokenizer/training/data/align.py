"""Forced alignment of English recordings with PocketSphinx: word and phone intervals for manifest entries.

Phonetic PNMI and word detection need frame labels. For real recorded speech without Montreal Forced
Aligner output, this module aligns each entry's known text with PocketSphinx (PyPI ``pocketsphinx`` 5.x,
BSD licence), which ships a US English acoustic model and CMUdict, so the whole step runs offline.

Per entry:

1. **Text** (``normalize_text``): lower case; stage directions in ``()``, ``[]`` or ``<>`` removed (a text
   that is nothing else, e.g. ``[beep tone]``, has no speech); ``* # & % + @ =`` read as ``star pound and
   percent plus at equals``; single digits as words; letter abbreviations ``a.m.`` as letters; hyphens,
   slashes and other punctuation as word breaks (apostrophes kept: ``o'clock``). A number of two or more
   digits has no single reading (500 is "five hundred" or "five oh oh"), so such entries are dropped.
   A few misspellings are corrected (``SPELLING``). Every word must be in the dictionary: CMUdict plus
   ``EXTRA_PRONUNCIATIONS``; alternative pronunciations, ``word(2)``, are all tried.
2. **Alignment**: a first Viterbi pass over the word sequence (optional silence between words) gives the
   word path; a second pass (``Decoder.set_alignment``) splits it into phones and HMM states. Times come
   in 10 ms frames; a phone lasts at least 3 frames (one per HMM state).
3. **Check**: forced alignment often finds *a* path even for the wrong text. PocketSphinx scores
   each frame against the best-scoring HMM state of that frame, so the forced path's acoustic score per
   frame (``AlignmentEntry.score`` summed over the utterance, divided by its frames; 0 is a perfect fit)
   says how far the text's phones are from what the audio sounds like. Entries below
   ``min_frame_score`` are dropped. Measured on 259 Asterisk prompts (every second one): with the right
   transcript they score -3.8 to -22.1 (median -12.0); given another prompt's transcript, 97 % find no path
   or score below -22; with one word of the right transcript replaced at random, 74 % do (a long prompt
   hides one wrong word). The default, -22, keeps 99.6 % of right transcripts. eSpeak NG's synthetic
   speech, further from the model's training data, scores about -17 to -25.

Entries that fail any step are dropped and counted by reason (:class:`AlignmentReport`). Silences and
noise (``<sil>``, ``[NOISE]``, phone ``SIL``) become gaps, as in every manifest.

Phones are IPA (``ARPABET_TO_IPA``), in the General American values eSpeak NG's ``en-us`` voice uses, so
labels read like the synthetic corpus's. CMUdict as shipped carries no stress, so ``AH`` (``ʌ`` stressed,
``ə`` unstressed) is always ``ə`` and ``ER`` is always ``ɚ``: PNMI needs consistent labels within a set,
and one ARPAbet phone keeps one label.

Transcripts: by default the entry's ``text``. ``read_transcripts`` reads ``name: text`` files such as the
``core-sounds-en.txt`` of Debian's ``asterisk-core-sounds-en``; a name matches an entry whose audio path,
without its suffix, ends in that name (``digits/1`` or ``activated``; the longest name wins). The built-in
table ``ktuberling`` (:func:`ktuberling_transcript`) gives what the KTuberling recordings say: their file
names carry a scene prefix that is not spoken (``egypt_arch.ogg`` says "arch") and a few misspellings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ...audio import load_mono
from ...errors import HACError
from ...manifest import Interval, ManifestEntry
from ..errors import AlignmentError, DataError

SAMPLE_RATE = 16000  # the en-us acoustic model's rate
FRAME_RATE = 100  # PocketSphinx's default -frate: 10 ms frames

# CMUdict phones (no stress) -> IPA, General American as in eSpeak NG's en-us voice.
ARPABET_TO_IPA: Mapping[str, str] = {
    "AA": "ɑː",
    "AE": "æ",
    "AH": "ə",
    "AO": "ɔː",
    "AW": "aʊ",
    "AY": "aɪ",
    "EH": "ɛ",
    "ER": "ɚ",
    "EY": "eɪ",
    "IH": "ɪ",
    "IY": "iː",
    "OW": "oʊ",
    "OY": "ɔɪ",
    "UH": "ʊ",
    "UW": "uː",
    "B": "b",
    "CH": "tʃ",
    "D": "d",
    "DH": "ð",
    "F": "f",
    "G": "ɡ",
    "HH": "h",
    "JH": "dʒ",
    "K": "k",
    "L": "l",
    "M": "m",
    "N": "n",
    "NG": "ŋ",
    "P": "p",
    "R": "ɹ",
    "S": "s",
    "SH": "ʃ",
    "T": "t",
    "TH": "θ",
    "V": "v",
    "W": "w",
    "Y": "j",
    "Z": "z",
    "ZH": "ʒ",
}
SILENCE_PHONES = frozenset({"SIL"})  # plus noise phones, written "+NSN+", "+SPN+", ...

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SYMBOLS = {"*": "star", "#": "pound", "&": "and", "%": "percent", "+": "plus", "@": "at", "=": "equals"}
_STAGE_DIRECTION = re.compile(r"\([^)]*\)|\[[^\]]*\]|<[^>]*>")
_ABBREVIATION = re.compile(r"^(?:[a-z]\.){2,}$")  # a.m., u.s.

# Words CMUdict lacks, written by hand (ARPAbet, no stress); added to the decoder's dictionary. They
# come from the Asterisk prompts; the score check drops an entry whose audio does not fit them.
EXTRA_PRONUNCIATIONS: Mapping[str, str] = {
    "unmute": "AH N M Y UW T",
    "unmuted": "AH N M Y UW T IH D",
    "undelete": "AH N D IH L IY T",
    "undeleted": "AH N D IH L IY T IH D",
    "rerecord": "R IY R IH K AO R D",
    "prepend": "P R IY P EH N D",
    "prepending": "P R IY P EH N D IH NG",
    "forevermore": "F ER EH V ER M AO R",
    "semicolon": "S EH M IY K OW L AH N",
    "caret": "K EH R AH T",
    "backtick": "B AE K T IH K",
    "pbx": "P IY B IY EH K S",
    "ivr": "AY V IY AA R",
    "digium": "D IH JH IY AH M",
    "waldo's": "W AO L D OW Z",
}
# Misspellings and joined words of real transcripts -> dictionary words.
SPELLING: Mapping[str, str] = {
    "represenatives": "representatives",
    "exclaimation": "exclamation",
    "witheld": "withheld",
    "indentified": "identified",
    "fourtieth": "fortieth",
    "umute": "unmute",
    "xray": "x ray",
    "touchtone": "touch tone",
    "lowercase": "lower case",
    "uppercase": "upper case",
}

# KTuberling (Debian ktuberling-data, GPL-2+): scenes whose objects' file names carry the scene's name.
KTUBERLING_SCENES = ("egypt", "moon", "pizzeria", "tv")
KTUBERLING_SPELLING = {
    "palmtree": "palm tree",
    "fallingstar": "falling star",
    "moonwalker": "moon walker",
    "sphynx": "sphinx",
    "broccolli": "broccoli",
}

DEFAULT_MIN_FRAME_SCORE = -22.0


def pocketsphinx_module():
    """The ``pocketsphinx`` package, or a :class:`DataError` saying how to install it."""
    try:
        import pocketsphinx
    except ImportError as err:
        raise DataError("pocketsphinx is not installed; `pip install pocketsphinx` (or the [train] extra).") from err
    return pocketsphinx


def model_paths() -> dict[str, Path]:
    """The en-us acoustic model directory and dictionary shipped with pocketsphinx."""
    root = Path(pocketsphinx_module().get_model_path()) / "en-us"
    return {"hmm": root / "en-us", "dict": root / "cmudict-en-us.dict"}


def read_dictionary(path: str | os.PathLike | None = None) -> dict[str, list[tuple[str, ...]]]:
    """CMUdict-format pronunciations by word (``word(2)`` lines are alternatives of ``word``)."""
    path = model_paths()["dict"] if path is None else Path(path)
    words: dict[str, list[tuple[str, ...]]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                words.setdefault(re.sub(r"\(\d+\)$", "", parts[0]), []).append(tuple(parts[1:]))
    return words


def arpabet_to_ipa(phone: str) -> str:
    """IPA of an ARPAbet phone (stress digits ignored); raises KeyError for one not in the table."""
    return ARPABET_TO_IPA[phone.rstrip("012")]


def normalize_text(text: str | None) -> list[str]:
    """Words to align (lower case, dictionary spelling); [] when the text holds no speech.

    Raises AlignmentError("number") for a number of several digits (no single reading).
    """
    if not text:
        return []
    text = _STAGE_DIRECTION.sub(" ", text.lower())
    for symbol, word in SYMBOLS.items():
        text = text.replace(symbol, f" {word} ")
    words: list[str] = []
    for token in re.split(r"[\s\-/_]+", text):
        token = token.strip(".,;:!?\"()[]{}…'")
        if not token:
            continue
        if _ABBREVIATION.match(token + ".") or _ABBREVIATION.match(token):
            words += [c for c in token if c.isalpha()]
            continue
        if any(c.isdigit() for c in token):
            if not token.isdigit() or len(token) > 1:
                raise AlignmentError("number", f"{token!r} has no single reading; give its words in the transcript")
            words.append(DIGITS[int(token)])
            continue
        token = re.sub(r"[^a-z']+", "", token)
        if token.strip("'"):
            words += SPELLING.get(token, token).split()
    return words


def ktuberling_transcript(audio: Path) -> str:
    """What a KTuberling recording says, from its file name (``egypt_palmtree.ogg`` -> "palm tree")."""
    stem = audio.stem.lower()
    scene, _, name = stem.partition("_")
    if name and scene in KTUBERLING_SCENES:
        stem = name
    return KTUBERLING_SPELLING.get(stem, stem.replace("_", " "))


def read_transcripts(path: str | os.PathLike) -> dict[str, str]:
    """``name: text`` lines (``;`` or ``#`` starts a comment line), e.g. Asterisk's core-sounds-en.txt."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"transcript file not found: {path}")
    table: dict[str, str] = {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line[0] in ";#":
                continue
            name, sep, text = line.partition(":")
            if not sep or not name.strip():
                raise DataError(f"{path}:{number}: expected 'name: text', got {line[:60]!r}")
            table[name.strip()] = text.strip()
    return table


TranscriptSource = Callable[[ManifestEntry], "str | None"]


def table_source(table: Mapping[str, str]) -> TranscriptSource:
    """Transcript of an entry: the table's longest name that ends the audio path (suffix dropped)."""

    def lookup(entry: ManifestEntry) -> str | None:
        parts = entry.audio.with_suffix("").parts
        for k in range(len(parts), 0, -1):
            name = "/".join(parts[-k:])
            if name in table:
                return table[name]
        return None

    return lookup


BUILTIN_TRANSCRIPTS: dict[str, TranscriptSource] = {"ktuberling": lambda entry: ktuberling_transcript(entry.audio)}


def transcript_source(spec: str | os.PathLike | None) -> TranscriptSource:
    """The entry's own text (None), a built-in table by name (``ktuberling``), or a ``name: text`` file."""
    if spec is None:
        return lambda entry: entry.text
    if str(spec) in BUILTIN_TRANSCRIPTS:
        return BUILTIN_TRANSCRIPTS[str(spec)]
    return table_source(read_transcripts(spec))


@dataclass(frozen=True)
class Alignment:
    """Word and phone intervals (seconds, IPA phones, silences as gaps) and the check's figures."""

    words: tuple[Interval, ...]
    phones: tuple[Interval, ...]
    frame_score: float  # the forced path's acoustic score per 10 ms frame (PocketSphinx units; 0 is best)
    frames: int


def to_pcm16(audio: np.ndarray) -> bytes:
    """Float audio in [-1, 1] as 16-bit little-endian PCM, the decoder's input."""
    return (np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


class PocketsphinxAligner:
    """Aligns known English text to 16 kHz audio; one instance keeps its decoders (not thread-safe)."""

    def __init__(self, min_frame_score: float = DEFAULT_MIN_FRAME_SCORE, min_phone_frames: int = 3) -> None:
        ps = pocketsphinx_module()
        paths = model_paths()
        self.min_frame_score = min_frame_score
        self.min_phone_frames = min_phone_frames
        self.dictionary = read_dictionary(paths["dict"])
        common = {"hmm": str(paths["hmm"]), "dict": str(paths["dict"]), "samprate": SAMPLE_RATE, "loglevel": "FATAL"}
        # bestpath off: a lattice-derived word path can give a phone fewer frames than its HMM has states,
        # and the second pass then fails (pocketsphinx PR #500 forces this for alignment upstream); equal
        # beams: the stock word beam (7e-29, narrower than the 1e-48 state beam) can prune the only path
        # through the text (pocketsphinx PR #464 gives alignment its own 1e-48 beams for this reason)
        self._decoder = ps.Decoder(lm=None, bestpath=False, beam=1e-48, pbeam=1e-48, wbeam=1e-48, **common)
        for word, phones in EXTRA_PRONUNCIATIONS.items():
            if word not in self.dictionary:
                self._decoder.add_word(word, phones, update=True)
                self.dictionary[word] = [tuple(phones.split())]

    def _decode(self, decoder, pcm: bytes) -> None:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()

    def align(self, audio: np.ndarray, words: Sequence[str]) -> Alignment:
        """Align ``words`` (dictionary words) to ``audio`` ([S] float at 16 kHz); raises AlignmentError."""
        if not words:
            raise AlignmentError("no speech", "the transcript has no words to align")
        missing = sorted({w for w in words if w not in self.dictionary})
        if missing:
            raise AlignmentError("not in dictionary", f"not in the dictionary: {' '.join(missing)}")
        frames_needed = self.min_phone_frames * sum(min(len(p) for p in self.dictionary[w]) for w in words)
        if len(audio) * FRAME_RATE / SAMPLE_RATE < frames_needed:
            raise AlignmentError("too short", f"{len(audio) / SAMPLE_RATE:.2f} s is too short for {' '.join(words)}")
        pcm = to_pcm16(audio)
        try:
            self._decoder.set_align_text(" ".join(words))
            self._decode(self._decoder, pcm)
            if self._decoder.hyp() is None:
                raise AlignmentError("no path", "the decoder found no path through the text")
            self._decoder.set_alignment()
            self._decode(self._decoder, pcm)
            alignment = self._decoder.get_alignment()
        except RuntimeError as err:
            raise AlignmentError("no path", f"pocketsphinx could not align: {err}") from err
        if alignment is None:
            raise AlignmentError("no path", "pocketsphinx returned no phone alignment")
        phones = list(alignment.phones())
        frames = sum(p.duration for p in phones)
        frame_score = sum(p.score for p in phones) / max(1, frames)
        duration = len(audio) / SAMPLE_RATE
        word_rows, phone_rows = [], []
        for word in alignment:
            label = re.sub(r"\(\d+\)$", "", word.name)
            if label not in self.dictionary:  # <s>, </s>, <sil>, [NOISE]...: silence or noise, left as a gap
                continue
            word_rows.append(_interval(word.start, word.duration, label, duration))
            for phone in word:
                if phone.name in SILENCE_PHONES or phone.name.startswith("+"):
                    continue
                phone_rows.append(_interval(phone.start, phone.duration, arpabet_to_ipa(phone.name), duration))
        if [w.label for w in word_rows] != list(words):
            raise AlignmentError("no path", f"aligned words {[w.label for w in word_rows]} differ from the text")
        if frame_score < self.min_frame_score:
            raise AlignmentError(
                "poor fit",
                f"acoustic score {frame_score:.1f} per frame is below "
                f"{self.min_frame_score}; is the transcript what is said?",
            )
        return Alignment(tuple(word_rows), tuple(phone_rows), frame_score, frames)


def _interval(start: int, duration: int, label: str, audio_seconds: float) -> Interval:
    begin = min(start / FRAME_RATE, audio_seconds)
    return Interval(round(begin, 4), round(min((start + duration) / FRAME_RATE, audio_seconds), 4), label)


@dataclass
class AlignmentReport:
    """Aligned entries, entries passed through unaligned (other languages), and drops by reason."""

    entries: list[ManifestEntry] = field(default_factory=list)
    passed_through: list[str] = field(default_factory=list)
    dropped: dict[str, list[str]] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)  # frame score of each aligned entry

    @property
    def aligned(self) -> int:
        return len(self.entries) - len(self.passed_through)

    def drop(self, reason: str, entry_id: str) -> None:
        self.dropped.setdefault(reason, []).append(entry_id)

    @property
    def failed(self) -> list[str]:
        """Entries whose audio could not be read; the other drops are the aligner's verdicts on good input."""
        return self.dropped.get("unreadable audio", [])

    def summary(self) -> str:
        aligned = [e for e in self.entries if e.phones]
        minutes = sum(e.duration for e in aligned) / 60
        phones = sum(len(e.phones) for e in aligned)
        words = sum(len(e.words) for e in aligned)
        dropped = sum(len(v) for v in self.dropped.values())
        reasons = ", ".join(f"{len(v)} {k}" for k, v in sorted(self.dropped.items())) or "none"
        score = (
            f"; frame score median {np.median(self.scores):.1f}, lowest {min(self.scores):.1f}" if self.scores else ""
        )
        return (
            f"{len(aligned)} aligned utterances ({minutes:.2f} min, {words} words, {phones} phones); "
            f"{len(self.passed_through)} passed through unaligned (other languages); "
            f"{dropped} dropped ({reasons}){score}"
        )


def align_entries(
    entries: Iterable[ManifestEntry],
    transcripts: TranscriptSource | None = None,
    languages: Iterable[str] = ("en",),
    aligner: PocketsphinxAligner | None = None,
    progress: Callable[[int], None] | None = None,
) -> AlignmentReport:
    """Fill ``words``, ``phones`` (and ``text``: the aligned words) of entries in ``languages``.

    Entries of other languages pass through unchanged; those that cannot be aligned are dropped and
    counted by reason ("no transcript", "number", "no speech", "not in dictionary", "too short", "no path",
    "poor fit", "unreadable audio").
    """
    transcripts = transcripts or transcript_source(None)
    languages = set(languages)
    aligner = aligner or PocketsphinxAligner()
    report = AlignmentReport()
    for k, entry in enumerate(entries):
        if progress is not None:
            progress(k)
        if entry.language.split("-")[0] not in languages:
            report.entries.append(entry)
            report.passed_through.append(entry.id)
            continue
        text = transcripts(entry)
        if text is None:
            report.drop("no transcript", entry.id)
            continue
        try:
            words = normalize_text(text)
            try:
                audio = load_mono(entry.audio, SAMPLE_RATE).numpy()
            except HACError as err:  # a missing or unreadable file is one dropped entry
                raise AlignmentError("unreadable audio", str(err)) from err
            result = aligner.align(audio, words)
        except AlignmentError as err:
            report.drop(err.reason, entry.id)
            continue
        report.scores.append(result.frame_score)
        report.entries.append(replace(entry, text=" ".join(words), words=result.words, phones=result.phones))
    return report
