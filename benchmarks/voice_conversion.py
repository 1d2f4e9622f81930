"""Voice conversion on held-out voices: does the output sound like the reference and still say the source's words?

    hac-prepare-data synthetic --out data/synth --hours 2 --languages en fr de es
    python benchmarks/voice_conversion.py --manifest data/synth/manifest.jsonl --out results/voice_conversion.json

Protocol (rerun it for every checkpoint; the default model is the bundled one):

* Voices: speakers of the ``test`` split (their eSpeak variants appear in no training split) with at
  least 3 utterances. Per speaker, its first two utterances (by id) are the conversion pool, the rest
  train the speaker probe.
* Speaker probe: multinomial logistic regression on a model-independent voice feature, the mean and std of
  40-band log-mel energies over 1 s chunks of audio, trained on the model's *reconstructions* of the probe
  utterances (so the probe hears voices through the codec, as it will hear the conversions). An utterance
  is classified by the mean log-probability of its chunks. ``probe ceiling`` is its accuracy on the
  reconstructions of the (unseen) pool utterances of the same speakers; ``on original audio`` is the same
  recipe without the codec, which checks that the feature separates these voices at all.
* Pairs: ``--pairs`` ordered pairs of different speakers (A, B), drawn with ``--seed``; source = A's
  first pool utterance, reference = B's second one. Each condition converts every pair.
* Voice transfer: share of outputs the probe assigns to the reference speaker B (``to ref``) and to
  the source speaker A (``to src``); chance is 1 / number of speakers.
* Content kept: the output is re-encoded; ``phn agree`` / ``lex agree`` are the shares of frames whose
  phonetic / lexical token equals the source's own token, and ``phn PNMI`` the PNMI of the re-encoded
  phonetic tokens against the source's frame phone labels (``source PNMI``: the source's own tokens).
* Uncertainty: ``to ref`` carries its 95 % Wilson interval over the pairs, ``phn agree`` the half-width of
  the 95 % interval of its mean over pairs; with 60 pairs one conversion is 0.017 of ``to ref``.
* Condition ``reconstruction`` (no swap) is the reference point: its ``to ref`` is the false-positive
  rate, its agreements the ceiling set by re-encoding alone.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.audio import to_mono_items
from hac_tokenizer.evaluation.pnmi import pnmi
from hac_tokenizer.evaluation.probes import wilson_interval
from hac_tokenizer.evaluation.reconstruction import magnitude, mel_filters
from hac_tokenizer.manifest import ManifestEntry, frame_labels, read_manifest
from hac_tokenizer.voice import swap_acoustic

N_FFT, N_MELS, CHUNK_SECONDS = 512, 40, 1.0


@dataclass(frozen=True)
class Condition:
    name: str
    layers: tuple[int, ...] | None  # None: every RVQ layer from the reference
    fit: str | None  # None: no swap (plain reconstruction)


def conditions(num_layers: int) -> list[Condition]:
    return [
        Condition("reconstruction", None, None),
        Condition("loop, all layers", None, "loop"),
        Condition("stretch, all layers", None, "stretch"),
        Condition(f"loop, layers 1-{num_layers - 1}", tuple(range(1, num_layers)), "loop"),
    ]


# -- speaker probe ------------------------------------------------------------------------------
def voice_features(waveform: Tensor, sample_rate: int) -> Tensor:
    """``[S] -> [C, 2 * N_MELS]``: mean and std of log-mel energies over each 1 s chunk (at least one)."""
    mel = mel_filters(sample_rate, N_FFT, N_MELS) @ magnitude(waveform.float().cpu(), N_FFT) ** 2  # [M, F]
    log_mel = torch.log(mel + 1e-6)
    per_chunk = round(CHUNK_SECONDS * sample_rate / (N_FFT // 4))
    chunks = log_mel.split(per_chunk, dim=-1)
    chunks = [c for c in chunks if c.shape[-1] >= per_chunk // 2] or [log_mel]
    return torch.stack([torch.cat([c.mean(-1), c.std(-1)]) for c in chunks])


class SpeakerProbe:
    """Logistic regression on standardised chunk features; an utterance's class maximises its chunks' mean log-prob."""

    def __init__(self, features: list[Tensor], speakers: list[str], steps: int = 200, weight_decay: float = 1e-3) -> None:
        self.classes = sorted(set(speakers))
        x = torch.cat(features)
        y = torch.cat([torch.full((len(f),), self.classes.index(s)) for f, s in zip(features, speakers)])
        self.mean, self.std = x.mean(0), x.std(0).clamp_min(1e-6)
        x = (x - self.mean) / self.std
        self.weight = torch.zeros(x.shape[1], len(self.classes), requires_grad=True)
        self.bias = torch.zeros(len(self.classes), requires_grad=True)
        optimizer = torch.optim.LBFGS([self.weight, self.bias], max_iter=steps, line_search_fn="strong_wolfe")

        def closure() -> Tensor:
            optimizer.zero_grad()
            loss = F.cross_entropy(x @ self.weight + self.bias, y) + weight_decay * self.weight.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)

    @torch.no_grad()
    def predict(self, features: Tensor) -> str:
        logits = ((features - self.mean) / self.std) @ self.weight + self.bias
        return self.classes[int(logits.log_softmax(-1).mean(0).argmax())]


# -- data ---------------------------------------------------------------------------------------
def held_out_voices(manifest: Path, split: str, min_utterances: int) -> dict[str, list[ManifestEntry]]:
    by_speaker: dict[str, list[ManifestEntry]] = defaultdict(list)
    for entry in read_manifest(manifest, split=split):
        by_speaker[entry.speaker].append(entry)
    voices = {s: sorted(e, key=lambda e: e.id) for s, e in sorted(by_speaker.items()) if len(e) >= min_utterances}
    if len(voices) < 2:
        raise SystemExit(f"{manifest} has {len(voices)} {split!r} speakers with >= {min_utterances} utterances; make a larger corpus.")
    return voices


def load(entry: ManifestEntry, sample_rate: int) -> Tensor:
    return to_mono_items(str(entry.audio), None, sample_rate)[0]


def agreement(a: Tensor, b: Tensor) -> float:
    return float((a == b).float().mean())


def half_width(values: list[float], z: float = 1.96) -> float:
    """Half-width of the normal 95 % interval of a mean over pairs."""
    return z * float(np.std(values, ddof=1)) / len(values) ** 0.5 if len(values) > 1 else float("nan")


# -- measurement --------------------------------------------------------------------------------
def convert(tok: HACTokenizer, source: HACTokens, reference: HACTokens, condition: Condition) -> Tensor:
    tokens = source if condition.fit is None else swap_acoustic(source, reference, condition.layers, condition.fit)
    return tok.decode(tokens).waveform[0]


def measure(tok: HACTokenizer, voices: dict[str, list[ManifestEntry]], pairs: int, seed: int) -> dict:
    rate = tok.sample_rate
    encoded = {e.id: tok.encode(load(e, rate)) for entries in voices.values() for e in entries[:2]}
    probe_items = [(s, e) for s, entries in voices.items() for e in entries[2:]]
    probe = SpeakerProbe(
        [voice_features(tok.decode(tok.encode(load(e, rate))).waveform[0], rate) for _, e in probe_items],
        [s for s, _ in probe_items],
    )
    pool = [(s, e) for s, entries in voices.items() for e in entries[:2]]
    ceiling = np.mean([probe.predict(voice_features(tok.decode(encoded[e.id]).waveform[0], rate)) == s for s, e in pool])
    # The same probe recipe on the original audio: checks the feature separates these voices at all.
    clean = SpeakerProbe([voice_features(load(e, rate), rate) for _, e in probe_items], [s for s, _ in probe_items])
    clean_accuracy = np.mean([clean.predict(voice_features(load(e, rate), rate)) == s for s, e in pool])

    rng = random.Random(seed)
    all_pairs = [(a, b) for a in voices for b in voices if a != b]
    chosen = rng.sample(all_pairs, min(pairs, len(all_pairs)))
    results = {}
    for condition in conditions(tok.config.acoustic_layers):
        to_ref, to_src, phn, lex, phones, tokens = [], [], [], [], [], []
        for a, b in chosen:
            src_entry, ref_entry = voices[a][0], voices[b][1]
            source = encoded[src_entry.id]
            output = convert(tok, source, encoded[ref_entry.id], condition)
            guess = probe.predict(voice_features(output, rate))
            to_ref.append(guess == b)
            to_src.append(guess == a)
            again = tok.encode(output)
            phn.append(agreement(again.phonetic[0], source.phonetic[0]))
            lex.append(agreement(again.lexical[0], source.lexical[0]))
            labels = frame_labels(src_entry.phones, int(source.lengths[0]), tok.frame_rate)
            keep = [t for t, label in enumerate(labels) if label is not None]
            phones += [labels[t] for t in keep]
            tokens += again.phonetic[0, keep].tolist()
        results[condition.name] = {
            "to_reference": float(np.mean(to_ref)),
            "to_reference_95": wilson_interval(sum(to_ref), len(to_ref)),
            "to_source": float(np.mean(to_src)),
            "phonetic_agreement": float(np.mean(phn)),
            "phonetic_agreement_95": half_width(phn),
            "lexical_agreement": float(np.mean(lex)),
            "phonetic_pnmi": pnmi(phones, tokens),
        }
    source_phones, source_tokens = [], []
    for a, _ in chosen:
        entry, codes = voices[a][0], encoded[voices[a][0].id]
        labels = frame_labels(entry.phones, int(codes.lengths[0]), tok.frame_rate)
        keep = [t for t, label in enumerate(labels) if label is not None]
        source_phones += [labels[t] for t in keep]
        source_tokens += codes.phonetic[0, keep].tolist()
    return {
        "model": tok.name,
        "speakers": len(voices),
        "pairs": len(chosen),
        "probe_utterances": len(probe_items),
        "chance": 1 / len(voices),
        "probe_ceiling": float(ceiling),
        "probe_on_original_audio": float(clean_accuracy),
        "source_pnmi": pnmi(source_phones, source_tokens),
        "conditions": results,
    }


def table(report: dict) -> str:
    lines = [
        (
            f"model {report['model']}: {report['speakers']} held-out speakers, {report['pairs']} pairs, "
            f"chance {report['chance']:.3f}, probe ceiling {report['probe_ceiling']:.3f} "
            f"(on original audio {report['probe_on_original_audio']:.3f}), source PNMI {report['source_pnmi']:.3f}"
        ),
        "",
        "| condition | to ref (95 %) | to src | phn agree (± 95 %) | lex agree | phn PNMI |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in report["conditions"].items():
        low, high = r["to_reference_95"]
        lines.append(
            f"| {name} | {r['to_reference']:.3f} ({low:.3f}-{high:.3f}) | {r['to_source']:.3f} "
            f"| {r['phonetic_agreement']:.3f} ± {r['phonetic_agreement_95']:.3f} "
            f"| {r['lexical_agreement']:.3f} | {r['phonetic_pnmi']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", required=True, type=Path, help="JSONL manifest (hac-prepare-data synthetic)")
    parser.add_argument("--split", default="test", help="split whose speakers are held out from training")
    parser.add_argument("--model", default=None, help="registry name or checkpoint dir (default: bundled)")
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument("--min-utterances", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    tok = HACTokenizer.from_pretrained(args.model)
    report = measure(tok, held_out_voices(args.manifest, args.split, args.min_utterances), args.pairs, args.seed)
    print(table(report))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
