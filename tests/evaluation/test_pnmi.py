import math

import numpy as np
import pytest

from hac_tokenizer.evaluation import EvaluationError, pnmi, shuffled_pnmi


def test_tokens_equal_to_phones_give_one():
    rng = np.random.default_rng(0)
    phones = rng.integers(0, 40, size=5000)
    assert pnmi(phones, phones) == pytest.approx(1.0)


def test_tokens_refining_phones_give_one():
    # several tokens per phone (a 16384-entry codebook on 40 phones) still determine the phone
    rng = np.random.default_rng(1)
    phones = rng.integers(0, 10, size=5000)
    tokens = phones * 7 + rng.integers(0, 7, size=5000)
    assert pnmi([f"p{p}" for p in phones], tokens) == pytest.approx(1.0)


def test_random_tokens_give_about_zero_on_a_large_sample():
    rng = np.random.default_rng(2)
    phones = rng.integers(0, 40, size=200_000)
    tokens = rng.integers(0, 50, size=200_000)
    assert pnmi(phones, tokens) < 0.01


def test_hand_computed_value():
    # I = H(p) + H(z) - H(p, z) = 1 + H(3/4, 1/4) - H(1/2, 1/4, 1/4) bits, H(p) = 1 bit
    h = lambda *p: -sum(x * math.log2(x) for x in p)
    expected = 1 + h(0.75, 0.25) - h(0.5, 0.25, 0.25)
    assert pnmi(["a", "a", "b", "b"], [0, 0, 0, 1]) == pytest.approx(expected)
    assert pnmi(["a", "a", "b", "b"], [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-12)


def test_undefined_inputs_raise():
    with pytest.raises(EvaluationError):
        pnmi([], [])
    with pytest.raises(EvaluationError):
        pnmi(["a", "a"], [0, 1])  # a single phone: H(phone) = 0
    with pytest.raises(EvaluationError):
        pnmi(["a", "b"], [0])


def test_the_shuffled_floor_is_the_small_sample_bias():
    # 500 codes on 40 phones over 3000 frames, as one language of a test split: tokens that carry no phone
    # information still score far above 0 on this sample, and the shuffled floor finds that level
    rng = np.random.default_rng(3)
    phones = rng.integers(0, 40, size=3000)
    unrelated = rng.integers(0, 500, size=3000)
    assert pnmi(phones, unrelated) > 0.3
    assert shuffled_pnmi(phones, unrelated) == pytest.approx(pnmi(phones, unrelated), abs=0.03)


def test_informative_tokens_stand_above_their_floor():
    rng = np.random.default_rng(4)
    phones = rng.integers(0, 40, size=3000)
    tokens = phones * 12 + rng.integers(0, 12, size=3000)  # 480 codes that determine the phone
    assert pnmi(phones, tokens) == pytest.approx(1.0)
    assert shuffled_pnmi(phones, tokens) < 0.6
    assert shuffled_pnmi(phones, tokens, seed=1) == shuffled_pnmi(phones, tokens, seed=1)
