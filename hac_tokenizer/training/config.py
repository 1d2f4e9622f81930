"""Training configuration: dataclasses loaded from YAML, with dotted ``key=value`` overrides.

A recipe (a packaged ``hac_tokenizer/training/recipes/<name>.yaml``, or any YAML file) names the model (a preset of :class:`HACConfig` or an inline
config), the data, the optimiser, the loss weights, the teachers and the schedule. Every key is checked:
an unknown key is an error naming it, so a typo never silently falls back to a default.

Overrides use the same dotted paths as the YAML nesting and YAML syntax for values::

    hac-train --config tiny steps=300 data.batch_size=4 optim.betas=[0.8,0.99]
    hac-train --config hac-14-l16 model=tiny teachers.phonetic.path=/tmp/hubert
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import HACConfig
from ..errors import ConfigError
from .recipes import recipe_path

AMP_KINDS = ("none", "bf16", "fp16")
STREAMS_WITH_TEACHERS = ("phonetic", "lexical")


@dataclass(frozen=True)
class DataConfig:
    """Where clips come from. ``batch_size`` counts clips per optimiser step over all processes."""

    train_manifests: tuple[str, ...] = ()  # JSONL manifests, read together (e.g. LibriSpeech + VoxPopuli)
    valid_manifests: tuple[str, ...] = ()  # held-out clips for the eval hook; none turns it off
    train_split: str | None = None  # keep only manifest entries of this ``split`` (None: every entry)
    valid_split: str | None = None
    clip_seconds: float = 3.8
    batch_size: int = 16  # the paper: 60 s of audio per step = 16 clips of 3.8 s (2 per GPU on 8 GPUs)
    num_workers: int = 2
    augment: bool = False


@dataclass(frozen=True)
class OptimConfig:
    """AdamW and an exponential learning-rate decay applied every step (paper, Section 2)."""

    lr: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.9)
    gamma: float = 0.999996
    weight_decay: float = 0.01
    # DAC clips the generator only against explosions and the discriminator tightly, as it learns faster
    grad_clip_generator: float = 1000.0
    grad_clip_discriminator: float = 10.0


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator's loss terms; DAC's defaults for the codec terms."""

    mel: float = 15.0
    # |level difference| in dB (losses.level_loss); not a DAC/HAC term, so 0 unless a recipe asks for it
    level: float = 0.0
    adversarial: float = 1.0
    feature_matching: float = 2.0
    commitment: float = 0.25
    codebook: float = 1.0
    # The paper does not state its KD weights; 1.0 puts each KD term on the scale of the adversarial one.
    kd_phonetic: float = 1.0
    kd_lexical: float = 1.0
    # tokens read back from their decodes (training.cycle): content tokens decoded with another clip's acoustic
    # tokens (a voice conversion) and with their own (a reconstruction), and that voice's acoustic tokens from the
    # conversion; not DAC/HAC terms. Every field named *_cycle is one of training.cycle.CYCLES
    content_cycle: float = 0.0
    reconstruction_cycle: float = 0.0
    voice_cycle: float = 0.0


@dataclass(frozen=True)
class DiscriminatorConfig:
    """DAC's discriminators: multi-period (MPD) and multi-resolution complex STFT."""

    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    stft_windows: tuple[int, ...] = (2048, 1024, 512)
    period_channels: tuple[int, ...] = (32, 128, 512, 1024, 1024)
    stft_channels: int = 32
    loss: str = "ls"  # "ls" (least squares, as DAC) or "hinge"
    # Steps of mel + VQ + KD training before the adversarial game starts (DAC starts it at once). A codec that
    # already reconstructs coarsely gives the discriminators something to work on, and the step costs about
    # half as much while they are off: a CPU-budget run can be this warm-up alone.
    start_step: int = 0


@dataclass(frozen=True)
class CodebookConfig:
    """Codebook statistics and dead-code replacement (codes rarely picked are moved onto recent latents)."""

    usage_window: int = 200  # steps the usage statistics average over (moving-average decay 1 - 1/window)
    dead_ratio: float = 0.03  # a code picked at under this fraction of the uniform rate 1/K is dead
    replace_every: int = 0  # steps between replacements; 0 turns replacement off (statistics are still logged)


@dataclass(frozen=True)
class InitConfig:
    """A new run that starts from an exported checkpoint's weights instead of random ones.

    Read only when ``run_dir`` holds no training state (a run that has one resumes from it, with the init it started
    with: :meth:`TrainConfig.with_init_of`). An export carries the
    model alone: the KD projections, the discriminators and both optimisers start afresh.
    """

    checkpoint: str | None = None  # a checkpoint directory or a model name, as HACTokenizer.from_pretrained takes
    # The step the run starts at: the learning-rate decay, content_steps and discriminator.start_step go on from it.
    # The export's own step continues its run; 0 fine-tunes with the recipe's whole schedule.
    step: int = 0
    # Steps the loaded weights stay as they are while the new parts learn: the model's first updates then come from
    # trained KD projections and discriminators, not random ones
    hold_steps: int = 0


@dataclass(frozen=True)
class RecipeAbout:
    """What ``hac-train recipes`` shows of a recipe, one line each: for a person choosing one, not for training."""

    summary: str = ""
    data: str = ""  # the corpus the recipe reads and the command that writes its manifests
    cost: str = ""  # steps and the compute they take, measured or estimated (say which)


@dataclass(frozen=True)
class TrainConfig:
    """A complete training recipe. ``model`` is a preset name or an inline :class:`HACConfig` dict."""

    name: str = "run"
    about: RecipeAbout = field(default_factory=RecipeAbout)
    run_dir: str = "runs/run"
    model: str | dict = "tiny"
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    codebook: CodebookConfig = field(default_factory=CodebookConfig)
    init: InitConfig = field(default_factory=InitConfig)
    teachers: dict = field(default_factory=dict)  # stream name -> teacher spec for build_teacher
    steps: int = 400_000
    # Steps of a content-first stage: encoder, TrfENC and VQ branches trained by distillation (and the VQ losses)
    # alone, no decoder, no mel loss; then the whole model. 0: no such stage (the paper's recipe).
    content_steps: int = 0
    log_every: int = 100
    eval_every: int = 5_000
    eval_batches: int = 8
    checkpoint_every: int = 5_000
    seed: int = 0
    amp: str = "bf16"  # forward passes' precision; CPUs without bf16 instructions train in fp32 (runtime.py)
    device: str = "auto"  # "auto", "cpu" or "cuda"
    tensorboard: bool = False

    def __post_init__(self) -> None:
        if self.amp not in AMP_KINDS:
            raise ConfigError(f"amp must be one of {AMP_KINDS}, got {self.amp!r}.")
        if self.discriminator.loss not in ("ls", "hinge"):
            raise ConfigError(f"discriminator.loss must be 'ls' or 'hinge', got {self.discriminator.loss!r}.")
        if self.discriminator.start_step < 0:
            raise ConfigError(f"discriminator.start_step must be >= 0, got {self.discriminator.start_step}.")
        if not 0 <= self.content_steps <= self.discriminator.start_step:
            raise ConfigError(
                f"content_steps ({self.content_steps}) must be between 0 and discriminator.start_step "
                f"({self.discriminator.start_step}): the discriminators need decoded audio."
            )
        if self.init.step < 0 or self.init.hold_steps < 0:
            raise ConfigError(
                f"init.step and init.hold_steps must be >= 0, got {self.init.step}, {self.init.hold_steps}."
            )
        if self.init.checkpoint is None and (self.init.step or self.init.hold_steps):
            raise ConfigError("init.step and init.hold_steps need init.checkpoint: the weights the run starts from.")
        for key in ("steps", "log_every", "eval_every", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}.")
        if not self.data.train_manifests:
            raise ConfigError("data.train_manifests is empty: list JSONL manifests (made by hac-prepare-data).")
        streams = set(self.model_config().streams)
        for cycle in (f.name for f in dataclasses.fields(LossWeights) if f.name.endswith("_cycle")):
            if getattr(self.loss, cycle) and not streams & set(STREAMS_WITH_TEACHERS):
                raise ConfigError(
                    f"loss.{cycle}={getattr(self.loss, cycle)} decodes content tokens, and the model "
                    f"{self.model_config().name!r} has none (streams {sorted(streams)}); set loss.{cycle}=0."
                )
        for stream, spec in self.teachers.items():
            if stream not in STREAMS_WITH_TEACHERS or stream not in streams:
                raise ConfigError(
                    f"teachers.{stream}: the model {self.model_config().name!r} has no {stream} stream to distil "
                    f"into; its streams are {sorted(streams & set(STREAMS_WITH_TEACHERS))}."
                )
            if not isinstance(spec, dict) or "kind" not in spec:
                raise ConfigError(f"teachers.{stream} must be a mapping with a 'kind' key, got {spec!r}.")

    def model_config(self) -> HACConfig:
        """The architecture to train (a preset looked up by name, or the inline dict)."""
        return HACConfig.preset(self.model) if isinstance(self.model, str) else HACConfig.from_dict(self.model)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, width=1_000)  # one line per value, never wrapped

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return _build(cls, data, "")

    def with_init_of(self, saved_yaml: str) -> TrainConfig:
        """This config with the ``init`` a run's saved config (``to_yaml``) started from.

        ``init`` is read only when a run starts; a resume command need not repeat it, yet the run's hold
        (``init.step + init.hold_steps``) and its ``config.yaml`` must keep what the run started with.
        """
        saved = (yaml.safe_load(saved_yaml) or {}).get("init") or {}
        return dataclasses.replace(self, init=_build(InitConfig, saved, "init."))

    @classmethod
    def load(cls, recipe: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
        """Read a recipe (a packaged recipe's name or a YAML path) and apply ``key=value`` overrides."""
        path = recipe_path(recipe)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except OSError as err:
            raise ConfigError(f"cannot read training config {path}: {err}") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"{path} is not valid YAML: {err}") from err
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a YAML mapping at the top level.")
        for item in overrides:
            apply_override(data, item)
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from err


def apply_override(data: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in the nested dict ``data`` (value parsed as YAML)."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r} must look like key=value, e.g. data.batch_size=4.")
    value = yaml.safe_load(text) if text else ""
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        child = node.get(part)
        if part == "model" and isinstance(child, str) and node is data:
            child = HACConfig.preset(child).to_dict()  # editing one field of a preset: start from its values
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {item!r}: {part!r} is a value, not a section.")
        node[part] = child
        node = child
    node[leaf] = value


def _build(kind: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(data).__name__}.")
    hints = typing.get_type_hints(kind)
    names = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {[f'{where}{k}' for k in unknown]}; known: {sorted(names)}.")
    values = {name: _coerce(value, hints[name], f"{where}{name}") for name, value in data.items()}
    return kind(**values)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against a field's type, building nested dataclasses and turning lists into tuples."""
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{where}.")
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} is not a {hint}.")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}.")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}.")
        args = typing.get_args(hint)
        item_types = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        if len(item_types) != len(value):
            raise ConfigError(f"{where}: expected {len(item_types)} items, got {len(value)}.")
        return tuple(_coerce(v, t, f"{where}[{i}]") for i, (v, t) in enumerate(zip(value, item_types)))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # YAML writes 1 for 1.0
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}.")
        return value
    if isinstance(hint, type) and not (isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}.")
    return value


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively: the form YAML and ``torch.load(weights_only=True)`` both read."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
