"""Intelligibility of decodes by a recogniser that is not the tokenizer: word error rate of PocketSphinx.

    python benchmarks/intelligibility.py --manifest data/real/en_aligned.jsonl --out results/intelligibility.json

Every other content figure of this project reads the tokenizer's own tokens (PNMI, token agreement after
re-encoding) or a signal measure (STOI). This one asks an independent English recogniser, PocketSphinx 5 with its
shipped en-us acoustic model, dictionary and language model, to transcribe each utterance and its decodes:

* ``original``: the input audio, the reference point: what the recogniser makes of the speech at all;
* ``full``: the decode of every stream (the round trip a user hears);
* ``lexical+phonetic``: the decode of the content streams alone (acoustic tokens zeroed), the speech the content
  tokens carry by themselves;
* ``converted`` (with ``--voices``): a voice conversion, the content streams decoded with the acoustic tokens of a
  reference recording (``voice.swap_acoustic``, all RVQ layers, ``loop`` fit); utterance ``i`` takes reference
  ``i mod len(voices)``. Another speaker's voice, so the recogniser meets a harder input as well: read it against
  ``full``.

WER is pooled over utterances (word errors, by edit distance, over reference words); references are the entries'
transcripts, normalised as the aligner reads them (``training.data.align.normalize_text``: lower case, digits and
symbols spelled out). Entries that are not English, have no transcript, or whose transcript holds a number of
several digits are left out and counted. ``x original`` is a condition's WER over the original's, in the same run.
PocketSphinx is a small HMM recogniser: its WER on clean read speech is far above a modern ASR's, so read the
ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hac_tokenizer import HACTokenizer
from hac_tokenizer.audio import to_mono_items
from hac_tokenizer.evaluation.collect import decode_all
from hac_tokenizer.manifest import ManifestEntry, read_manifest
from hac_tokenizer.training.data.align import normalize_text, pocketsphinx_module, to_pcm16
from hac_tokenizer.training.errors import AlignmentError
from hac_tokenizer.voice import swap_acoustic

SAMPLE_RATE = 16000  # the en-us acoustic model's rate
# decode name -> streams, as evaluation.collect.decode_all takes them ("full": the public decode of every stream)
CONDITIONS = {"full": (), "lexical+phonetic": ("lexical", "phonetic")}


class Recogniser:
    """PocketSphinx 5 with its shipped en-us model: 16 kHz float audio in, lower-case words out."""

    def __init__(self) -> None:
        # cepstral mean normalisation over each whole utterance: the default ("live") starts from the estimate the
        # previous utterance left, so a transcript would depend on what was heard before it
        self._decoder = pocketsphinx_module().Decoder(loglevel="FATAL", cmn="batch")

    def transcribe(self, audio: np.ndarray) -> list[str]:
        """``audio [S]`` float at 16 kHz -> the recognised words (fillers and silences left out)."""
        self._decoder.start_utt()
        self._decoder.process_raw(to_pcm16(audio), full_utt=True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        return hypothesis.hypstr.lower().split() if hypothesis is not None else []


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Substitutions + deletions + insertions of the cheapest edit from ``reference`` to ``hypothesis``."""
    row = list(range(len(hypothesis) + 1))  # distances from the empty reference prefix
    for i, ref_word in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, hyp_word in enumerate(hypothesis, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ref_word != hyp_word))
    return row[-1]


def references(entries: Sequence[ManifestEntry]) -> tuple[list[tuple[ManifestEntry, list[str]]], dict[str, int]]:
    """The English entries with a transcript to score against, and how many were left out by reason."""
    kept, left_out = [], {"not English": 0, "no transcript": 0, "multi-digit number": 0}
    for entry in entries:
        if not entry.language.startswith("en"):
            left_out["not English"] += 1
            continue
        try:
            words = normalize_text(entry.text)
        except AlignmentError:
            left_out["multi-digit number"] += 1
            continue
        if not words:
            left_out["no transcript"] += 1
            continue
        kept.append((entry, words))
    return kept, left_out


def measure(
    tok: HACTokenizer,
    scored: Sequence[tuple[ManifestEntry, list[str]]],
    voices: Sequence[Path] = (),
    batch_size: int = 8,
) -> dict[str, dict[str, float | int]]:
    """Pooled word errors and WER per condition over ``scored``: ``original``, each of ``CONDITIONS``, and
    ``converted`` when reference ``voices`` are given."""
    recogniser = Recogniser()
    errors = dict.fromkeys(["original", *CONDITIONS, *(["converted"] if voices else [])], 0)
    words = 0
    for begin in range(0, len(scored), batch_size):
        batch = scored[begin : begin + batch_size]
        audio = to_mono_items([entry.audio for entry, _ in batch], None, SAMPLE_RATE)
        tokens = tok.encode(audio, sample_rate=SAMPLE_RATE)
        decoded = decode_all(tok, tokens, CONDITIONS)
        if voices:
            references_audio = [voices[(begin + b) % len(voices)] for b in range(len(batch))]
            voice = tok.encode(to_mono_items(references_audio, None, SAMPLE_RATE), sample_rate=SAMPLE_RATE)
            decoded["converted"] = tok.decode(swap_acoustic(tokens, voice))
        for b, (_, reference) in enumerate(batch):
            words += len(reference)
            errors["original"] += word_errors(reference, recogniser.transcribe(audio[b].numpy()))
            for name, result in decoded.items():
                waveform = result.waveform[b, : int(result.lengths[b])].float().cpu().numpy()
                errors[name] += word_errors(reference, recogniser.transcribe(waveform))
    return {name: {"word_errors": e, "words": words, "wer": e / max(words, 1)} for name, e in errors.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, type=Path, help="JSONL manifest with English transcripts")
    parser.add_argument("--model", default="hac-mls8-small", help="registry name or checkpoint directory")
    parser.add_argument("--max-utterances", type=int, default=None, help="score the first N usable entries only")
    parser.add_argument("--voices", type=Path, nargs="*", default=[], help="reference recordings to convert to")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    scored, left_out = references(read_manifest(args.manifest))
    scored = scored[: args.max_utterances]
    if not scored:
        sys.exit(f"{args.manifest}: no English entry with a transcript to score ({left_out})")
    tok = HACTokenizer.from_pretrained(args.model)
    results = measure(tok, scored, args.voices)
    original = results["original"]["wer"]
    print(
        f"model {tok.name} ({args.model}): {len(scored)} utterances, {results['original']['words']} words; "
        f"left out {left_out}; recogniser PocketSphinx en-us"
    )
    print("\n| condition | WER | x original |\n|---|---|---|")
    for name, figures in results.items():
        ratio = figures["wer"] / original if original else float("nan")
        print(f"| {name} | {figures['wer']:.3f} | {ratio:.2f} |")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        summary = {"model": args.model, "utterances": len(scored), "left_out": left_out, "conditions": results}
        summary["voices"] = [str(v) for v in args.voices]
        args.out.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
