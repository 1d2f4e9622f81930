"""Evaluation toolkit (extra ``[eval]``): token–linguistics, reconstruction and disentanglement metrics.

Every metric's exact definition is in its module's docstring: :mod:`.pnmi`, :mod:`.word_detection`,
:mod:`.abx`, :mod:`.codebook`, :mod:`.reconstruction`, :mod:`.probes`. :mod:`.runner` applies them to
a manifest and :mod:`.report` writes ``metrics.json``, ``report.md`` and plots; ``hac-eval`` is the command.
"""

from .abx import abx_error, dtw_distance, sample_triplets, triphones
from .codebook import bitrate, codebook_usage
from .errors import EvaluationError, MissingDependencyError
from .pnmi import pnmi, shuffled_pnmi
from .probes import linear_probe, phone_probe, speaker_probe
from .reconstruction import mel_distance, pesq_wb, si_sdr, stft_distance, stoi
from .runner import EvalOptions, collect_manifest, evaluate
from .word_detection import WordSegment, word_detection

__all__ = [
    "EvalOptions",
    "EvaluationError",
    "MissingDependencyError",
    "WordSegment",
    "abx_error",
    "bitrate",
    "codebook_usage",
    "collect_manifest",
    "dtw_distance",
    "evaluate",
    "linear_probe",
    "mel_distance",
    "pesq_wb",
    "phone_probe",
    "pnmi",
    "sample_triplets",
    "shuffled_pnmi",
    "si_sdr",
    "speaker_probe",
    "stft_distance",
    "stoi",
    "triphones",
    "word_detection",
]
