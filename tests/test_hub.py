"""Hub resolution offline, against a real Hugging Face cache layout built in tmp_path. No network is used:
every call either passes ``local_files_only=True`` or runs with huggingface_hub's offline switch on."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from signals import chirp

from hac_tokenizer import HACTokenizer, hub
from hac_tokenizer.checkpoint import WEIGHTS_NAME, sha256_of
from hac_tokenizer.errors import CheckpointError, ChecksumError, ModelNotFoundError

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "org/name"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _cache_repo(cache: Path, repo_id: str, commit: str = COMMIT) -> Path:
    """The folder huggingface_hub keeps a repo in: ``models--org--name`` with ``refs/main`` naming a snapshot."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    return root / "snapshots" / commit


@pytest.fixture()
def cache(tiny_tokenizer, tmp_path) -> Path:
    """A Hugging Face cache holding the tiny model as ``org/name`` at :data:`COMMIT`."""
    tiny_tokenizer.save_pretrained(_cache_repo(tmp_path / "hf", REPO))
    return tmp_path / "hf"


@pytest.fixture()
def offline(monkeypatch):
    """``HF_HUB_OFFLINE=1`` as huggingface_hub reads it (the env var is read once, at import)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def test_repo_id_loads_from_the_cache(cache, tiny_tokenizer):
    tok = HACTokenizer.from_pretrained(REPO, cache_dir=cache, local_files_only=True)
    audio = chirp(4000)
    assert torch.equal(tok.encode(audio).acoustic, tiny_tokenizer.encode(audio).acoustic)


def test_offline_mode_uses_the_cache(cache, offline):
    assert HACTokenizer.from_pretrained(REPO, cache_dir=cache).config.name == "tiny"
    assert HACTokenizer.from_pretrained(REPO, cache_dir=cache, revision=COMMIT).config.name == "tiny"


def test_absent_repo_explains_offline(cache, offline):
    with pytest.raises(ModelNotFoundError, match="'org/other' are not in the local Hugging Face cache") as info:
        HACTokenizer.from_pretrained("org/other", cache_dir=cache)
    assert "Connect once to download them" in str(info.value)


def test_uncached_revision_is_refused(cache):
    with pytest.raises(ModelNotFoundError, match="not in the local Hugging Face cache"):
        HACTokenizer.from_pretrained(REPO, cache_dir=cache, revision="f" * 40, local_files_only=True)


def test_half_downloaded_repo_is_refused(cache):
    """An interrupted download leaves config.json without weights: that is 'not cached', not a crash."""
    (cache / "models--org--name" / "snapshots" / COMMIT / WEIGHTS_NAME).unlink()
    with pytest.raises(ModelNotFoundError, match="not in the local Hugging Face cache"):
        HACTokenizer.from_pretrained(REPO, cache_dir=cache, local_files_only=True)


def test_corrupt_cached_weights_are_refused(cache):
    weights = cache / "models--org--name" / "snapshots" / COMMIT / WEIGHTS_NAME
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        HACTokenizer.from_pretrained(REPO, cache_dir=cache, local_files_only=True)


@pytest.mark.parametrize("name", ["hac-14-l16", "hac-10-en", "dac-14-en"])
def test_unpublished_zoo_weights_are_refused_at_once_saying_how_to_train_them(tmp_path, monkeypatch, name):
    def no_hub(*args, **kwargs):
        raise AssertionError("the Hub must not be asked for weights that are not published")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_hub)
    with pytest.raises(ModelNotFoundError, match="no weights of .* are published yet") as info:
        HACTokenizer.from_pretrained(name, cache_dir=tmp_path)
    message = str(info.value)
    assert f"hac-tokenizer/{name}" in message and f"hac-train --config training/configs/{name}.yaml" in message
    assert HACTokenizer.available_models()[name].startswith("[no weights yet: hac-train --config")


def test_every_recipe_named_by_the_registry_exists():
    missing = [e.recipe for e in hub.REGISTRY.values() if e.recipe and not (REPO_ROOT / e.recipe).is_file()]
    assert not missing, missing


@pytest.fixture()
def registered(cache, monkeypatch) -> Path:
    """Registers ``org/name`` under the name ``tiny-hub`` with the sha256 of its cached weights."""
    weights = cache / "models--org--name" / "snapshots" / COMMIT / WEIGHTS_NAME
    entry = hub.ModelEntry(name="tiny-hub", description="test", repo_id=REPO, revision=COMMIT, sha256=sha256_of(weights))
    monkeypatch.setitem(hub.REGISTRY, entry.name, entry)
    return weights


def test_registry_name_resolves_through_the_cache_and_verifies_sha256(cache, registered):
    tok = HACTokenizer.from_pretrained("tiny-hub", cache_dir=cache, local_files_only=True)
    assert tok.name == "tiny-hub"


def test_registry_sha256_mismatch_is_refused(cache, registered):
    data = bytearray(registered.read_bytes())
    data[-8] ^= 0x01  # a one-bit change that leaves a valid safetensors file
    registered.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="Delete it and download again"):
        HACTokenizer.from_pretrained("tiny-hub", cache_dir=cache, local_files_only=True)


@pytest.mark.parametrize("name", ["hac-99", "HAC-14", "./nowhere", "a/b/c", "model.safetensors"])
def test_unknown_names_list_the_available_models(name):
    with pytest.raises(ModelNotFoundError) as info:
        HACTokenizer.from_pretrained(name, local_files_only=True)
    assert all(known in str(info.value) for known in hub.REGISTRY)


def test_misspelt_name_gets_a_suggestion():
    with pytest.raises(ModelNotFoundError, match="did you mean 'hac-14-en'"):
        HACTokenizer.from_pretrained("hac-14_en", local_files_only=True)


def test_available_models_marks_the_bundled_default():
    models = HACTokenizer.available_models()
    assert set(models) == set(hub.REGISTRY)
    assert models[hub.DEFAULT_MODEL].startswith("[bundled default]")
