"""Reference values of DAC's Mel distance and STFT distance for fixed signals, for ``tests/evaluation``.

``python benchmarks/reference/dac_distances.py [--dac-path DIR]`` computes, for each signal pair of
:func:`signal_pairs` (deterministic, 16 kHz), the two spectral distances of DAC's evaluation
(``hac_tokenizer.evaluation.reconstruction`` states them) in two independent ways, checks that they agree, and
writes ``dac_distances.json`` next to this file. ``tests/evaluation/test_reconstruction.py`` compares
``mel_distance`` / ``stft_distance`` (torch, :mod:`hac_tokenizer.nn.dsp`) with the JSON's ``mel_distance`` and
``stft_distance`` at 1e-4 relative. Nothing here imports ``hac_tokenizer``.

1. **DAC's own code** (used for the JSON's reference values when available): ``MelSpectrogramLoss`` and
   ``MultiScaleSTFTLoss`` of ``dac/nn/loss.py`` from descript-audio-codec 1.0.0 on ``AudioSignal`` of
   descript-audiotools 0.7.2 (DAC's ``setup.py`` requires >= 0.7.2), with the settings of DAC's
   ``conf/base.yml`` (written out in :func:`dac_code_distances`). Install them beside, not into, the project's
   environment (their pinned dependencies would downgrade it)::

       pip install --no-deps --target /tmp/dacref descript-audiotools==0.7.2 descript-audio-codec==1.0.0
       python benchmarks/reference/dac_distances.py --dac-path /tmp/dacref

   torchaudio does not load against torch 2.13, and julius, ffmpy, flatten_dict and importlib_resources are
   not installed here, so those modules are replaced by stubs that raise if anything calls into them; the code
   paths used (``AudioSignal.__init__`` from a tensor, ``stft``, ``mel_spectrogram``, ``get_window``,
   ``get_mel_filters`` = ``librosa.filters.mel``) touch none of them. Only ``audiotools.core`` and
   ``dac/nn/loss.py`` are loaded (not the packages' ``__init__``, which pull in training dependencies).
2. **An independent re-implementation** of the same formulas in float64 numpy with librosa
   (``librosa.stft(window="hann", center=True, pad_mode="reflect")``, ``librosa.filters.mel``), always computed.

Without ``--dac-path`` the JSON's reference values are the librosa re-implementation's, and its ``source``
field says so. The JSON in the repository was made with DAC's own code (see its ``source`` field).
"""

from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import json
import sys
import types
import warnings
from pathlib import Path

import numpy as np

RATE = 16000
OUT = Path(__file__).with_name("dac_distances.json")

# DAC's conf/base.yml (descript-audio-codec 1.0.0) and MultiScaleSTFTLoss defaults
MEL_WINDOWS = [32, 64, 128, 256, 512, 1024, 2048]
MEL_BANDS = [5, 10, 20, 40, 80, 160, 320]
STFT_WINDOWS = [2048, 512]
CLAMP_EPS = 1e-5
AGREEMENT = 1e-4  # relative, DAC's float32 code vs the float64 re-implementation


def _noise(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def signal_pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (reference, estimate)}``, float32 ``[S]`` at 16 kHz; seeded, so the same on every run."""
    pairs = {}
    t = np.arange(RATE) / RATE  # 1 s
    reference = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * _noise(0, len(t))
    pairs["sine_plus_noise"] = (reference, reference + 0.02 * _noise(1, len(t)))

    t = np.arange(12345) / RATE  # an odd length: a partial last hop
    harmonics = sum(np.sin(2 * np.pi * 150 * k * t + k) / k for k in range(1, 20))
    reference = 0.3 * harmonics * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.01 * _noise(2, len(t))
    pairs["harmonic_gain"] = (reference, 0.7 * reference + 0.005 * _noise(3, len(t)))

    reference = 0.1 * _noise(4, 8000)
    smoothed = np.convolve(_noise(5, 8000), np.ones(4) / 4, mode="same")  # another noise, low-passed
    pairs["noise_vs_smoothed_noise"] = (reference, 0.1 * smoothed)

    t = np.arange(1500) / RATE  # just above the 1025 samples the reflect-padded 2048 window needs
    reference = 0.4 * np.sin(2 * np.pi * 1000 * t) + 0.02 * _noise(6, len(t))
    pairs["short_phase_shift"] = (reference, 0.4 * np.sin(2 * np.pi * 1000 * t + 0.5) + 0.02 * _noise(7, len(t)))
    return {name: (x.astype(np.float32), y.astype(np.float32)) for name, (x, y) in pairs.items()}


def librosa_distances(reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """DAC's two distances re-implemented with librosa in float64."""
    import librosa

    def magnitude(x: np.ndarray, window: int) -> np.ndarray:
        spec = librosa.stft(
            x.astype(np.float64), n_fft=window, hop_length=window // 4, win_length=window, window="hann",
            center=True, pad_mode="reflect",
        )
        return np.abs(spec)

    def log_l1(a: np.ndarray, b: np.ndarray, power: float) -> float:
        return float(np.mean(np.abs(np.log10(np.maximum(a, CLAMP_EPS) ** power)
                                    - np.log10(np.maximum(b, CLAMP_EPS) ** power))))

    mel = 0.0
    for window, bands in zip(MEL_WINDOWS, MEL_BANDS):
        filters = librosa.filters.mel(sr=RATE, n_fft=window, n_mels=bands, fmin=0.0, fmax=None, dtype=np.float64)
        mel += log_l1(filters @ magnitude(reference, window), filters @ magnitude(estimate, window), power=1.0)
    stft = 0.0
    for window in STFT_WINDOWS:
        mag_x, mag_y = magnitude(reference, window), magnitude(estimate, window)
        stft += log_l1(mag_x, mag_y, power=2.0) + float(np.mean(np.abs(mag_x - mag_y)))
    return {"mel_distance": mel, "stft_distance": stft}


class _Stub(types.ModuleType):
    """A module that imports but fails loudly if the code under test ever calls into it."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)

        def unavailable(*args, **kwargs):
            raise RuntimeError(f"stub module {self.__name__}.{attr} was called; the reference cannot use it")

        return unavailable


def _load_dac(dac_path: Path) -> tuple[types.ModuleType, type]:
    """``(dac.nn.loss module, AudioSignal)`` from a ``pip install --target`` directory, with stubs."""
    for name in ("torchaudio", "julius", "ffmpy", "flatten_dict"):
        sys.modules.setdefault(name, _Stub(name))
    sys.modules.setdefault("importlib_resources", importlib.resources)  # the stdlib backport's original
    package = types.ModuleType("audiotools")  # audiotools/__init__ imports its ML/data parts: skip it
    package.__path__ = [str(dac_path / "audiotools")]
    sys.modules["audiotools"] = package
    from audiotools import core

    package.AudioSignal, package.STFTParams = core.AudioSignal, core.STFTParams
    versions = {
        "audiotools": (dac_path / "audiotools" / "__init__.py").read_text().split('__version__ = "')[1].split('"')[0],
        "dac": (dac_path / "dac" / "__init__.py").read_text().split('__version__ = "')[1].split('"')[0],
    }
    if versions != {"audiotools": "0.7.2", "dac": "1.0.0"}:
        raise SystemExit(f"expected descript-audiotools 0.7.2 and descript-audio-codec 1.0.0, found {versions}")
    spec = importlib.util.spec_from_file_location("dac_nn_loss", dac_path / "dac" / "nn" / "loss.py")
    loss = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loss)
    return loss, core.AudioSignal


def dac_code_distances(dac_path: Path, pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """The distances as DAC's ``scripts/evaluate.py`` computes them, with ``conf/base.yml``'s loss settings."""
    import torch

    loss, AudioSignal = _load_dac(dac_path)
    mel_loss = loss.MelSpectrogramLoss(
        n_mels=MEL_BANDS, window_lengths=MEL_WINDOWS, mel_fmin=[0.0] * 7, mel_fmax=[None] * 7,
        pow=1.0, clamp_eps=CLAMP_EPS, mag_weight=0.0,
    )
    stft_loss = loss.MultiScaleSTFTLoss(window_lengths=STFT_WINDOWS)  # clamp 1e-5, pow 2, mag/log weight 1
    out = {}
    with torch.no_grad():
        for name, (reference, estimate) in pairs.items():
            x = AudioSignal(torch.from_numpy(estimate)[None, None], RATE)  # DAC's losses take (estimate, reference)
            y = AudioSignal(torch.from_numpy(reference)[None, None], RATE)
            out[name] = {"mel_distance": float(mel_loss(x, y)), "stft_distance": float(stft_loss(x, y))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dac-path", type=Path, help="directory holding audiotools/ and dac/ (pip --target)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    import librosa

    warnings.filterwarnings("ignore", message="n_fft=.* is too large")  # librosa, on the 1500-sample pair
    warnings.filterwarnings("ignore", message="stft_data changed shape")  # audiotools, between window lengths

    pairs = signal_pairs()
    independent = {name: librosa_distances(x, y) for name, (x, y) in pairs.items()}
    dac = dac_code_distances(args.dac_path, pairs) if args.dac_path else None
    if dac is not None:
        for name in pairs:
            for key in ("mel_distance", "stft_distance"):
                a, b = dac[name][key], independent[name][key]
                if abs(a - b) > AGREEMENT * abs(b):
                    raise SystemExit(f"{name} {key}: DAC's code {a} and the librosa re-implementation {b} disagree")
        source = ("DAC's own code: MelSpectrogramLoss / MultiScaleSTFTLoss of descript-audio-codec 1.0.0 "
                  "dac/nn/loss.py on descript-audiotools 0.7.2 AudioSignal, conf/base.yml settings; agrees with "
                  f"the float64 librosa re-implementation (the *_librosa fields) within {AGREEMENT} relative")
    else:
        source = (f"librosa {librosa.__version__} float64 re-implementation of DAC's formulas (DAC's own code "
                  "not run: no --dac-path)")
    result = {
        "source": source,
        "sample_rate": RATE,
        "settings": {
            "mel": {"window_lengths": MEL_WINDOWS, "n_mels": MEL_BANDS, "hop": "window // 4", "fmin": 0.0,
                    "fmax": "Nyquist", "pow": 1.0, "clamp_eps": CLAMP_EPS, "mag_weight": 0.0, "log_weight": 1.0},
            "stft": {"window_lengths": STFT_WINDOWS, "hop": "window // 4", "pow": 2.0, "clamp_eps": CLAMP_EPS,
                     "mag_weight": 1.0, "log_weight": 1.0},
            "window": "periodic hann", "center": True, "pad_mode": "reflect",
        },
        "pairs": {},
    }
    for name, (reference, estimate) in pairs.items():
        reference_values = dac[name] if dac is not None else independent[name]
        result["pairs"][name] = {
            "samples": len(reference),
            # fingerprints, so a test notices if the seeded generator ever produces other signals
            "reference_sum_squares": float(np.sum(reference.astype(np.float64) ** 2)),
            "estimate_sum_squares": float(np.sum(estimate.astype(np.float64) ** 2)),
            **reference_values,
            "mel_distance_librosa": independent[name]["mel_distance"],
            "stft_distance_librosa": independent[name]["stft_distance"],
        }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, row in result["pairs"].items():
        print(f"{name:26s} mel {row['mel_distance']:.6f}  stft {row['stft_distance']:.6f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
