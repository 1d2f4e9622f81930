"""hac-eval: measure a HAC checkpoint on a JSONL manifest with phone and word alignments.

Metric groups (--metrics, all by default):

  pnmi            phone-normalised mutual information I(phone; token) / H(phone) over frames with a phone
                  label, for lexical, phonetic and each acoustic RVQ layer; per language and averaged.
  word_detection  Harwath et al. (2020) word detectors: F1 of every (word type, token) pair over word
                  segments; the maximum F1 and how many tokens exceed F1 0.3 / 0.5 / 0.7 / 0.9, per stream.
  abx             triphone ABX error within and across speakers; frame-wise DTW with angular distance over
                  token-embedding features (normalised codebook vectors), per stream.
  codebook        codebook usage and perplexity per stream and RVQ layer; nominal and entropy bitrate.
  reconstruction  multi-scale mel distance (7 scales, windows 32..2048, 5..320 mels), multi-scale STFT
                  distance (windows 2048, 512), SI-SDR, PESQ (wb), STOI, ViSQOL if installed; for the full
                  decode and for decodes from stream subsets (--ablations; the other streams zeroed).
  probes          linear probes (logistic regression, utterance-level split): speaker identity from
                  time-pooled embeddings and phone identity from frame embeddings, per stream.

Writes OUT/metrics.json, OUT/report.md and PNG plots (layer-wise PNMI, F1-threshold curves,
per-language PNMI, spectrograms of an original and its decodes), and says so on stdout; progress bars go to
stderr; -q/--quiet silences both.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from ..errors import HACError
from ..manifest import read_manifest
from ..tokenizer import HACTokenizer
from .report import write_report
from .runner import METRIC_GROUPS, EvalOptions, collect_manifest, evaluate


def _csv(choices: tuple[str, ...] | None = None):
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(x.strip() for x in text.split(",") if x.strip())
        bad = [x for x in items if choices is not None and x not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {', '.join(choices)}")
        return items

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hac-eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="registry name or checkpoint directory (default: the bundled model)"
    )
    parser.add_argument("--manifest", required=True, help="JSONL manifest with phone/word alignments and speakers")
    parser.add_argument("--out", required=True, help="output directory for metrics.json, report.md and plots")
    parser.add_argument("--split", default=None, help="only entries of this split (e.g. test)")
    parser.add_argument("--max-utterances", type=int, default=None, help="evaluate the first N entries only")
    parser.add_argument(
        "--metrics", type=_csv(METRIC_GROUPS), default=METRIC_GROUPS, help="comma-separated groups (default: all)"
    )
    parser.add_argument(
        "--ablations",
        type=_csv(),
        default=("lexical+phonetic", "acoustic"),
        help="comma-separated stream subsets to decode from, streams joined by '+' "
        "(default: lexical+phonetic,acoustic)",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--min-word-count",
        type=int,
        default=2,
        help="word types with fewer segments are not candidates (default 2: a word seen once is trivially detected)",
    )
    parser.add_argument("--abx-max-triplets", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0, help="seed of ABX sampling and probe splits")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, no summary of the outputs")
    return parser


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def run(args: argparse.Namespace) -> Path:
    tok = HACTokenizer.from_pretrained(args.model, device=_device(args.device))
    entries = read_manifest(args.manifest, split=args.split)[: args.max_utterances]
    streams = tuple(tuple(s.split("+")) for s in args.ablations)
    options = EvalOptions(
        metrics=args.metrics,
        batch_size=args.batch_size,
        ablations=streams,
        min_word_count=args.min_word_count,
        abx_max_triplets=args.abx_max_triplets,
        seed=args.seed,
    )
    with tqdm(total=len(entries), desc="encode/decode", unit="utt", disable=args.quiet) as bar:
        collected = collect_manifest(tok, entries, options, bar.update)
    with tqdm(total=len(options.metrics), desc="metrics", unit="group", disable=args.quiet) as bar:

        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()

        metrics = evaluate(tok, collected, options, step)
    metrics["manifest"] = str(args.manifest)
    metrics["settings"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()}
    return write_report(metrics, collected.examples, tok.sample_rate, args.out)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        report = run(args)
    except HACError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.quiet:
        plots = sorted(p.name for p in report.parent.glob("*.png") if p.name in report.read_text())
        print(
            f"hac-eval: metrics in {report.parent / 'metrics.json'}, report in {report}"
            + (f", plots {', '.join(plots)} beside it" if plots else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
