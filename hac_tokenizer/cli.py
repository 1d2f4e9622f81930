"""The hac-tokenizer command: encode audio files to token npz, decode them back, convert a voice, describe a model.

Each command says on stdout where its outputs went; long ones show a progress bar on stderr; -q/--quiet
silences both (warnings and errors are still printed).

Exit status: 0 when everything was done; 1 when some files failed (each is listed on stderr, the rest were
done); 2 on a usage or input error, found before any work where it can be (nothing is written then).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from .audio import list_audio_files, output_format, save_audio
from .errors import DatasetError, HACError, OutputPathError, PrecisionError
from .tokenizer import HACTokenizer
from .tokens import HACTokens

if TYPE_CHECKING:
    from .sources import Source

log = logging.getLogger("hac_tokenizer")


ENCODING_COMMANDS = ("encode", "convert-voice", "tokenize-dataset")


def _load(args: argparse.Namespace) -> HACTokenizer:
    import torch

    if args.dtype == "bf16" and args.command in ENCODING_COMMANDS:
        # refused here, before any work: inside a bulk run every item would fail one by one (and a dataset's
        # shards would be written with every item marked failed)
        raise PrecisionError(
            f"{args.command} encodes, and encoding refuses bf16 (token choice depends on the hardware's bf16 "
            "kernels); use --dtype fp16 or fp32. bf16 is for decode only."
        )
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    return HACTokenizer.from_pretrained(args.model, device=args.device, dtype=dtype)


def _output_for(source: Path, root: Path, out: Path, suffix: str) -> Path:
    relative = source.relative_to(root) if root.is_dir() else Path(source.name)
    return (out / relative).with_suffix(suffix)


def _output_key(target: Path) -> str:
    """Output paths that differ only in case are one file on macOS and Windows: compare them as one."""
    return str(target).casefold()


def _check_out_dir(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"-o {path} is a file; pass a directory to write the outputs in.")
    return path


def _plan(jobs: list[tuple[Path, Path]], out: Path, suffix: str) -> list[tuple[Path, Path]]:
    """Drop repeats of one file, then refuse, before any work, inputs that would write the same output.

    Every output is named after its input without the extension (``a.wav`` -> ``a.npz``), so ``a.wav`` and
    ``a.mp3`` in one folder, or two ``a.wav`` from different folders given as files, would share one
    output: the last one written would silently replace the others.
    """
    unique: dict[tuple[Path, str], tuple[Path, Path]] = {}
    claims: dict[str, tuple[Path, list[Path]]] = {}  # output key -> (output, the inputs that write it)
    for root, path in jobs:
        target = _output_for(path, root, out, suffix)
        key = (path.resolve(), _output_key(target))
        if key in unique:  # the same file reached twice (a folder and a file in it) is done once
            continue
        unique[key] = (root, path)
        claims.setdefault(key[1], (target, []))[1].append(path)
    shared = [(target, paths) for target, paths in claims.values() if len(paths) > 1]
    if shared:
        lines = [f"  {target} <- {', '.join(map(str, paths))}" for target, paths in shared[:10]]
        more = [f"  ... and {len(shared) - 10} more outputs"] if len(shared) > 10 else []
        raise OutputPathError(
            f"{sum(len(paths) for _, paths in shared)} inputs would share {len(shared)} output file(s) (an output is "
            "named after its input without the extension), and only the last input of each would be kept:\n"
            + "\n".join(lines + more)
            + "\nNothing was written. Rename the inputs, or run them separately with different -o directories."
        )
    return list(unique.values())


def cmd_encode(args: argparse.Namespace) -> int:
    out = _check_out_dir(args.out)
    found = [(root, f) for root in map(Path, args.inputs) for f in list_audio_files(root)]
    if not found:
        raise HACError(f"no audio files found in {', '.join(args.inputs)}.")
    jobs = _plan(found, out, ".npz")
    tok = _load(args)

    def encode_one(root: Path, path: Path) -> None:
        target = _output_for(path, root, out, ".npz")
        if not (args.skip_existing and target.exists()):
            tok.encode(path).save(target)

    return _run_bulk(args, jobs, "encode", encode_one, out)


def cmd_decode(args: argparse.Namespace) -> int:
    out = _check_out_dir(args.out)
    found = [(root, f) for root in map(Path, args.inputs) for f in _token_files(root)]
    if not found:
        raise HACError(f"no .npz token files found in {', '.join(args.inputs)}.")
    jobs = _plan(found, out, ".wav")
    tok = _load(args)
    written: dict[
        str, Path
    ] = {}  # a batch file a.npz writes a_0.wav, a_1.wav: a token file a_0.npz must not replace it

    def decode_one(root: Path, path: Path) -> None:
        audio = tok.decode(HACTokens.load(path))
        base = _output_for(path, root, out, ".wav")  # a.b.npz -> a.b.wav (a batch: a.b_0.wav, a.b_1.wav, ...)
        n = len(audio)
        targets = [base] if n == 1 else [base.with_name(f"{base.stem}_{i}{base.suffix}") for i in range(n)]
        for target in targets:
            if written.get(_output_key(target), path) != path:
                raise OutputPathError(
                    f"{target} was already written from {written[_output_key(target)]} in this run; not replacing it. "
                    "Rename one of the two token files, or decode it separately to another -o directory."
                )
        for i, target in enumerate(targets):
            written[_output_key(target)] = path
            audio.save(target, index=i)

    return _run_bulk(args, jobs, "decode", decode_one, out)


def _run_bulk(
    args: argparse.Namespace, jobs: list[tuple[Path, Path]], desc: str, work: Callable[[Path, Path], None], out: Path
) -> int:
    """Run ``work(root, path)`` on every job with a progress bar; failures are skipped and reported."""
    failures: list = []
    for root, path in tqdm(jobs, desc=desc, unit="file", disable=args.quiet):
        try:
            work(root, path)
        except Exception as err:  # noqa: BLE001 - one bad file must not end a long bulk run; see _skip_or_raise
            _skip_or_raise(args, path, err, failures)
    _say(args, f"{desc}: {len(jobs) - len(failures)} of {len(jobs)} inputs done, outputs in {out}")
    return _report(len(jobs), failures)


def _say(args: argparse.Namespace, message: str) -> None:
    """Where the outputs went, on stdout, unless ``--quiet``."""
    if not args.quiet:
        print(message)


def _skip_or_raise(args: argparse.Namespace, path: Path, err: Exception, failures: list) -> None:
    """Record a failed file and go on, or re-raise with ``--fail-fast``.

    A :class:`HACError` is a bad input and gets one log line; anything else is unexpected (a bug, or out
    of memory on one huge file) and is logged with its traceback, but still skipped.
    """
    if args.fail_fast:
        raise err
    if isinstance(err, HACError):
        log.warning("skipped %s: %s", path, err)
    else:
        log.error("skipped %s: unexpected %s", path, type(err).__name__, exc_info=err)
    failures.append((path, err))


def _token_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.rglob("*.npz"))
    if not path.exists():  # a usage error, found before any work (as encode does), not one failed file
        raise HACError(f"no such file or directory: {path}")
    return [path]


def _report(total: int, failures: list) -> int:
    if failures:
        print(f"{total - len(failures)} of {total} files done; {len(failures)} failed:", file=sys.stderr)
        for path, err in failures:
            print(f"  {path}: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    if args.list:
        for name, description in HACTokenizer.available_models().items():
            print(f"{name:18s} {description}")
        return 0
    tok = _load(args)
    c = tok.config
    print(f"model         {tok.name}")
    print(f"parameters    {tok.num_parameters():,}")
    print(f"sample rate   {c.sample_rate} Hz, hop {c.hop_length} samples, {c.frame_rate:g} frames/s")
    for name, size in c.vocab_sizes().items():
        layers = f" x {c.acoustic_layers} RVQ layers" if name == "acoustic" else ""
        print(f"stream        {name:9s} vocab {size}{layers}")
    print(f"bitrate       {c.bitrate:.0f} bps ({c.bits_per_frame:g} bits per frame)")
    return 0


def cmd_convert_voice(args: argparse.Namespace) -> int:
    if Path(args.out).is_dir():
        raise OutputPathError(f"-o {args.out} is a directory; pass an audio file name such as converted.wav.")
    output_format(args.out)  # an unwritable format (mp3, ogg) is refused before the conversion, not after
    tok = _load(args)
    audio = tok.convert_voice(args.source, args.reference, layers=args.layers, fit=args.fit)
    save_audio(args.out, audio.unbatch()[0], audio.sample_rate)
    _say(args, f"convert-voice: wrote {args.out}")
    return 0


def _dataset_source(args: argparse.Namespace) -> Source:
    """The corpus: exactly one of SOURCE, --hf-dataset and --lhotse-cuts."""
    from .sources import FileSource, HFDatasetSource, LhotseSource

    given = [
        name
        for name, value in (
            ("SOURCE", args.source),
            ("--hf-dataset", args.hf_dataset),
            ("--lhotse-cuts", args.lhotse_cuts),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise DatasetError(
            f"tokenize-dataset reads one corpus, got {' and '.join(given) or 'none'}: pass a manifest or audio "
            "directory as SOURCE, or --hf-dataset DIR, or --lhotse-cuts FILE."
        )
    if args.hf_dataset is not None:
        return HFDatasetSource(args.hf_dataset, args.audio_column, args.id_column)
    if args.lhotse_cuts is not None:
        return LhotseSource(args.lhotse_cuts)
    return FileSource(args.source)


def cmd_tokenize_dataset(args: argparse.Namespace) -> int:
    from .dataset import Settings, rank_from_env, run_from_env

    source = _dataset_source(args)
    settings = Settings(
        shard_size=args.shard_size,
        shard_format=args.format,
        batch_size=args.batch_size,
        batch_seconds=args.batch_seconds,
        num_workers=args.workers,
        streams=tuple(args.streams) if args.streams else None,
        window_seconds=args.window_seconds,
        overlap_seconds=args.overlap_seconds,
        progress=not args.quiet,
        fail_fast=args.fail_fast,
    )

    def load_on(device: str) -> HACTokenizer:
        args.device = device
        return _load(args)

    run_from_env(load_on, source, args.out, args.device, settings)
    if rank_from_env().rank != 0:
        return 0  # rank 0 wrote index.json after every rank finished, and reports for all
    index_path = Path(args.out) / "index.json"
    index = json.loads(index_path.read_text())
    failures = [(item_id, error) for shard in index["shards"] for item_id, error in shard["failed"].items()]
    _say(
        args,
        f"tokenize-dataset: {index['num_items']} items in {len(index['shards'])} {index['format']} shards "
        f"under {Path(args.out) / 'shards'}; index: {index_path}",
    )
    return _report(index["num_items"] + index["num_failed"], failures)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import DemoApp, serve

    app = DemoApp(_load(args), max_upload_bytes=int(args.max_upload_mb * 2**20), max_seconds=args.max_seconds)
    serve(app, args.host, args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hac-tokenizer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default=None, help="registry name, checkpoint dir or Hub repo (default: bundled)")
        p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
        p.add_argument("--dtype", default="fp32", choices=("fp32", "fp16", "bf16"))

    def bulk_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("-o", "--out", required=True, help="output directory (mirrors input directories)")
        p.add_argument("--fail-fast", action="store_true", help="stop at the first bad file instead of skipping it")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary of the outputs")

    enc = sub.add_parser("encode", help="audio files or directories -> one .npz of tokens per file")
    enc.add_argument("inputs", nargs="+")
    enc.add_argument("--skip-existing", action="store_true", help="leave files whose .npz exists (resume)")
    model_args(enc)
    bulk_args(enc)
    enc.set_defaults(func=cmd_encode)

    dec = sub.add_parser("decode", help=".npz token files or directories -> .wav files")
    dec.add_argument("inputs", nargs="+")
    model_args(dec)
    bulk_args(dec)
    dec.set_defaults(func=cmd_decode)

    vc = sub.add_parser("convert-voice", help="speech of SOURCE in the voice of REFERENCE -> one audio file")
    vc.add_argument("source", help="audio file whose words and phones are kept")
    vc.add_argument("reference", help="audio file of the target voice (any length: looped or cropped)")
    vc.add_argument("-o", "--out", required=True, help="output audio file: .wav, .flac, .aiff or .au (16-bit PCM)")
    vc.add_argument(
        "--layers",
        type=int,
        nargs="+",
        default=None,
        help="RVQ layers to take from the reference (0 = coarsest; default all)",
    )
    vc.add_argument(
        "--fit", default="loop", choices=("loop", "stretch"), help="how the reference is fitted to the source's length"
    )
    vc.add_argument("-q", "--quiet", action="store_true", help="do not print where the output went")
    model_args(vc)
    vc.set_defaults(func=cmd_convert_voice)

    ds = sub.add_parser(
        "tokenize-dataset",
        help="a manifest, audio directory, saved datasets dataset or Lhotse CutSet -> token shards + index.json "
        "(torchrun for many GPUs; resumable)",
    )
    ds.add_argument("source", nargs="?", help="JSONL manifest (hac_tokenizer.manifest) or a directory of audio files")
    ds.add_argument("--hf-dataset", metavar="DIR", help="instead of SOURCE: a datasets dataset saved by save_to_disk")
    ds.add_argument(
        "--audio-column", default="audio", help="its audio column (datasets.Audio, or array + sampling_rate)"
    )
    ds.add_argument("--id-column", default=None, help="its column of item ids (default: row numbers)")
    ds.add_argument(
        "--lhotse-cuts", metavar="FILE", help="instead of SOURCE: a Lhotse CutSet (cuts.jsonl[.gz]); ids are cut ids"
    )
    ds.add_argument("-o", "--out", required=True, help="output directory: plan.json, shards/*.npz|parquet, index.json")
    ds.add_argument(
        "--format",
        choices=("npz", "parquet"),
        default=None,
        help="shard files: npz (packed token files) or parquet (one row per item); default npz, or the "
        "format of the run being resumed",
    )
    ds.add_argument("--shard-size", type=int, default=256, help="items per shard file (the unit of resume)")
    ds.add_argument("--batch-size", type=int, default=16, help="most items per forward pass")
    ds.add_argument("--batch-seconds", type=float, default=320.0, help="most padded audio seconds per batch")
    ds.add_argument("--workers", type=int, default=2, help="DataLoader processes decoding audio")
    ds.add_argument("--streams", nargs="+", default=None, help="subset of lexical phonetic acoustic (default all)")
    ds.add_argument("--window-seconds", type=float, default=30.0, help="longer items are encoded in windows")
    ds.add_argument("--overlap-seconds", type=float, default=5.0, help="overlap of consecutive windows")
    ds.add_argument("--fail-fast", action="store_true", help="stop at the first unusable item instead of recording it")
    ds.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary of the outputs")
    model_args(ds)
    ds.set_defaults(func=cmd_tokenize_dataset)

    info = sub.add_parser("info", help="model, streams, vocabulary sizes and bitrate")
    info.add_argument("--list", action="store_true", help="list the registry's models instead")
    model_args(info)
    info.set_defaults(func=cmd_info)

    from .demo import server as demo_server

    demo = sub.add_parser("demo", help="serve a local web page: upload or record speech, see and hear its tokens")
    demo.add_argument("--host", default=demo_server.DEFAULT_HOST, help="listen address (default: this machine only)")
    demo.add_argument("--port", type=int, default=demo_server.DEFAULT_PORT, help="port to listen on (0: any free port)")
    max_mb = demo_server.DEFAULT_MAX_UPLOAD_BYTES / 2**20
    demo.add_argument("--max-upload-mb", type=float, default=max_mb, help="largest request body accepted, MB")
    demo.add_argument("--max-seconds", type=float, default=demo_server.DEFAULT_MAX_SECONDS, help="longest audio, s")
    model_args(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HACError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
