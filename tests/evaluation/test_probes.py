import numpy as np
import pytest
import torch

from hac_tokenizer.evaluation import EvaluationError, linear_probe, phone_probe, speaker_probe
from hac_tokenizer.evaluation.probes import ProbeResult, split_by_group, wilson_interval


def clustered(labels, dim=12, spread=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = {name: torch.randn(dim, generator=g) for name in sorted(set(labels))}
    return torch.stack([centres[y] + spread * torch.randn(dim, generator=g) for y in labels])


def test_separable_speakers_are_found():
    speakers = [f"s{i % 4}" for i in range(40)]
    result = speaker_probe(clustered(speakers), speakers)
    assert result.accuracy == pytest.approx(1.0)
    assert result.chance <= 0.5
    assert result.num_test >= 4 and result.num_classes == 4


def test_features_without_the_label_score_near_chance():
    speakers = [f"s{i % 4}" for i in range(400)]
    noise = torch.randn(400, 12, generator=torch.Generator().manual_seed(1))
    assert speaker_probe(noise, speakers).accuracy < 0.45


def test_phone_probe_splits_by_utterance_and_skips_unlabelled_frames():
    rng = np.random.default_rng(0)
    labels = [[str(p) if p < 3 else None for p in rng.integers(0, 4, size=30)] for _ in range(10)]
    flat = [y if y is not None else "0" for u in labels for y in u]
    features = clustered(flat, seed=2).split([30] * 10)
    result = phone_probe(list(features), labels)
    assert result.accuracy > 0.95
    assert result.num_train + result.num_test == sum(y is not None for u in labels for y in u)
    assert 0 < result.num_test < result.num_train


def test_split_holds_out_part_of_every_speaker():
    groups = ["a"] * 5 + ["b"] * 2 + ["c"]
    test = split_by_group(groups, 0.3, seed=0)
    assert test[:5].sum() == 2 and test[5:7].sum() == 1 and not test[7]
    assert (split_by_group(groups, 0.3, seed=0) == test).all()


def test_unseen_test_labels_count_as_errors():
    x = torch.tensor([[0.0], [1.0], [0.1], [0.9]])
    result = linear_probe(x[:2], ["a", "b"], x[2:], ["a", "z"])
    assert result.accuracy == pytest.approx(0.5)


def test_one_speaker_cannot_be_probed():
    with pytest.raises(EvaluationError):
        speaker_probe(torch.randn(4, 3), ["s"] * 4)


def test_wilson_interval_at_its_closed_forms():
    # No hits: the upper end is z^2 / (n + z^2); all hits mirror it.
    assert wilson_interval(0, 10) == (0.0, pytest.approx(1.96**2 / (10 + 1.96**2)))
    assert wilson_interval(10, 10) == (pytest.approx(10 / (10 + 1.96**2)), 1.0)
    low, high = wilson_interval(5, 60)
    assert (round(low, 3), round(high, 3)) == (0.036, 0.181)


def test_wilson_interval_covers_the_true_share_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    for share in (0.02, 0.1, 0.4):
        hits = rng.binomial(60, share, size=4000)
        covered = [low <= share <= high for low, high in (wilson_interval(int(k), 60) for k in hits)]
        assert 0.92 <= np.mean(covered) <= 0.99, share


def test_a_probe_result_carries_the_interval_of_its_accuracy():
    result = ProbeResult(accuracy=10 / 39, chance=0.05, num_train=80, num_test=39, num_classes=20)
    low, high = result.to_dict()["accuracy_95"]
    assert (low, high) == wilson_interval(10, 39) and low < result.accuracy < high
