"""Synthetic aligned multilingual speech: eSpeak NG voices reading word-frequency text, with exact timings.

What it makes (``hac-prepare-data synthetic --out data/synth --hours 10 --seed 0 --workers 8``)::

    data/synth/manifest.jsonl          one line per utterance, ``split`` in {"train", "valid", "test"}
    data/synth/wavs/<lang>/<id>.wav    16 kHz mono 16-bit PCM

* Languages: the eight of Multilingual LibriSpeech (en fr de it pl pt es nl), equal hours each.
* Text: words drawn from the ``vocab_size`` most frequent words of ``wordfreq`` (alphabetic words; one-
  letter words only where they are real words), with probability ~ frequency**``frequency_exponent``
  (0.5 flattens Zipf so content words are common enough to learn). Sentences have ``min_words`` to
  ``max_words`` words; they are word sequences, not grammatical sentences. Each sentence is read by
  ``readers_per_sentence`` different speakers, so content and speaker vary independently.
* Speakers: a speaker is a language voice (accent, e.g. en-us, en-gb-scotland, pt-br), a voice variant
  (``voices/!v``), a pitch and a pitch range; its id, e.g. ``en-us+m3:p42:r61``, names all four. Each
  utterance varies its speaking rate around the speaker's own.
* Other voices (:data:`OTHER_ENGINES`): ``flite_share`` of the English sentences is read by speakers built
  on CMU Flite's four US-English voices (:mod:`.flite`), ``piper_share`` of them by the Piper neural voice
  ``joe`` (:mod:`.piper`), ``festival_share`` of the Italian sentences by Festival's two Italian diphone
  voices (:mod:`.festival`); ids such as ``en-flite-slt:p55``. An engine's held-out voices are heard in the
  test split only; an engine without one reads no test sentences (its voices would not be unseen there).
* Speed: with probability ``speed_probability`` an utterance is played faster or slower by a factor drawn
  from ``speed`` (resampling, as a tape would: tempo, pitch and formants move together, so it also varies
  the apparent vocal tract length); its timings are divided by the factor.
* Channel: with probability ``augment_probability`` an utterance goes through :class:`augment.Channel`
  (EQ, simulated-room reverberation, noise); every utterance gets a random level and 0.05-0.4 s of
  silence at each end.
* Splits: ``valid`` has sentences never seen in ``train`` read by ``train`` speakers; ``test`` has its
  own sentences read by speakers whose *variants* (``held_out_variants``) appear in no other split.
* Timings: from eSpeak's WORD and PHONEME events (:mod:`.espeak`), converted to seconds, so they stay
  exact through resampling to 16 kHz, through the speed change (scaled with it) and through the channel
  (which never shifts speech).

Everything follows from ``seed``: the plan (speakers, sentences, rates, channel seeds) is drawn in the
main process and each utterance is rendered from its own seed, so the corpus, audio bytes included, is
the same for any number of workers. ``hours`` is a target: the plan estimates durations from word counts
and rates; the report gives the real total.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import DataError
from .espeak import VoiceSettings
from .festival import FESTIVAL_VOICES
from .flite import FLITE_VOICES
from .piper import PIPER_VOICES

MLS_LANGUAGES = ("en", "fr", "de", "it", "pl", "pt", "es", "nl")

# eSpeak language voices (accents) used for each language
LANGUAGE_VOICES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "en": ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-us-nyc"),  # "en" is British English
        "fr": ("fr", "fr-be", "fr-ch"),
        "de": ("de",),
        "it": ("it",),
        "pl": ("pl",),
        "pt": ("pt-br", "pt"),
        "es": ("es", "es-419"),
        "nl": ("nl",),
    }
)

# Variants that sound like a person: robots, strong echoes, whispers and test voices are left out.
VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "m8",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "Alex",
    "Andrea",
    "Andy",
    "Annie",
    "Denis",
    "Diogo",
    "Gene",
    "Henrique",
    "Hugo",
    "Jacky",
    "Lee",
    "Mario",
    "Michael",
    "Mike",
    "adam",
    "anika",
    "antonio",
    "aunty",
    "belinda",
    "benjamin",
    "boris",
    "david",
    "ed",
    "edward",
    "grandma",
    "grandpa",
    "gustave",
    "ian",
    "iven",
    "john",
    "kaukovalta",
    "klatt",
    "linda",
    "marcelo",
    "max",
    "michel",
    "miguel",
    "norbert",
    "paul",
    "pedro",
    "quincy",
    "rob",
    "robert",
    "sandro",
    "shelby",
    "steph",
    "travis",
    "victor",
    "zac",
)
# Heard only in the test split (male and female, formant and klatt synthesis)
HELD_OUT_VARIANTS = ("m6", "f4", "Annie", "benjamin", "gustave", "linda", "quincy", "travis")


@dataclass(frozen=True)
class OtherEngine:
    """A synthesiser beside eSpeak: the language it speaks, its voices, and which of them only the test split hears.

    ``pitch``: whether the engine takes a pitch (speakers are then (voice, pitch, rate); otherwise (voice, rate)
    with the voice's own pitch, and one speaker per voice).
    """

    language: str
    voices: tuple[str, ...]
    held_out: tuple[str, ...]
    pitch: bool = True

    @property
    def seen(self) -> tuple[str, ...]:
        return tuple(v for v in self.voices if v not in self.held_out)


OTHER_ENGINES: Mapping[str, OtherEngine] = MappingProxyType(
    {
        # train/valid keep a US male (kal16), a Scottish male (awb) and a US female (slt); test the US male rms
        "flite": OtherEngine("en", FLITE_VOICES, held_out=("rms",)),
        # one voice: heard in training only
        "piper": OtherEngine("en", PIPER_VOICES, held_out=(), pitch=False),
        # a female (lp) and a male (pc) voice: holding one out would leave training a single Festival voice
        "festival": OtherEngine("it", FESTIVAL_VOICES, held_out=()),
    }
)

# One-letter tokens of wordfreq that are words (others are elision fragments such as French "l")
ONE_LETTER_WORDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "en": frozenset("ai"),
        "fr": frozenset("aày"),
        "de": frozenset(),
        "it": frozenset("aeèoi"),
        "pl": frozenset("wizoau"),
        "pt": frozenset("aoeéà"),
        "es": frozenset("ayoeu"),
        "nl": frozenset("u"),
    }
)
SPLITS = ("train", "valid", "test")
MAX_REPEATED_SENTENCES = 10_000  # draws of already used sentences before the plan gives up
SECONDS_PER_SYLLABLE_AT_175_WPM = 0.175  # measured on eSpeak's output (1 h corpus); used to plan only


@dataclass(frozen=True)
class SyntheticCorpusConfig:
    """Everything that decides the corpus; the same config and seed give the same corpus."""

    hours: float = 1.0
    seed: int = 0
    languages: tuple[str, ...] = MLS_LANGUAGES
    vocab_size: int = 3000
    frequency_exponent: float = 0.5
    min_words: int = 3
    max_words: int = 20
    readers_per_sentence: int = 2
    speakers_per_language: int = 24  # train and valid speakers
    test_speakers_per_language: int = 6
    held_out_variants: tuple[str, ...] = HELD_OUT_VARIANTS
    valid_fraction: float = 0.05
    test_fraction: float = 0.05
    augment_probability: float = 0.7
    sample_rate: int = 16000
    pitch: tuple[int, int] = (20, 80)
    pitch_range: tuple[int, int] = (20, 90)
    rate: tuple[int, int] = (140, 210)  # speaker's own words per minute
    rate_jitter: float = 0.1  # per-utterance rate factor in [1 - jitter, 1 + jitter]
    speed: tuple[float, float] = (0.9, 1.1)  # speed perturbation factor (resampling: tempo and pitch together)
    speed_probability: float = 0.5  # share of utterances whose speed is perturbed
    flite_share: float = 0.0  # share of English sentences read by Flite voices (0: none)
    piper_share: float = 0.0  # share of English sentences read by the Piper voice (0: none)
    festival_share: float = 0.0  # share of Italian sentences read by Festival voices (0: none)
    other_speakers: int = 6  # speakers per other engine (voice, pitch, rate) for train/valid
    other_test_speakers: int = 2  # the same for test, on the engine's held-out voices

    def __post_init__(self) -> None:
        unknown = [lang for lang in self.languages if lang not in LANGUAGE_VOICES]
        if unknown or not self.languages:
            raise DataError(f"languages {list(self.languages)}: choose one or more of {sorted(LANGUAGE_VOICES)}.")
        if not 1 <= self.min_words <= self.max_words:
            raise DataError(f"need 1 <= min_words <= max_words, got {self.min_words} and {self.max_words}.")
        if self.valid_fraction < 0 or self.test_fraction < 0 or self.valid_fraction + self.test_fraction >= 1:
            raise DataError("valid_fraction and test_fraction must be >= 0 and leave some data for training.")
        held_out = set(self.held_out_variants)
        if not held_out or not held_out <= set(VARIANTS) or held_out == set(VARIANTS):
            raise DataError(f"held_out_variants must be some, not all, of {VARIANTS}.")
        if self.hours <= 0 or self.readers_per_sentence < 1:
            raise DataError("hours must be > 0 and readers_per_sentence >= 1.")
        for language in MLS_LANGUAGES:
            shares = self.shares(language).values()
            if any(not 0 <= share <= 1 for share in shares) or sum(shares) > 1:
                raise DataError(
                    f"the shares of {language} sentences read by other engines must lie in [0, 1] and add up to "
                    f"at most 1, got {self.shares(language)}."
                )
        if not 0 < self.speed[0] <= self.speed[1] or not 0 <= self.speed_probability <= 1:
            raise DataError(
                f"need 0 < speed[0] <= speed[1] and 0 <= speed_probability <= 1, got {self.speed} "
                f"and {self.speed_probability}."
            )

    def shares(self, language: str) -> dict[str, float]:
        """Share of ``language``'s sentences each other engine reads (engines of other languages left out)."""
        return {
            engine: getattr(self, f"{engine}_share")
            for engine, spec in OTHER_ENGINES.items()
            if spec.language == language
        }

    def split_hours(self, split: str) -> float:
        """Target hours of one split in one language."""
        fraction = {"valid": self.valid_fraction, "test": self.test_fraction}.get(split)
        fraction = 1.0 - self.valid_fraction - self.test_fraction if fraction is None else fraction
        return self.hours * fraction / len(self.languages)


@dataclass(frozen=True)
class Speaker:
    """A fixed way of speaking; ``rate`` is its habitual rate, varied per utterance.

    ``engine`` "espeak": ``voice`` is an eSpeak language voice and ``variant`` a ``!v`` variant; another engine
    of :data:`OTHER_ENGINES`: ``voice`` is one of its voices, ``variant`` and ``pitch_range`` are unused.
    """

    voice: str
    variant: str | None
    pitch: int
    pitch_range: int
    rate: int
    engine: str = "espeak"

    @property
    def id(self) -> str:
        if self.engine in OTHER_ENGINES:
            return f"{OTHER_ENGINES[self.engine].language}-{self.engine}-{self.voice}:p{self.pitch}"
        return f"{self.voice}+{self.variant}:p{self.pitch}:r{self.pitch_range}"

    def settings(self, rate: int) -> VoiceSettings:
        return VoiceSettings(self.voice, self.variant, rate=rate, pitch=self.pitch, pitch_range=self.pitch_range)


@dataclass(frozen=True)
class UtteranceSpec:
    """One utterance to render: who says what, how fast, and the seed of its channel and silences.

    ``rate`` is the synthesiser's words per minute; ``speed`` then resamples its output (1.0: as it was made).
    """

    id: str
    language: str
    split: str
    speaker: Speaker
    words: tuple[str, ...]
    rate: int
    seed: int
    augment: bool
    speed: float = 1.0


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator for one purpose: independent streams per (seed, key...) that never shift each other."""
    entropy = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]
    return np.random.default_rng(entropy)


def vocabulary(language: str, size: int, exponent: float) -> tuple[list[str], np.ndarray]:
    """Words of ``wordfreq`` and their sampling probabilities ~ frequency**exponent."""
    import wordfreq

    one_letter = ONE_LETTER_WORDS.get(language, frozenset())
    frequencies = wordfreq.get_frequency_dict(language)
    words = [w for w in wordfreq.top_n_list(language, size) if w.isalpha() and (len(w) > 1 or w in one_letter)]
    weights = np.array([frequencies[w] for w in words]) ** exponent
    return words, weights / weights.sum()


def _draw_speakers(
    config: SyntheticCorpusConfig, language: str, variants: Sequence[str], count: int, rng: np.random.Generator
) -> list[Speaker]:
    speakers: dict[str, Speaker] = {}
    order = list(rng.permutation(len(variants)))
    while len(speakers) < count:
        # cycle through the variants so a language uses all of them before repeating one
        variant = variants[order[len(speakers) % len(variants)]]
        speaker = Speaker(
            voice=str(rng.choice(LANGUAGE_VOICES[language])),
            variant=variant,
            pitch=int(rng.integers(config.pitch[0], config.pitch[1] + 1)),
            pitch_range=int(rng.integers(config.pitch_range[0], config.pitch_range[1] + 1)),
            rate=int(rng.integers(config.rate[0], config.rate[1] + 1)),
        )
        speakers.setdefault(speaker.id, speaker)
    return list(speakers.values())


def draw_speakers(config: SyntheticCorpusConfig, language: str) -> dict[str, list[Speaker]]:
    """Speakers of each split: valid shares train's, test has its own from the held-out variants."""
    held_out = set(config.held_out_variants)
    seen = [v for v in VARIANTS if v not in held_out]
    rng = _rng(config.seed, "speakers", language)
    train = _draw_speakers(config, language, seen, config.speakers_per_language, rng)
    test = _draw_speakers(config, language, sorted(held_out), config.test_speakers_per_language, rng)
    return {"train": train, "valid": train, "test": test}


def draw_other_speakers(config: SyntheticCorpusConfig, engine: str) -> dict[str, list[Speaker]]:
    """Speakers of another engine per split: valid shares train's, test's use the held-out voices only."""
    spec = OTHER_ENGINES[engine]
    rng = _rng(config.seed, f"{engine}-speakers")
    by_split = {}
    for split, voices, count in (
        ("train", spec.seen, config.other_speakers),
        ("test", spec.held_out, config.other_test_speakers if spec.held_out else 0),
    ):
        speakers: dict[str, Speaker] = {}
        for attempt in range(100 * count):
            if len(speakers) == count:
                break
            pitch = int(rng.integers(config.pitch[0], config.pitch[1] + 1))
            speaker = Speaker(
                voice=voices[attempt % len(voices)],
                variant=None,
                pitch=pitch if spec.pitch else 50,
                pitch_range=50,
                rate=int(rng.integers(config.rate[0], config.rate[1] + 1)),
                engine=engine,
            )
            speakers.setdefault(speaker.id, speaker)
        by_split[split] = list(speakers.values())
    return {"train": by_split["train"], "valid": by_split["train"], "test": by_split["test"]}


def _estimated_seconds(words: Sequence[str], rate: int) -> float:
    syllables = sum(max(1, sum(c in "aeiouyàáâãäåèéêëìíîïòóôõöùúûüąęó" for c in w)) for w in words)
    return syllables * SECONDS_PER_SYLLABLE_AT_175_WPM * 175 / rate


def _sentence(
    config: SyntheticCorpusConfig, vocab: tuple[list[str], np.ndarray], rng: np.random.Generator
) -> tuple[str, ...]:
    words, probabilities = vocab
    length = int(rng.integers(config.min_words, config.max_words + 1))
    return tuple(words[i] for i in rng.choice(len(words), size=length, p=probabilities))


def _other_engine(shares: Mapping[str, float], draw: float) -> str | None:
    """The engine whose slice of [0, 1) holds ``draw`` (slices laid end to end in table order); None: eSpeak."""
    edge = 0.0
    for engine, share in shares.items():
        edge += share
        if draw < edge:
            return engine
    return None


def plan_language(config: SyntheticCorpusConfig, language: str) -> list[UtteranceSpec]:
    """All utterances of one language, every split, drawn from (seed, language) only."""
    vocab = vocabulary(language, config.vocab_size, config.frequency_exponent)
    speakers = draw_speakers(config, language)
    shares = {engine: share for engine, share in config.shares(language).items() if share > 0}
    others = {engine: draw_other_speakers(config, engine) for engine in shares}
    used: set[tuple[str, ...]] = set()  # a sentence belongs to one split only
    specs: list[UtteranceSpec] = []
    for split in SPLITS:
        rng = _rng(config.seed, "utterances", language, split)
        speeds = _rng(config.seed, "speed", language, split)  # its own stream: the rest of the plan stays put
        engines = _rng(config.seed, "engine", language, split)  # so does the choice of other engines' readers
        budget, spent, repeats = config.split_hours(split) * 3600, 0.0, 0
        while spent < budget:
            words = _sentence(config, vocab, rng)
            if words in used:
                repeats += 1
                if repeats > MAX_REPEATED_SENTENCES:
                    raise DataError(
                        f"{language}: the vocabulary and sentence lengths allow too few distinct sentences "
                        f"for {config.hours} h; raise vocab_size or max_words."
                    )
                continue
            used.add(words)
            engine = _other_engine(shares, engines.random()) if shares else None
            if engine is not None and others[engine][split]:
                pool = others[engine][split]
                readers = engines.choice(len(pool), size=min(config.readers_per_sentence, len(pool)), replace=False)
            else:
                pool = speakers[split]
                readers = rng.choice(len(pool), size=min(config.readers_per_sentence, len(pool)), replace=False)
            for k in readers:
                speaker = pool[int(k)]
                jitter = rng.uniform(1 - config.rate_jitter, 1 + config.rate_jitter)
                rate = int(np.clip(round(speaker.rate * jitter), 80, 450))
                perturb, factor = speeds.random() < config.speed_probability, speeds.uniform(*config.speed)
                speed = round(float(factor), 4) if perturb else 1.0
                specs.append(
                    UtteranceSpec(
                        id=f"{language}_{split}_{len(specs):06d}",
                        language=language,
                        split=split,
                        speaker=speaker,
                        words=words,
                        rate=rate,
                        seed=int(rng.integers(2**31)),
                        augment=bool(rng.random() < config.augment_probability),
                        speed=speed,
                    )
                )
                spent += _estimated_seconds(words, rate) / speed
    return specs


def plan_corpus(config: SyntheticCorpusConfig) -> list[UtteranceSpec]:
    """Every utterance of the corpus, in manifest order."""
    return [spec for language in config.languages for spec in plan_language(config, language)]
