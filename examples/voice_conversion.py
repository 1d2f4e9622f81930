"""Voice conversion, and hearing what each token level carries.

    python examples/voice_conversion.py                              # bundled sample files
    python examples/voice_conversion.py source.wav reference.wav -o out/vc --fit stretch --layers 1 2 3

Writes to the output directory:

* ``converted.wav``: the source's words in the reference's voice (``tok.convert_voice``);
* ``converted_fine_layers.wav``: only RVQ layers 1.. from the reference, layer 0 kept from the source
  (token-level ``swap_acoustic``, then ``decode``), a milder conversion;
* partial decodes of the source (``tok.decode_streams``): ``content_only.wav`` (lexical + phonetic,
  acoustic term zero), ``content_reference_mean.wav`` (the same plus the reference's mean acoustic
  embedding: content in an average of the reference voice), ``acoustic_only.wav`` and
  ``coarse_acoustic.wav`` (all content + only the first acoustic RVQ layer).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from hac_tokenizer import HACTokenizer
from hac_tokenizer.errors import HACError
from hac_tokenizer.voice import swap_acoustic

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=HERE / "audio" / "speech_en.wav")
    parser.add_argument("reference", nargs="?", type=Path, default=HERE / "audio" / "speech_fr.wav")
    parser.add_argument("-o", "--out", type=Path, default=Path("out/voice_conversion"))
    parser.add_argument("--layers", type=int, nargs="+", default=None, help="RVQ layers from the reference (default all)")
    parser.add_argument("--fit", default="loop", choices=("loop", "stretch"), help="length handling (see hac_tokenizer.voice)")
    parser.add_argument("--model", default=None, help="registry name or checkpoint dir (default: bundled)")
    args = parser.parse_args()

    tok = HACTokenizer.from_pretrained(args.model)
    args.out.mkdir(parents=True, exist_ok=True)

    # One call: encode both, swap the acoustic stream, decode.
    tok.convert_voice(str(args.source), str(args.reference), layers=args.layers, fit=args.fit).save(args.out / "converted.wav")

    # The same at token level, keeping the coarsest acoustic layer of the source.
    source, reference = tok.encode(str(args.source)), tok.encode(str(args.reference))
    fine = swap_acoustic(source, reference, layers=range(1, tok.config.acoustic_layers), fit=args.fit)
    assert torch.equal(fine.phonetic, source.phonetic) and torch.equal(fine.lexical, source.lexical)
    tok.decode(fine).save(args.out / "converted_fine_layers.wav")

    # Partial decoding: Z_Q summed over a subset of the streams.
    voice = tok.acoustic_mean(reference)  # [1, D]
    coarse = dataclasses.replace(source, acoustic=source.acoustic[:, :1])
    partial = {
        "content_only": tok.decode_streams(source, ("lexical", "phonetic")),
        "content_reference_mean": tok.decode_streams(source, ("lexical", "phonetic"), acoustic=voice),
        "acoustic_only": tok.decode_streams(source, ("acoustic",)),
        "coarse_acoustic": tok.decode_streams(coarse, ("lexical", "phonetic", "acoustic")),
    }
    for name, audio in partial.items():
        audio.save(args.out / f"{name}.wav")
    frames, ref_frames = int(source.lengths[0]), int(reference.lengths[0])
    how = "looped" if ref_frames < frames and args.fit == "loop" else "cropped" if args.fit == "loop" else "stretched"
    print(f"source {frames} frames, reference {ref_frames} frames ({how}); wrote {2 + len(partial)} files to {args.out}/")


if __name__ == "__main__":
    try:
        main()
    except HACError as err:  # a bad input (missing or corrupt file, wrong ids): say which and why, no traceback
        raise SystemExit(f"error: {err}") from None
