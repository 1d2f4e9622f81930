"""Hub resolution offline, against a real Hugging Face cache layout built in tmp_path. No network is used:
every call either passes ``local_files_only=True`` or runs with huggingface_hub's offline switch on."""

from __future__ import annotations

import hashlib
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from signals import chirp

from hac_tokenizer import HACTokenizer, hub
from hac_tokenizer.checkpoint import WEIGHTS_NAME, sha256_of
from hac_tokenizer.errors import CheckpointError, ChecksumError, ConfigError, ModelNotFoundError
from hac_tokenizer.model_card import ModelFigures

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "org/name"


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
    assert f"hac-tokenizer/{name}" in message and f"hac-train --config {name}" in message
    assert HACTokenizer.available_models()[name].startswith("[no weights yet: hac-train --config")


@pytest.fixture()
def registered(cache, monkeypatch) -> Path:
    """Registers ``org/name`` under the name ``tiny-hub`` with the sha256 of its cached weights."""
    weights = cache / "models--org--name" / "snapshots" / COMMIT / WEIGHTS_NAME
    entry = hub.ModelEntry(
        name="tiny-hub", description="test", repo_id=REPO, revision=COMMIT, sha256=sha256_of(weights)
    )
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


class RecordingHfApi(huggingface_hub.HfApi):
    """The real ``HfApi`` with its three network calls replaced by a record of what would be sent (no Hub here)."""

    def __init__(self) -> None:
        super().__init__(token="hf_test")
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, bytes] = {}
        self.declared: dict[str, tuple[int, str]] = {}  # size and sha256 the commit announces per file

    def create_repo(self, repo_id: str, **kwargs) -> huggingface_hub.RepoUrl:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return huggingface_hub.RepoUrl(f"https://huggingface.co/{repo_id}")

    def create_branch(self, repo_id: str, **kwargs) -> None:
        self.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def create_commit(self, repo_id: str, operations, **kwargs) -> huggingface_hub.CommitInfo:
        operations = list(operations)
        self.calls.append(("create_commit", {"repo_id": repo_id, "operations": operations, **kwargs}))
        for op in operations:  # read now, as the upload would: the pushed folder is temporary
            self.declared[op.path_in_repo] = (op.upload_info.size, op.upload_info.sha256.hex())
            with op.as_file() as f:
                self.uploaded[op.path_in_repo] = f.read()
        url = f"https://huggingface.co/{repo_id}/commit/{'a' * 40}"
        return huggingface_hub.CommitInfo(url, kwargs["commit_message"], "", "a" * 40)


def test_push_to_hub_sends_one_commit_of_a_loadable_folder(tiny_tokenizer, tmp_path):
    api = RecordingHfApi()
    info = tiny_tokenizer.push_to_hub("org/tiny", private=True, commit_message="first", api=api, token="hf_x")
    assert [name for name, _ in api.calls] == ["create_repo", "create_commit"]
    repo = api.calls[0][1]
    assert repo["private"] is True and repo["exist_ok"] is True and repo["token"] == "hf_x"
    commit = api.calls[1][1]
    assert commit["repo_id"] == "org/tiny" and commit["commit_message"] == "first" and commit["revision"] is None
    assert all(isinstance(op, huggingface_hub.CommitOperationAdd) for op in commit["operations"])
    assert sorted(api.uploaded) == ["README.md", "config.json", "model.safetensors"]
    for name, data in api.uploaded.items():  # what the Hub would verify the upload against
        assert api.declared[name] == (len(data), hashlib.sha256(data).hexdigest())
    assert info.oid == "a" * 40 and info.commit_message == "first"

    for name, data in api.uploaded.items():  # the repo as a download would give it
        (tmp_path / name).write_bytes(data)
    card = huggingface_hub.ModelCard.load(tmp_path / "README.md")
    assert card.data.library_name == "hac-tokenizer"
    audio = chirp(4000)
    pushed = HACTokenizer.from_pretrained(tmp_path).encode(audio)
    expected = tiny_tokenizer.encode(audio)
    for stream in ("lexical", "phonetic", "acoustic"):
        assert torch.equal(getattr(pushed, stream), getattr(expected, stream))


def test_push_to_a_revision_creates_the_branch_first(tiny_tokenizer):
    api = RecordingHfApi()
    tiny_tokenizer.push_to_hub("org/tiny", revision="v2", create_pr=True, api=api)
    assert [name for name, _ in api.calls] == ["create_repo", "create_branch", "create_commit"]
    assert api.calls[1][1]["branch"] == "v2" and api.calls[1][1]["exist_ok"] is True
    assert api.calls[2][1]["revision"] == "v2" and api.calls[2][1]["create_pr"] is True


def test_push_refuses_borrowed_figures_before_any_call(tiny_tokenizer):
    api = RecordingHfApi()
    figures = ModelFigures.load(hub.REGISTRY[hub.DEFAULT_MODEL].directory / "figures.json")
    with pytest.raises(ConfigError, match="would describe another model"):
        tiny_tokenizer.push_to_hub("org/tiny", figures=figures, api=api)
    assert api.calls == []
