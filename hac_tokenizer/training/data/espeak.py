"""eSpeak NG through ctypes: speech with sample-accurate word and phone timings taken from its events.

The shared library and voice data come from the ``espeakng-loader`` wheel (or any libespeak-ng given by
path). Synthesis is synchronous: ``espeak_Synth`` calls back with audio chunks and the events that fall
inside them; each event carries ``sample``, the index of the output sample where it happens, so timings
are exact at the synthesiser's 22050 Hz rate.

How eSpeak's events map onto intervals (checked on the audio, see tests/training/test_data_espeak.py):

* a PHONEME event (with ``espeakINITIALIZE_PHONEME_IPA`` its name is IPA) marks where the phone's own
  sound starts; an event with an empty name is a pause;
* for a stop, the closure silence is generated *before* the phone's event, and the WORD event of a word
  comes before that closure. A word's first phone therefore starts at its WORD event, so the closure of
  a word-initial stop belongs to its word. Closures of word-internal stops stay with the phone before
  them: eSpeak reports nothing that would place them;
* a phone ends where the next event (phone, pause or clause end) starts; a word spans its phones.

eSpeak reads some word pairs as one dictionary phrase ("of the" in English) and then reports a single
WORD event for both. Words are therefore joined with a space and a WORD JOINER (U+2060), which keeps
the pronunciation and stops the phrase lookup, so every text word gets its own event.

libespeak-ng keeps its state in C globals; each synthesis therefore runs on a freshly loaded private copy
of the library (see :class:`_FreshLibrary`). A synthesizer is not to be shared between threads.
"""

from __future__ import annotations

import _ctypes
import ctypes
import ctypes.util
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...manifest import Interval
from ..errors import EspeakError, WordMismatchError

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_PHONEME_IPA = 0x0002
INITIALIZE_DONT_EXIT = 0x8000
POS_CHARACTER = 1
CHARS_UTF8 = 1
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_END, EVENT_PHONEME = 0, 1, 5, 7  # espeak_EVENT_TYPE values
PARAM_RATE, PARAM_PITCH, PARAM_RANGE = 1, 3, 4
WORD_SEPARATOR = " \u2060"
STRESS_MARKS = str.maketrans("", "", "ˈˌ")  # stress is prosody, not phone identity


class _Union(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _Union),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class VoiceSettings:
    """One way of speaking: an eSpeak language voice, a variant (``!v`` file) and prosody parameters."""

    voice: str  # language voice, e.g. "en-us", "pt-br"
    variant: str | None = None  # e.g. "m3", "f2"; None: the voice's default
    rate: int = 175  # words per minute (eSpeak accepts 80..450)
    pitch: int = 50  # 0..99, base pitch relative to the variant's
    pitch_range: int = 50  # 0..99, how much pitch moves (0: monotone)

    @property
    def name(self) -> str:
        return self.voice if self.variant is None else f"{self.voice}+{self.variant}"


@dataclass(frozen=True)
class Synthesis:
    """Synthesised speech and where each word and phone lies in it."""

    audio: np.ndarray  # [S] float32 in [-1, 1]
    sample_rate: int
    words: tuple[Interval, ...]  # one per input word, in order, seconds
    phones: tuple[Interval, ...]  # IPA without stress marks, seconds; pauses are gaps


@dataclass(frozen=True)
class EspeakEvent:
    """The parts of an ``espeak_EVENT`` the alignment needs (phone: IPA name, "" for a pause)."""

    type: int
    text_position: int  # 1-based character index into the text
    sample: int
    phone: str
    name: str = ""  # the phone as eSpeak writes it, stress marks kept (what Piper's front end reads)


def default_paths() -> tuple[Path, Path]:
    """(shared library, data directory) of the installed ``espeakng-loader`` wheel."""
    try:
        import espeakng_loader
    except ImportError as err:
        raise EspeakError(
            "espeakng-loader is not installed; `pip install espeakng-loader` (or the [train] extra), "
            "or pass library= and data= paths of a libespeak-ng install."
        ) from err
    return Path(espeakng_loader.get_library_path()), Path(espeakng_loader.get_data_path())


def list_variants(data: Path | None = None) -> list[str]:
    """Names of the voice variants (files of ``voices/!v``) in an eSpeak NG data directory, sorted."""
    data = default_paths()[1] if data is None else Path(data)
    return sorted(p.name for p in (data / "voices" / "!v").iterdir() if p.is_file())


class _FreshLibrary:
    """libespeak-ng loaded from a private copy for one ``with`` block, so every block starts from its initial state.

    The wave generator keeps state between utterances in C statics that nothing resets (the pitch-flutter
    position, the gain control), so the same input would sound slightly different depending on what was
    said before. Unloading the library (possible because the copy is ours alone) and loading it again
    restores every static, which makes each utterance a function of its own inputs only.
    """

    def __init__(self, path: Path, data: Path) -> None:
        self.path, self.data = path, data
        self.lib: ctypes.CDLL | None = None

    def _load_private_copy(self) -> ctypes.CDLL:
        # a loaded library needs no file: the copy is deleted as soon as it is mapped
        with tempfile.TemporaryDirectory(prefix="hac-espeak-", ignore_cleanup_errors=True) as folder:
            copy = Path(folder) / self.path.name
            try:
                shutil.copy(self.path, copy)
                return ctypes.CDLL(str(copy))
            except OSError as err:
                raise EspeakError(f"cannot load libespeak-ng from {self.path}: {err}") from err

    def __enter__(self) -> ctypes.CDLL:
        lib = self._load_private_copy()
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        options = INITIALIZE_PHONEME_EVENTS | INITIALIZE_PHONEME_IPA | INITIALIZE_DONT_EXIT
        self.lib = lib
        if lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data).encode(), options) <= 0:
            self.__exit__()
            raise EspeakError(f"espeak_Initialize failed with data directory {self.data}; is it an espeak-ng-data dir?")
        return lib

    def __exit__(self, *exc: object) -> None:
        if self.lib is not None:
            self.lib.espeak_Terminate()
            _unload(self.lib._handle)
            self.lib = None


def _unload(handle: int) -> None:
    unload = getattr(_ctypes, "dlclose", None) or _ctypes.FreeLibrary  # POSIX, else Windows
    unload(handle)


class EspeakSynthesizer:
    """Speaks a list of words and reports each word's and phone's interval, from eSpeak's own events.

    Each call of :meth:`synthesize` runs on a freshly loaded private copy of libespeak-ng (a few ms), so
    its result depends on its arguments only, never on earlier calls, and instances are independent.
    """

    def __init__(self, library: Path | None = None, data: Path | None = None) -> None:
        if library is None or data is None:
            default_library, default_data = default_paths()
            library, data = library or default_library, data or default_data
        self.data = Path(data)
        self._library = _FreshLibrary(Path(library), self.data)
        with self._library as lib:  # fail now, with a clear message, if the library or data is unusable
            self.sample_rate = int(lib.espeak_ng_GetSampleRate())
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self._chunks: list[np.ndarray] = []
        self._events: list[EspeakEvent] = []
        # ctypes keeps no reference to a callback: the instance must, or it is freed while eSpeak holds it
        self._callback = _Callback(self._on_audio)

    def _on_audio(self, wav, num_samples: int, events) -> int:
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            event = events[i]
            phone = event.id.string.decode("utf-8", "replace") if event.type == EVENT_PHONEME else ""
            if not (event.type == EVENT_PHONEME and is_language_switch(phone)):
                self._events.append(
                    EspeakEvent(event.type, event.text_position, event.sample, clean_phone(phone), phone)
                )
            i += 1
        return 0  # 0: go on synthesising

    def _configure(self, lib: ctypes.CDLL, settings: VoiceSettings, seed: int) -> None:
        if lib.espeak_SetVoiceByName(settings.name.encode()) != 0:
            raise EspeakError(
                f"eSpeak has no voice {settings.name!r}; language voices are under {self.data / 'lang'}, "
                f"variants under {self.data / 'voices' / '!v'}."
            )
        for parameter, value in (
            (PARAM_RATE, settings.rate),
            (PARAM_PITCH, settings.pitch),
            (PARAM_RANGE, settings.pitch_range),
        ):
            if lib.espeak_SetParameter(parameter, int(value), 0) != 0:
                raise EspeakError(f"espeak_SetParameter({parameter}, {value}) failed for {settings}")
        # breathy variants draw noise from libc's rand(), the rest from eSpeak's own generator: seed both
        lib.espeak_ng_SetRandSeed(seed)
        self._libc.srand(ctypes.c_uint(seed))

    def synthesize(self, words: Sequence[str], settings: VoiceSettings, seed: int = 0) -> Synthesis:
        """Speak ``words`` (one sentence) with ``settings``; raises WordMismatchError if events do not fit."""
        check_words(words, EspeakError)
        encoded = (WORD_SEPARATOR.join(words) + ".").encode("utf-8")
        self._chunks, self._events = [], []
        with self._library as lib:
            self._configure(lib, settings, seed)
            lib.espeak_SetSynthCallback(self._callback)
            status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        if status != 0:
            raise EspeakError(f"espeak_Synth failed with status {status} for {' '.join(words)!r}")
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        audio = pcm.astype(np.float32) / 32768.0  # [S]
        word_spans, phone_spans = align_events(self._events, word_starts(words), len(audio))
        to_seconds = 1.0 / self.sample_rate
        return Synthesis(
            audio=audio,
            sample_rate=self.sample_rate,
            words=tuple(Interval(s * to_seconds, e * to_seconds, w) for (s, e), w in zip(word_spans, words)),
            phones=tuple(Interval(s * to_seconds, e * to_seconds, p) for s, e, p in phone_spans),
        )

    def phonemes(self, words: Sequence[str], voice: str) -> list[list[tuple[str, str]]]:
        """Each word's phones as ``(label, name)``: the label of :attr:`Synthesis.phones`, and the name as eSpeak
        writes it, stress marks kept (the IPA a Piper voice reads). Raises WordMismatchError as :meth:`synthesize`."""
        speech = self.synthesize(words, VoiceSettings(voice))
        names = [e.name for e in self._events if names_a_phone(e)]  # align_events' phones, in order
        # a word spans its phones, in order: a phone belongs to the first word that ends after its start
        owner = np.searchsorted([word.end for word in speech.words[:-1]], [p.start for p in speech.phones], "right")
        phones: list[list[tuple[str, str]]] = [[] for _ in words]
        for k, phone, name in zip(owner, speech.phones, names, strict=True):
            phones[k].append((phone.label, name))
        return phones


def check_words(words: Sequence[str], error: type[Exception]) -> None:
    """Raise ``error`` unless ``words`` is a sentence a synthesiser can read word by word: non-empty words, no spaces."""
    if not words or any(not w or w.isspace() or " " in w for w in words):
        raise error(f"words must be non-empty strings without spaces, got {list(words)!r}")


def names_a_phone(event: EspeakEvent) -> bool:
    """Whether ``event`` becomes a phone: a PHONEME event with a name (an empty one is a pause)."""
    return event.type == EVENT_PHONEME and bool(event.phone.strip())


def is_language_switch(name: str) -> bool:
    """eSpeak reports a switch of dictionary (a French text's English word) as a phoneme named "(en)"."""
    return name.startswith("(") and name.endswith(")")


def clean_phone(name: str) -> str:
    """IPA label of a phoneme event: stress marks dropped, and the "-" eSpeak appends to some vowels' names."""
    return name.translate(STRESS_MARKS).rstrip("-").strip()


def word_starts(words: Sequence[str]) -> list[int]:
    """1-based character position of each word in ``WORD_SEPARATOR.join(words)`` (eSpeak's text_position)."""
    starts, position = [], 1
    for word in words:
        starts.append(position)
        position += len(word) + len(WORD_SEPARATOR)
    return starts


def _word_index(text_position: int, starts: Sequence[int]) -> int:
    """Index of the word whose characters contain ``text_position`` (a word owns up to the next start)."""
    return int(np.searchsorted(np.asarray(starts), text_position, side="right")) - 1


def align_events(
    events: Sequence[EspeakEvent], starts: Sequence[int], num_samples: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int, str]]]:
    """Word spans ``(start, end)`` and phone spans ``(start, end, ipa)`` in samples, from eSpeak's events."""
    # a WORD event is a boundary too: it is where the next word's first sound (a stop's closure) begins
    boundaries = sorted({e.sample for e in events if e.type in (EVENT_PHONEME, EVENT_END, EVENT_WORD)} | {num_samples})
    word_of_phone: list[int] = []
    phones: list[tuple[int, int, str]] = []
    word_event: dict[int, int] = {}  # word index -> sample of its first WORD event
    current = -1
    for event in events:
        if event.type == EVENT_WORD:
            current = _word_index(event.text_position, starts)
            word_event.setdefault(current, event.sample)
        elif names_a_phone(event):
            end = (
                boundaries[int(np.searchsorted(boundaries, event.sample, side="right"))]
                if event.sample < num_samples
                else num_samples
            )
            phones.append((event.sample, end, event.phone))
            word_of_phone.append(current)
    found = sorted(set(word_of_phone))
    if found != list(range(len(starts))):
        raise WordMismatchError(
            f"eSpeak's events cover words {found} of {len(starts)}: it expanded, merged or dropped a word. "
            "Use plain alphabetic words, or skip this sentence."
        )
    spans = []
    for index in range(len(starts)):
        members = [k for k, w in enumerate(word_of_phone) if w == index]
        first, last = members[0], members[-1]
        previous_end = phones[first - 1][1] if first > 0 else 0
        # the closure of a word-initial stop lies between the WORD event and the phone's own event
        start = min(max(word_event[index], previous_end), phones[first][0])
        phones[first] = (start, *phones[first][1:])
        spans.append((start, phones[last][1]))
    return spans, phones
