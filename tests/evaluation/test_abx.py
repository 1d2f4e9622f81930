import numpy as np
import pytest
import torch

from hac_tokenizer.evaluation import EvaluationError, abx_error, dtw_distance, sample_triplets, triphones
from hac_tokenizer.evaluation.abx import Triphone
from hac_tokenizer.manifest import Interval

PHONES = "aeiou"
CONTEXTS = [("p", "t"), ("k", "s"), ("m", "n")]


def make_items(speakers=("s1", "s2"), repeats=3, seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for speaker in speakers:
        for context in CONTEXTS:
            for phone in PHONES:
                for _ in range(repeats):
                    items.append(Triphone(len(items), 0, int(rng.integers(5, 12)), phone, context, speaker))
    return items


def features_for(items, prototypes, noise, seed=0):
    """Frames = the central phone's prototype (+ the speaker's offset) + noise."""
    g = torch.Generator().manual_seed(seed)
    speaker_offset = {"s1": torch.zeros(16), "s2": 0.3 * torch.randn(16, generator=g)}
    return [
        prototypes[item.phone]
        + speaker_offset[item.speaker]
        + noise * torch.randn(item.end - item.start, 16, generator=g)
        for item in items
    ]


@pytest.mark.parametrize("mode", ["within", "across"])
def test_separable_features_have_near_zero_error(mode):
    items = make_items()
    g = torch.Generator().manual_seed(1)
    prototypes = {p: torch.randn(16, generator=g) for p in PHONES}
    triplets = sample_triplets(items, mode, max_per_cell=5)
    assert len(triplets) > 50
    assert abx_error(features_for(items, prototypes, noise=0.1), triplets) < 0.02


def test_phone_blind_features_have_error_near_half():
    items = make_items(repeats=4)
    g = torch.Generator().manual_seed(2)
    features = [torch.randn(item.end - item.start, 16, generator=g) for item in items]
    error = abx_error(features, sample_triplets(items, "within", max_per_cell=20))
    assert 0.35 < error < 0.65


def test_dtw_is_zero_for_identical_and_time_stretched_sequences():
    x = torch.randn(6, 8)
    stretched = x.repeat_interleave(2, dim=0)
    other = torch.randn(5, 8)
    d = dtw_distance([x, x, x], [x, stretched, other])
    assert d[0] == pytest.approx(0.0, abs=1e-3)
    assert d[1] == pytest.approx(0.0, abs=1e-3)
    assert d[2] > 0.2


def test_dtw_matches_a_direct_dynamic_program():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(4, 3, generator=g), torch.randn(7, 3, generator=g)
    cost = torch.arccos(torch.nn.functional.cosine_similarity(a[:, None], b[None], dim=-1).clamp(-1, 1)) / torch.pi
    total = np.full((5, 8), np.inf)
    steps = np.zeros((5, 8))
    total[0, 0] = 0
    for i in range(1, 5):
        for j in range(1, 8):
            options = [
                (total[i - 1, j - 1], steps[i - 1, j - 1]),
                (total[i - 1, j], steps[i - 1, j]),
                (total[i, j - 1], steps[i, j - 1]),
            ]
            best, length = min(options, key=lambda o: o[0])
            total[i, j], steps[i, j] = best + float(cost[i - 1, j - 1]), length + 1
    assert float(dtw_distance([a], [b])[0]) == pytest.approx(total[4, 7] / steps[4, 7], rel=1e-5)


def test_triphones_from_alignment():
    phones = [Interval(0.0, 0.1, "p"), Interval(0.1, 0.2, "a"), Interval(0.2, 0.3, "t"), Interval(0.5, 0.6, "o")]
    items = triphones(0, phones, "s1", num_frames=30, frame_rate=50.0)
    assert len(items) == 1  # the gap before "o" breaks the second triphone
    assert (items[0].start, items[0].end, items[0].phone, items[0].context) == (0, 15, "a", ("p", "t"))


def test_across_needs_two_speakers():
    with pytest.raises(EvaluationError, match="second speaker"):
        sample_triplets(make_items(speakers=("s1",)), "across")
