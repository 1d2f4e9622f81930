import math

import numpy as np
import pytest

from hac_tokenizer.config import HACConfig
from hac_tokenizer.evaluation import EvaluationError, bitrate, codebook_usage


def test_uniform_codes_have_full_usage_and_perplexity():
    usage = codebook_usage(np.tile(np.arange(64), 10), 64)
    assert usage.used == 64 and usage.usage == 1.0
    assert usage.perplexity == pytest.approx(64.0)
    assert usage.entropy_bits == pytest.approx(6.0)


def test_single_code_has_perplexity_one():
    usage = codebook_usage(np.full(100, 3), 1024)
    assert usage.used == 1 and usage.usage == pytest.approx(1 / 1024)
    assert usage.perplexity == pytest.approx(1.0)


def test_nominal_bitrate_of_hac14_is_4900():
    config = HACConfig.preset("hac-14-l16")
    usages = {"lexical": codebook_usage(np.arange(16384), 16384), "phonetic": codebook_usage(np.arange(16384), 16384)}
    usages.update({f"acoustic.{n}": codebook_usage(np.arange(1024), 1024) for n in range(7)})
    rate = bitrate(usages, config.frame_rate)
    assert rate.nominal_bps == pytest.approx(config.bitrate) == pytest.approx(4900)
    assert rate.entropy_bps == pytest.approx(50 * (14 + 14 + 7 * math.log2(1024)))


def test_padding_is_rejected():
    with pytest.raises(EvaluationError, match="padding"):
        codebook_usage(np.array([0, 1, -1]), 4)
