"""Festival's Italian diphone voices: a second engine for Italian, with Festival's own word and phone timings.

Festival (Debian/Ubuntu: ``apt-get install festival festvox-italp16k festvox-itapc16k``) is not on PyPI;
without it this module raises :class:`FestivalError` and the synthetic corpus leaves it out.

Voices: ``lp`` (female) and ``pc`` (male), diphone concatenation (LPC residual) at 16 kHz, from the
Italian Festival project (IFD, ISTC-CNR Padova). Diphone synthesis draws no noise: a synthesis depends on
its arguments only, and ``seed`` is not used.

Each synthesis runs one ``festival --pipe`` process (about 0.2 s to start with a voice) on a Scheme script that
builds a ``Words`` utterance (the words as given, so no text normalisation can expand or split them),
synthesises it, writes the wave to a temporary file and prints, for each ``Word`` item, its segments
through ``SylStructure`` with their start (the previous segment's end) and end times. The audio is generated
from those segment durations, so they are the timings. A phone starts where the previous segment ends; a
word spans its phones; pauses (``#``) lie between words and are gaps.

Phones: Festival's Italian set (``a e E i o O u`` with ``1`` when stressed, ``j w``, ``tS dZ ts dz``,
``S Z J L``, ``ng nf`` ...) is mapped onto IPA (:data:`FESTIVAL_TO_IPA`), the alphabet eSpeak NG writes
Italian in, stress dropped as it is for eSpeak's phones. Festival writes a geminate as two equal segments;
it is one long consonant, so the two become one phone spanning both.

Prosody: the speaker's rate (words per minute, as for eSpeak) sets Festival's ``Duration_Stretch``
(175 wpm = 1); its pitch (0-99, 50 = the voice's own) scales every f0 target of the voices' intonation
function by 2**((pitch - 50) / 100), as Flite's ``f0_shift`` does. Festival reads Latin-1: words are
encoded so (every Italian letter is in it); a word outside it cannot be read and counts as a mismatch.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import soundfile as sf

from ...manifest import Interval
from ..errors import FestivalError, FestivalWordMismatchError
from .espeak import Synthesis, VoiceSettings, check_words

FESTIVAL_VOICES = ("lp", "pc")
BASE_RATE = 175  # words per minute that leave Festival's durations as they are
INSTALL = (
    "Debian/Ubuntu: `apt-get install festival festvox-italp16k festvox-itapc16k`; or leave Festival out of the corpus "
    "(festival_share=0)"
)
TIMEOUT = 120  # seconds for one synthesis; a sentence takes well under one
FESTIVAL_TO_IPA: Mapping[str, str] = MappingProxyType(
    {
        "a": "a",
        "e": "e",
        "E": "ɛ",
        "i": "i",
        "o": "o",
        "O": "ɔ",
        "u": "u",
        "j": "j",
        "w": "w",
        "p": "p",
        "t": "t",
        "k": "k",
        "b": "b",
        "d": "d",
        "g": "ɡ",
        "f": "f",
        "v": "v",
        "s": "s",
        "z": "z",
        "S": "ʃ",
        "Z": "ʒ",
        "ts": "ts",
        "dz": "dz",
        "tS": "tʃ",
        "dZ": "dʒ",
        "m": "m",
        "n": "n",
        "J": "ɲ",
        "ng": "ŋ",
        "nf": "ɱ",
        "l": "l",
        "L": "ʎ",
        "r": "r",
    }
)
PAUSE = "#"
# The intonation function of the selected voice, wrapped to scale each (time f0) target it returns.
_SCRIPT = """(voice_{voice}_diphone)
(set! hac_targ_func (cadr (assoc 'targ_func int_general_params)))
(set! int_general_params
  (list (list 'targ_func
    (lambda (utt syl)
      (mapcar (lambda (target) (list (car target) (* {f0_scale} (cadr target)))) (hac_targ_func utt syl))))))
(Parameter.set 'Duration_Stretch {stretch})
(set! hac_utt (Utterance Words ({words})))
(utt.synth hac_utt)
(utt.save.wave hac_utt "{wave}" 'riff)
(mapcar
  (lambda (word)
    (format t "HAC-WORD %s\\n" (item.name word))
    (mapcar
      (lambda (syllable)
        (mapcar
          (lambda (segment)
            (format t "HAC-SEGMENT %s %f %f\\n"
              (item.name segment) (item.feat segment "R:Segment.p.end") (item.feat segment "end")))
          (item.daughters syllable)))
      (item.daughters (item.relation word 'SylStructure))))
  (utt.relation.items hac_utt 'Word))
"""


def _festival() -> str:
    path = shutil.which("festival")
    if path is None:
        raise FestivalError(f"festival not found: install it with its Italian voices ({INSTALL}).")
    return path


def _run(script: str) -> str:
    """Run a Scheme script in a fresh Festival; its standard output, decoded from Latin-1."""
    try:
        done = subprocess.run(
            [_festival(), "--pipe"], input=script.encode("latin-1"), capture_output=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise FestivalError(f"festival took over {TIMEOUT} s on a script") from err
    if done.returncode != 0:
        raise FestivalError(f"festival failed ({done.returncode}): {done.stderr.decode('latin-1')[-500:]}")
    return done.stdout.decode("latin-1")


@functools.cache
def festival_available() -> bool:
    """Whether the ``festival`` program and both of :data:`FESTIVAL_VOICES` can be loaded."""
    voices = "".join(f"(voice_{name}_diphone)\n" for name in FESTIVAL_VOICES)
    try:
        return "HAC-OK" in _run(voices + '(format t "HAC-OK\\n")\n')
    except (FestivalError, OSError):
        return False


def ipa(phone: str) -> str:
    """IPA of a Festival Italian phone (stress mark ``1`` dropped)."""
    bare = phone.removesuffix("1")
    if bare not in FESTIVAL_TO_IPA:
        raise FestivalError(f"Festival phone {phone!r} has no IPA mapping")
    return FESTIVAL_TO_IPA[bare]


def _quoted(word: str) -> str:
    if not word.isalpha():
        raise FestivalError(f"words must be alphabetic, got {word!r}")
    try:
        word.encode("latin-1")
    except UnicodeEncodeError as err:
        raise FestivalWordMismatchError(f"Festival reads Latin-1 only and cannot read {word!r}.") from err
    return f'"{word}"'


class FestivalSynthesizer:
    """Speaks a list of words with a Festival Italian voice; the interface of :class:`.espeak.EspeakSynthesizer`.

    ``VoiceSettings.voice`` names the voice (one of :data:`FESTIVAL_VOICES`); ``variant`` and
    ``pitch_range`` are not used.
    """

    sample_rate = 16000

    def __init__(self) -> None:
        if not festival_available():
            raise FestivalError(f"Festival with the Italian voices lp and pc is needed ({INSTALL}).")

    def synthesize(self, words: Sequence[str], settings: VoiceSettings, seed: int = 0) -> Synthesis:
        """Speak ``words`` (one sentence); raises FestivalWordMismatchError if Festival's words are not the text's."""
        check_words(words, FestivalError)
        if settings.voice not in FESTIVAL_VOICES:
            raise FestivalError(f"no Festival Italian voice {settings.voice!r}; choose one of {FESTIVAL_VOICES}.")
        quoted = " ".join(_quoted(w) for w in words)
        with tempfile.TemporaryDirectory(prefix="hac-festival-") as folder:
            wave = Path(folder) / "speech.wav"
            output = _run(
                _SCRIPT.format(
                    voice=settings.voice,
                    f0_scale=f"{2.0 ** ((settings.pitch - 50) / 100):.6f}",
                    stretch=f"{BASE_RATE / settings.rate:.6f}",
                    words=quoted,
                    wave=wave,
                )
            )
            if not wave.exists():
                raise FestivalError(f"festival wrote no audio for {' '.join(words)!r}")
            pcm, sample_rate = sf.read(wave, dtype="int16")
        read_words, segments = _parse(output)
        if read_words != list(words):
            raise FestivalWordMismatchError(f"Festival read {list(words)} as the words {read_words}.")
        return _to_synthesis(pcm, sample_rate, words, segments)


def _parse(output: str) -> tuple[list[str], list[list[tuple[float, float, str]]]]:
    """Words and each word's ``(start, end, phone)`` segments from the script's ``HAC-`` lines."""
    words: list[str] = []
    segments: list[list[tuple[float, float, str]]] = []
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "HAC-WORD":
            words.append(rest)
            segments.append([])
        elif kind == "HAC-SEGMENT" and segments:
            name, start, end = rest.split()
            segments[-1].append((float(start), float(end), name))
    return words, segments


def _merge_geminates(phones: Sequence[Interval]) -> list[Interval]:
    """One phone for two equal consecutive segments (Festival's geminate): a long consonant, not two."""
    merged: list[Interval] = []
    for phone in phones:
        if merged and merged[-1].label == phone.label and merged[-1].end == phone.start:
            merged[-1] = Interval(merged[-1].start, phone.end, phone.label)
        else:
            merged.append(phone)
    return merged


def _to_synthesis(
    pcm: np.ndarray, sample_rate: int, words: Sequence[str], segments: Sequence[Sequence[tuple[float, float, str]]]
) -> Synthesis:
    """Audio and intervals from each word's segments, clipped to the audio (a diphone voice may end early)."""
    duration = len(pcm) / sample_rate
    phones = [
        _merge_geminates(
            [
                Interval(min(start, duration), min(end, duration), ipa(name))
                for start, end, name in word_segments
                if name != PAUSE
            ]
        )
        for word_segments in segments
    ]
    if any(not word_phones for word_phones in phones):
        raise FestivalWordMismatchError(f"Festival gave a word of {list(words)} no phones.")
    return Synthesis(
        audio=pcm.astype(np.float32) / 32768.0,
        sample_rate=sample_rate,
        words=tuple(Interval(p[0].start, p[-1].end, word) for p, word in zip(phones, words)),
        phones=tuple(phone for word_phones in phones for phone in word_phones),
    )
