"""CMU Flite through ctypes: English speech by other voices than eSpeak's, with its own word and phone timings.

Flite (Debian/Ubuntu: ``apt-get install flite``, which brings ``libflite1`` with four US-English voices) is
not on PyPI; without it this module raises :class:`FliteError` and the synthetic corpus uses eSpeak only.

Voices: ``kal16`` (diphone concatenation, US male), ``awb`` (Scottish male), ``rms`` (US male) and ``slt``
(US female), the last three statistical-parametric (clustergen), all at 16 kHz.

Timings are Flite's own: every synthesis builds an utterance whose ``Segment`` relation gives each phone's
end time (the audio is generated from those durations), and whose ``SylStructure`` relation ties phones to
syllables to words. A phone starts where the previous segment ends; a word spans its phones; pauses
(``pau``) are gaps. Phones are mapped from Flite's ARPAbet-like set onto the IPA symbols eSpeak NG uses for
US English (:data:`ARPABET_TO_IPA`), so one corpus has one phone alphabet; Flite has no single rhotic
vowels (``ɑːɹ``, ``ɔːɹ`` ...) and writes them as a vowel and ``ɹ``.

Prosody: the speaker's rate (words per minute, as for eSpeak) sets Flite's ``duration_stretch``, its
pitch (0-99, 50 = the voice's own) an ``f0_shift`` of 2**((pitch - 50) / 100). Flite's parametric voices
draw their excitation noise from libc's ``rand()``, seeded per utterance, so a synthesis depends on its
arguments only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from ...manifest import Interval
from ..errors import FliteError, FliteWordMismatchError
from .espeak import Synthesis, VoiceSettings, check_words

FLITE_VOICES = ("kal16", "awb", "rms", "slt")
BASE_RATE = 175  # words per minute that leave Flite's durations as they are
ARPABET_TO_IPA: Mapping[str, str] = MappingProxyType(
    {
        "aa": "ɑː",
        "ae": "æ",
        "ah": "ʌ",
        "ao": "ɔː",
        "aw": "aʊ",
        "ax": "ə",
        "ay": "aɪ",
        "b": "b",
        "ch": "tʃ",
        "d": "d",
        "dh": "ð",
        "eh": "ɛ",
        "er": "ɚ",
        "ey": "eɪ",
        "f": "f",
        "g": "ɡ",
        "hh": "h",
        "ih": "ɪ",
        "iy": "iː",
        "jh": "dʒ",
        "k": "k",
        "l": "l",
        "m": "m",
        "n": "n",
        "ng": "ŋ",
        "ow": "oʊ",
        "oy": "ɔɪ",
        "p": "p",
        "r": "ɹ",
        "s": "s",
        "sh": "ʃ",
        "t": "t",
        "th": "θ",
        "uh": "ʊ",
        "uw": "uː",
        "v": "v",
        "w": "w",
        "y": "j",
        "z": "z",
        "zh": "ʒ",
    }
)
# as eSpeak writes them: a stressed "er" is the long vowel of "bird", an unstressed "iy" the "y" of "happy"
STRESSED_IPA: Mapping[str, str] = MappingProxyType({"er": "ɜː"})
UNSTRESSED_IPA: Mapping[str, str] = MappingProxyType({"iy": "i"})


class _Wave(ctypes.Structure):
    """``cst_wave`` of cst_wave.h."""

    _fields_ = [
        ("type", ctypes.c_char_p),
        ("sample_rate", ctypes.c_int),
        ("num_samples", ctypes.c_int),
        ("num_channels", ctypes.c_int),
        ("samples", ctypes.POINTER(ctypes.c_short)),
    ]


class _Voice(ctypes.Structure):
    """The first fields of ``cst_voice`` (cst_voice.h): its name and its feature set."""

    _fields_ = [("name", ctypes.c_char_p), ("features", ctypes.c_void_p)]


_SIGNATURES = {
    "flite_init": (ctypes.c_int, []),
    "flite_synth_text": (ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_void_p]),
    "utt_wave": (ctypes.POINTER(_Wave), [ctypes.c_void_p]),
    "utt_relation": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p]),
    "relation_head": (ctypes.c_void_p, [ctypes.c_void_p]),
    "item_next": (ctypes.c_void_p, [ctypes.c_void_p]),
    "item_feat_string": (ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_char_p]),
    "item_feat_float": (ctypes.c_float, [ctypes.c_void_p, ctypes.c_char_p]),
    "item_as": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p]),
    "item_daughter": (ctypes.c_void_p, [ctypes.c_void_p]),
    "ffeature_string": (ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_char_p]),
    "ffeature_float": (ctypes.c_float, [ctypes.c_void_p, ctypes.c_char_p]),
    "delete_utterance": (None, [ctypes.c_void_p]),
    "flite_feat_set_float": (None, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_float]),
}
_LIBRARY: ctypes.CDLL | None = None
_VOICES: dict[str, ctypes._Pointer] = {}  # loaded once per process: Flite's voices are read-only data


def _find(name: str) -> str:
    path = ctypes.util.find_library(name)
    if path is None:
        raise FliteError(
            f"lib{name} not found: install Flite (Debian/Ubuntu: `apt-get install flite`), "
            "or leave Flite voices out of the corpus (flite_share=0)."
        )
    return path


def _library() -> ctypes.CDLL:
    global _LIBRARY
    if _LIBRARY is None:
        lib = ctypes.CDLL(_find("flite"))
        for function, (restype, argtypes) in _SIGNATURES.items():
            getattr(lib, function).restype, getattr(lib, function).argtypes = restype, argtypes
        lib.flite_init()
        _LIBRARY = lib
    return _LIBRARY


def _voice(name: str) -> ctypes._Pointer:
    if name not in FLITE_VOICES:
        raise FliteError(f"no Flite voice {name!r}; choose one of {FLITE_VOICES}.")
    if name not in _VOICES:
        _library()
        module = ctypes.CDLL(_find(f"flite_cmu_us_{name}"))
        register = getattr(module, f"register_cmu_us_{name}")
        register.restype, register.argtypes = ctypes.POINTER(_Voice), [ctypes.c_char_p]
        voice = register(None)
        if not voice:
            raise FliteError(f"register_cmu_us_{name} failed")
        _VOICES[name] = voice
    return _VOICES[name]


def flite_available() -> bool:
    """Whether libflite and all of :data:`FLITE_VOICES` can be loaded."""
    try:
        for name in FLITE_VOICES:
            _voice(name)
    except (FliteError, OSError):
        return False
    return True


def ipa(phone: str, stressed: bool) -> str:
    """IPA (eSpeak NG's US-English symbols) of a Flite phone."""
    if phone not in ARPABET_TO_IPA:
        raise FliteError(f"Flite phone {phone!r} has no IPA mapping")
    special = STRESSED_IPA if stressed else UNSTRESSED_IPA
    return special.get(phone, ARPABET_TO_IPA[phone])


def _items(lib: ctypes.CDLL, utterance: int, relation: str):
    item = lib.relation_head(lib.utt_relation(utterance, relation.encode()))
    while item:
        yield item
        item = lib.item_next(item)


class FliteSynthesizer:
    """Speaks a list of words with a Flite voice; the same interface as :class:`.espeak.EspeakSynthesizer`.

    ``VoiceSettings.voice`` names the Flite voice (one of :data:`FLITE_VOICES`); ``variant`` and
    ``pitch_range`` are not used.
    """

    sample_rate = 16000

    def __init__(self) -> None:
        self._lib = _library()
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"))
        for name in FLITE_VOICES:
            _voice(name)

    def _configure(self, voice: ctypes._Pointer, settings: VoiceSettings) -> None:
        features = voice.contents.features
        self._lib.flite_feat_set_float(features, b"duration_stretch", BASE_RATE / settings.rate)
        self._lib.flite_feat_set_float(features, b"f0_shift", 2.0 ** ((settings.pitch - 50) / 100))

    def synthesize(self, words: Sequence[str], settings: VoiceSettings, seed: int = 0) -> Synthesis:
        """Speak ``words`` (one sentence); raises FliteWordMismatchError if Flite's words are not the text's."""
        check_words(words, FliteError)
        voice, lib = _voice(settings.voice), self._lib
        self._configure(voice, settings)
        self._libc.srand(ctypes.c_uint(seed))
        utterance = lib.flite_synth_text((" ".join(words) + ".").encode(), ctypes.cast(voice, ctypes.c_void_p))
        if not utterance:
            raise FliteError(f"flite_synth_text failed for {' '.join(words)!r}")
        try:
            wave = lib.utt_wave(utterance).contents
            pcm = np.ctypeslib.as_array(wave.samples, shape=(wave.num_samples,)).copy()
            sample_rate = int(wave.sample_rate)
            word_items = list(_items(lib, utterance, "Word"))
            # each word must come from its own input token: no expansions ("dr" -> "doctor" is one word, fine)
            tokens = [lib.ffeature_string(w, b"R:Token.parent.name").decode() for w in word_items]
            if tokens != list(words):
                raise FliteWordMismatchError(f"Flite read {list(words)} as words of the tokens {tokens}.")
            segments = [list(_word_segments(lib, word)) for word in word_items]
        finally:
            lib.delete_utterance(utterance)
        return _to_synthesis(pcm, sample_rate, words, segments)


def _children(lib: ctypes.CDLL, item: int):
    child = lib.item_daughter(item)
    while child:
        yield child
        child = lib.item_next(child)


def _word_segments(lib: ctypes.CDLL, word: int):
    """``(start, end, phone, stressed)`` of a Word item's segments, through its syllables (``SylStructure``)."""
    for syllable in _children(lib, lib.item_as(word, b"SylStructure")):
        stressed = lib.item_feat_string(syllable, b"stress") == b"1"
        for segment in _children(lib, syllable):
            start = float(lib.ffeature_float(segment, b"R:Segment.p.end"))  # 0 for the first segment
            end = float(lib.item_feat_float(segment, b"end"))
            yield start, end, lib.item_feat_string(segment, b"name").decode(), stressed


def _to_synthesis(
    pcm: np.ndarray,
    sample_rate: int,
    words: Sequence[str],
    segments: Sequence[Sequence[tuple[float, float, str, bool]]],
) -> Synthesis:
    """Audio and intervals from each word's Flite segments, clipped to the audio (a diphone voice may end early)."""
    duration = len(pcm) / sample_rate
    if any(not word_segments for word_segments in segments):
        raise FliteWordMismatchError(f"Flite gave a word of {list(words)} no phones.")
    phones = [
        [
            Interval(min(start, duration), min(end, duration), ipa(name, stressed))
            for start, end, name, stressed in word_segments
        ]
        for word_segments in segments
    ]
    return Synthesis(
        audio=pcm.astype(np.float32) / 32768.0,
        sample_rate=sample_rate,
        words=tuple(Interval(p[0].start, p[-1].end, word) for p, word in zip(phones, words)),
        phones=tuple(phone for word_phones in phones for phone in word_phones),
    )
