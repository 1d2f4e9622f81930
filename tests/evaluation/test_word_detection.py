import numpy as np
import pytest

from hac_tokenizer.evaluation import EvaluationError, WordSegment, word_detection


def seg(word, *tokens):
    return WordSegment(word, np.array(tokens))


def test_perfect_detector_has_f1_one():
    segments = [seg("cat", 7, 7, 1), seg("dog", 2, 1), seg("cat", 7, 3), seg("dog", 1, 2)]
    result = word_detection(segments)
    assert result.max_f1 == pytest.approx(1.0)
    assert result.above[0.9] >= 1
    best = result.top[0]
    assert best.f1 == pytest.approx(1.0) and best.word in ("cat", "dog")


def test_hand_computed_precision_and_recall():
    # token 5 fires on both "cat" segments and on one of two "dog" segments
    segments = [seg("cat", 5), seg("cat", 5, 9), seg("dog", 5), seg("dog", 8)]
    result = word_detection(segments, top_k=20)
    pair = next(d for d in result.top if d.token == 5 and d.word == "cat")
    assert pair.precision == pytest.approx(2 / 3)
    assert pair.recall == pytest.approx(1.0)
    assert pair.f1 == pytest.approx(0.8)
    # tokens 9 ("cat") and 8 ("dog") each fire on one of two segments: precision 1, recall 1/2, F1 2/3
    assert result.max_f1 == pytest.approx(0.8)
    assert result.above == {0.3: 3, 0.5: 3, 0.7: 1, 0.9: 0}


def test_min_word_count_removes_rare_word_types():
    segments = [seg("cat", 1), seg("cat", 1), seg("rare", 9)]
    assert word_detection(segments).max_f1 == pytest.approx(1.0)
    filtered = word_detection(segments, min_word_count=2)
    assert filtered.num_word_types == 1
    assert {d.word for d in filtered.top} == {"cat"}


def test_random_tokens_make_no_strong_detectors():
    rng = np.random.default_rng(0)
    segments = [seg(f"w{rng.integers(0, 20)}", *rng.integers(0, 50, size=5)) for _ in range(3000)]
    assert word_detection(segments).above[0.5] == 0


def test_no_segments_or_no_frequent_word_raise():
    with pytest.raises(EvaluationError):
        word_detection([WordSegment("a", np.array([], dtype=int))])
    with pytest.raises(EvaluationError, match="occurs 2 times"):
        word_detection([seg("a", 1), seg("b", 2)], min_word_count=2)
