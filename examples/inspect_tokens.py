"""Plot the three token streams over a spectrogram, with the word and phone boundaries of the utterance.

    python examples/inspect_tokens.py                                  # synthesises a sentence with eSpeak NG
    python examples/inspect_tokens.py --manifest data/synth/manifest.jsonl --index 3 -o out/tokens.png

The utterance comes from a manifest of the synthetic corpus (``hac-prepare-data synthetic``), whose
word and phone timings are exact, or, without ``--manifest``, is synthesised here with the corpus's own
eSpeak binding (needs the ``train`` extra). Panels: log-mel spectrogram with word boundaries (solid)
and phone boundaries (dotted); lexical and phonetic token ids per frame, with a change marker where the
id changes (a trained model's lexical tokens should change near word boundaries, phonetic tokens near
phone boundaries); the acoustic RVQ layers as an image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.audio import to_mono_items
from hac_tokenizer.evaluation.reconstruction import magnitude, mel_filters
from hac_tokenizer.manifest import Interval, read_manifest


def from_manifest(path: Path, index: int, sample_rate: int) -> tuple[torch.Tensor, tuple[Interval, ...], tuple[Interval, ...]]:
    entry = read_manifest(path)[index]
    return to_mono_items(str(entry.audio), None, sample_rate)[0], entry.words, entry.phones


def synthesise(text: str, voice: str, sample_rate: int) -> tuple[torch.Tensor, tuple[Interval, ...], tuple[Interval, ...]]:
    from hac_tokenizer.training.data.espeak import EspeakSynthesizer, VoiceSettings

    speech = EspeakSynthesizer().synthesize(text.split(), VoiceSettings(voice))
    waveform = to_mono_items(torch.from_numpy(speech.audio), speech.sample_rate, sample_rate)[0]
    return waveform, speech.words, speech.phones


def boundaries(ax: plt.Axes, intervals: tuple[Interval, ...], style: str, labels: bool) -> None:
    for interval in intervals:
        ax.axvline(interval.start, color="w", linestyle=style, linewidth=0.8)
        if labels:
            ax.text((interval.start + interval.end) / 2, 1.02, interval.label, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=7)


def plot(waveform: torch.Tensor, tokens: HACTokens, words, phones, sample_rate: int, out: Path) -> None:
    frames = int(tokens.lengths[0])
    times = (np.arange(frames) + 0.5) / tokens.frame_rate  # frame centres, seconds
    mel = torch.log(mel_filters(sample_rate, 512, 64) @ magnitude(waveform, 512) ** 2 + 1e-6)
    duration = len(waveform) / sample_rate
    fig, axes = plt.subplots(4, 1, figsize=(12, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1, 1, 1.5]})
    axes[0].imshow(mel.numpy(), origin="lower", aspect="auto", extent=(0, duration, 0, mel.shape[0]), cmap="magma")
    boundaries(axes[0], words, "-", labels=True)
    boundaries(axes[0], phones, ":", labels=False)
    axes[0].set_ylabel("mel band")
    for ax, name in zip(axes[1:3], ("lexical", "phonetic")):
        ids = getattr(tokens, name)[0, :frames].numpy()
        ax.step(times, ids, where="mid", linewidth=0.8)
        changes = np.flatnonzero(np.diff(ids)) + 1
        ax.plot(times[changes], ids[changes], "|", color="r", markersize=6)
        for word in words:
            ax.axvline(word.start, color="0.6", linewidth=0.6)
        ax.set_ylabel(f"{name}\nid")
    acoustic = tokens.acoustic[0, :, :frames].numpy()
    axes[3].imshow(acoustic, aspect="auto", interpolation="nearest", extent=(0, frames / tokens.frame_rate, acoustic.shape[0] - 0.5, -0.5))
    axes[3].set_ylabel("acoustic\nRVQ layer")
    axes[3].set_xlabel("time (s)")
    fig.suptitle(f"{tokens.model}: {frames} frames at {tokens.frame_rate:g} Hz", y=0.995)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=None, help="JSONL manifest with word and phone timings")
    parser.add_argument("--index", type=int, default=0, help="which manifest line to plot")
    parser.add_argument("--text", default="the quick brown fox jumps over the lazy dog", help="sentence to synthesise")
    parser.add_argument("--voice", default="en-us", help="eSpeak voice for --text")
    parser.add_argument("-o", "--out", type=Path, default=Path("out/tokens.png"))
    parser.add_argument("--model", default=None, help="registry name or checkpoint dir (default: bundled)")
    args = parser.parse_args()

    tok = HACTokenizer.from_pretrained(args.model)
    if args.manifest is not None:
        waveform, words, phones = from_manifest(args.manifest, args.index, tok.sample_rate)
    else:
        waveform, words, phones = synthesise(args.text, args.voice, tok.sample_rate)
    tokens = tok.encode(waveform)
    plot(waveform, tokens, words, phones, tok.sample_rate, args.out)
    print(f"{len(words)} words, {len(phones)} phones, {int(tokens.lengths[0])} frames -> {args.out}")


if __name__ == "__main__":
    main()
