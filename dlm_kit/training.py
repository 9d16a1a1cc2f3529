"""Training: MDLM (or MLM) fine-tuning of any Hugging Face masked LM with `transformers.Trainer`.

Nothing here is specific to one architecture: :class:`MDLMTrainer` only replaces the loss.
Each step draws mask ratios, corrupts the batch (:mod:`dlm_kit.masking`) and scores the
masked tokens. Everything else is the Trainer users know: the same code runs on CPU, on one
GPU (bf16 autocast, chosen automatically) and on several processes with
``accelerate launch --num_processes N -m dlm_kit.cli train ...``; checkpoints are safetensors
and ``resume_from_checkpoint`` continues with the same data order and random masks.

    >>> from dlm_kit.backbones import load_backbone
    >>> from dlm_kit.data import make_synthetic_tasks, tokenize_chat_dataset
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> data = tokenize_chat_dataset(make_synthetic_tasks(["sort"], n_train=16, n_test=0)["train"], tok)
    >>> result = train(model, tok, data, config=TrainConfig(output_dir="/tmp/doctest-run",
    ...                max_steps=2, batch_size=8, logging_steps=1, progress_bar=False))
    >>> len(result.losses)
    2
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import torch
from transformers import (
    PreTrainedModel,
    PrinterCallback,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from .a2d import clean_context
from .data import SFTCollator
from .heads import masked_lm_forward, masked_lm_logits
from .positions import position_ids, position_offset
from .quiet import quiet
from .train_checks import check_rows, mean_example_length, sees_later_tokens
from .masking import MaskingConfig, corrupt, masked_diffusion_loss

__all__ = ["TrainConfig", "TrainResult", "MDLMTrainer", "train", "seed_everything", "newest_checkpoint",
           "checkpoint_step", "check_resume"]

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices), as every notebook and test does first."""
    from transformers import set_seed

    set_seed(seed)


@dataclass
class TrainConfig:
    """Everything a training run needs besides the model and data; every field has a default.

    >>> TrainConfig(objective="mlm").masking.mlm_ratio
    0.15
    """

    output_dir: str = "runs/mdlm"
    """Where checkpoints (safetensors), the final model, tokenizer and config are written."""
    objective: Literal["mdlm", "mlm", "ar"] = "mdlm"
    """'mdlm': masked diffusion (all ratios); 'mlm': BERT's fixed-ratio baseline; 'ar':
    next-token prediction for a causal LM baseline (notebook 05), the model's own loss."""
    schedule: Literal["linear", "cosine"] = "linear"
    """MDLM masking schedule."""
    mlm_ratio: float = 0.15
    """Masked fraction for the MLM objective."""
    eps: float = 1e-3
    """Smallest MDLM mask ratio."""
    max_steps: int = 200
    """Optimizer steps."""
    batch_size: int = 32
    """Examples per device per step (before gradient accumulation)."""
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.05
    """Fraction of steps with linearly rising learning rate."""
    lr_scheduler_type: str = "cosine"
    logging_steps: int = 10
    """Training loss is averaged and recorded every this many steps."""
    eval_steps: int | None = None
    """Held-out loss every this many steps (needs an eval dataset); None: only at the end."""
    save_steps: int | None = None
    """Checkpoint every this many steps; None: only the final model is saved."""
    save_total_limit: int = 2
    seed: int = 0
    bf16: bool | None = None
    """bf16 autocast; None picks it on a CUDA GPU that supports it."""
    gradient_checkpointing: bool = False
    """Trade compute for memory on long sequences."""
    head_on_masked_only: bool = True
    """Run the MLM head only on the masked positions the loss scores (same loss, less work;
    see :mod:`dlm_kit.heads`). False: the plain full-canvas forward."""
    compile: bool = False
    """``torch.compile`` the model's parts in place (encoder, MLM head: each direct submodule), so
    the model keeps its class and the head still runs only on masked rows. Meant for GPUs: on
    CPU the first step compiles (14 s for tiny-bert) and later steps were no faster
    (docs/performance.md)."""
    group_by_length: bool = False
    """Batch rows of similar length together (the Trainer's length-grouped sampler): less
    padding on SFT data whose rows vary in length, so more real tokens per second
    (``benchmarks/train_speed.py --data sft``). Batches are then less random, and with the
    reference padding policy (answers padded with *trained* EOS to the batch's longest row) the
    model sees less padding to learn from: 4 % of tokens instead of 38 % on the English SFT rows.
    Pretraining blocks all have one length and gain nothing."""
    progress_bar: bool = True

    def __post_init__(self) -> None:
        if self.objective not in ("mdlm", "mlm", "ar"):
            raise ValueError(
                f"objective={self.objective!r}; choose 'mdlm' (masked diffusion), 'mlm' (BERT's fixed "
                "mask ratio) or 'ar' (next-token prediction, for a causal LM baseline)."
            )
        if self.objective != "ar":
            self.masking  # validates the masking fields  # noqa: B018
        if not self.learning_rate > 0:  # also refuses NaN
            raise ValueError(
                f"learning_rate={self.learning_rate} must be positive, e.g. 2e-3 for a tiny model trained "
                "from scratch or 1e-4 to fine-tune a pretrained one."
            )
        if self.bf16 and not torch.cuda.is_available():
            raise ValueError(
                "bf16=True asks for bf16 autocast on a CUDA GPU, but torch.cuda.is_available() is False; "
                "use bf16=None (bf16 wherever the GPU supports it, float32 on CPU) or bf16=False."
            )
        for name in ("max_steps", "batch_size", "gradient_accumulation_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1.")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio={self.warmup_ratio} must lie in [0, 1).")

    @property
    def masking(self) -> MaskingConfig:
        return MaskingConfig(objective=self.objective, schedule=self.schedule, eps=self.eps, mlm_ratio=self.mlm_ratio)

    def to_training_arguments(self, *, has_eval: bool = False) -> TrainingArguments:
        """The equivalent `transformers.TrainingArguments` (for users who want the Trainer directly)."""
        bf16 = self.bf16
        if bf16 is None:
            bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return TrainingArguments(
            output_dir=self.output_dir,
            max_steps=self.max_steps,
            per_device_train_batch_size=self.batch_size,
            per_device_eval_batch_size=self.batch_size,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            warmup_steps=math.ceil(self.warmup_ratio * self.max_steps),
            lr_scheduler_type=self.lr_scheduler_type,
            logging_steps=self.logging_steps,
            logging_first_step=True,
            eval_strategy="steps" if (has_eval and self.eval_steps) else "no",
            eval_steps=self.eval_steps,
            save_strategy="steps" if self.save_steps else "no",
            save_steps=self.save_steps or 500,
            save_total_limit=self.save_total_limit,
            seed=self.seed,
            bf16=bf16,
            # without CUDA, run on CPU explicitly: under `accelerate launch --multi_gpu` or
            # torchrun this makes the processes join one gloo group instead of each training alone
            use_cpu=not torch.cuda.is_available(),
            disable_tqdm=not self.progress_bar,
            report_to="none",
            remove_unused_columns=False,  # our collator picks its own columns
            **_length_grouping(self.group_by_length),
        )


def compile_in_place(model: torch.nn.Module) -> None:
    """``torch.compile`` each direct submodule of ``model`` in place (``nn.Module.compile``).

    Compiling the whole model (the Trainer's ``torch_compile``) would wrap it in an
    ``OptimizedModule``, which :func:`dlm_kit.heads.masked_lm_logits` cannot split into encoder
    and head, so it would silently fall back to the head on every row. Compiled in place, the
    model keeps its class and its parts (``bert`` and ``cls``, ``model`` and ``head`` and
    ``decoder``, ...); compilation happens at the first forward pass. ``dynamic=True``: the
    head sees a different number of masked rows at every step, which would otherwise recompile.

    >>> from dlm_kit.backbones import load_backbone
    >>> from dlm_kit.heads import split_masked_lm
    >>> model, _ = load_backbone("tiny-bert", seed=0)
    >>> compile_in_place(model)
    >>> type(model).__name__, split_masked_lm(model) is not None
    ('BertForMaskedLM', True)
    """
    for child in model.children():
        child.compile(dynamic=True)


def _length_grouping(enabled: bool) -> dict[str, Any]:
    """The TrainingArguments keyword for length-grouped batches on this transformers version."""
    if not enabled:
        return {}
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    if "train_sampling_strategy" in fields:  # transformers >= 5.x
        return {"train_sampling_strategy": "group_by_length"}
    return {"group_by_length": True}


class MDLMTrainer(Trainer):
    """`transformers.Trainer` whose loss is the MDLM (or MLM) objective of :mod:`dlm_kit.masking`.

    Evaluation draws its masks from a generator reset at every ``evaluate()``, so held-out
    losses at different steps are measured on the same masks and comparable.
    """

    def __init__(
        self, *args: Any, masking: MaskingConfig, mask_token_id: int, head_on_masked_only: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.masking = masking
        self.mask_token_id = mask_token_id
        self.head_on_masked_only = head_on_masked_only
        # Our loss is a per-micro-batch mean, so the Trainer must divide it by the accumulation
        # steps. Trainers before `loss_is_scaled_for_ga` existed decide from
        # `model_accepts_loss_kwargs` (True for models whose forward takes **kwargs): they divide
        # only when it is False (transformers 4.48 to 5.x; its docstring asks custom losses to set
        # it). Setting both gives the same update on every supported version (tested).
        self.model_accepts_loss_kwargs = False
        self.loss_is_scaled_for_ga = False
        self._eval_generator: torch.Generator | None = None
        self._position_offset: int | None = None  # RoBERTa-style numbering: see dlm_kit.positions

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, torch.Tensor], return_outputs: bool = False,
                     num_items_in_batch: torch.Tensor | int | None = None) -> torch.Tensor | tuple[torch.Tensor, Any]:
        labels = inputs["labels"]
        generator = None if model.training else self._eval_generator
        corrupted = corrupt(
            inputs["input_ids"], labels, config=self.masking, mask_token_id=self.mask_token_id, generator=generator
        )
        attention_mask = inputs.get("attention_mask")
        if self._position_offset is None:  # once per run: it walks every module of the model
            self._position_offset = position_offset(model)
        positions = position_ids(model, corrupted.input_ids, attention_mask, offset=self._position_offset)
        clean = clean_context(model, inputs["input_ids"], labels)  # {} unless a block-causal a2d model
        if self.head_on_masked_only and not return_outputs and not clean:
            logits = masked_lm_logits(
                model, corrupted.input_ids, corrupted.masked, attention_mask=attention_mask, position_ids=positions
            )
            return masked_diffusion_loss(logits, labels, corrupted, objective=self.masking.objective, scored_only=True)
        outputs = masked_lm_forward(model, corrupted.input_ids, attention_mask=attention_mask, position_ids=positions, **clean)
        loss = masked_diffusion_loss(outputs.logits, labels, corrupted, objective=self.masking.objective)
        return (loss, outputs) if return_outputs else loss

    def prediction_step(self, model: torch.nn.Module, inputs: dict[str, torch.Tensor], prediction_loss_only: bool,
                        ignore_keys: list[str] | None = None) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        # only the loss is needed; skip gathering [B, L, V] logits
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        self._eval_generator = torch.Generator(device=self.args.device).manual_seed(self.args.seed)
        return super().evaluate(*args, **kwargs)


class _LossHistory(TrainerCallback):
    """Collects (step, loss) pairs as the Trainer logs them, for plots, and counts the steps run."""

    def __init__(self) -> None:
        self.train: list[tuple[int, float]] = []
        self.eval: list[tuple[int, float]] = []
        self.steps_run = 0
        """Optimizer steps taken in this ``train()`` call (fewer than max_steps after a resume)."""

    def on_step_end(self, args, state, control, **kwargs):
        self.steps_run += 1

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" in logs:
            self.train.append((state.global_step, float(logs["loss"])))
        if "eval_loss" in logs:
            self.eval.append((state.global_step, float(logs["eval_loss"])))


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained model, its loss history and where it was saved."""

    model: PreTrainedModel
    output_dir: str
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    """Training loss (objective's units) at each logged step."""
    eval_steps: list[int] = field(default_factory=list)
    eval_losses: list[float] = field(default_factory=list)
    train_runtime_s: float = 0.0
    tokens_per_second: float = 0.0


def train(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train_dataset: Iterable[Mapping],
    *,
    config: TrainConfig,
    eval_dataset: Iterable[Mapping] | None = None,
    data_collator: Callable[[list[dict]], dict[str, torch.Tensor]] | None = None,
    resume_from_checkpoint: str | bool | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> TrainResult:
    """Train ``model`` with the MDLM/MLM objective (or a causal LM with 'ar') and save it with its tokenizer.

    ``train_dataset`` rows hold ``input_ids`` and ``labels`` (-100 = never masked, never
    scored), e.g. from :func:`dlm_kit.data.tokenize_chat_dataset` or
    :func:`dlm_kit.data.group_texts`. The default collator is :class:`dlm_kit.data.SFTCollator`
    (reference padding policy). ``resume_from_checkpoint``: a checkpoint folder, or True for
    the newest one in ``config.output_dir``. ``callbacks``: extra `transformers.TrainerCallback`s
    (e.g. a held-out measurement every N steps).

    The final model is written with ``save_pretrained`` (safetensors) together with the
    tokenizer, its chat template, and ``dlm_kit_run.json`` (config, losses, versions); it loads back with plain
    ``AutoModelForMaskedLM`` / ``AutoTokenizer``.
    """
    if tokenizer.mask_token_id is None and config.objective != "ar":
        raise ValueError("The tokenizer has no mask token; load it with dlm_kit.backbones.load_backbone.")
    if config.objective == "ar" and sees_later_tokens(model):
        raise ValueError(
            f"objective='ar' trains next-token prediction, but {type(model).__name__} lets every position "
            "see the tokens after it (a bidirectional masked LM), so it would learn to copy its input. "
            "Train a causal LM for 'ar' (dlm_kit.baselines.load_causal_baseline, AutoModelForCausalLM), "
            "or use objective='mdlm' or 'mlm' for this model."
        )
    # measured before training so that an unusual dataset fails now, not after a long run
    mean_length = mean_example_length(train_dataset)
    check_rows(model, train_dataset)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    if config.compile:
        compile_in_place(model)
    history = _LossHistory()
    common = dict(
        model=model,
        args=config.to_training_arguments(has_eval=eval_dataset is not None),
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        callbacks=[history, *(callbacks or [])],
    )
    if config.objective == "ar":
        # a causal LM shifts the labels itself; one EOS ends each answer, padding is not trained
        trainer = Trainer(**common, data_collator=data_collator or SFTCollator(tokenizer, pad_policy="single_eos"))
    else:
        trainer = MDLMTrainer(
            **common,
            data_collator=data_collator or SFTCollator(tokenizer),
            masking=config.masking,
            mask_token_id=tokenizer.mask_token_id,
            head_on_masked_only=config.head_on_masked_only,
        )
    if not config.progress_bar:  # quiet: no bar, and no printed log dicts either
        trainer.remove_callback(PrinterCallback)
    check_resume(config, resume_from_checkpoint)
    output = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    # the whole run's record, earlier sittings included: the Trainer restores its log on resume
    history.train, history.eval = _logged_losses(trainer.state.log_history)
    if eval_dataset is not None and (not history.eval or history.eval[-1][0] != trainer.state.global_step):
        trainer.evaluate()
    model = trainer.model
    model.config.mask_token_id = tokenizer.mask_token_id
    # model (safetensors) + tokenizer with chat template; no "Writing model shards" bar in a quiet run
    with quiet() if not config.progress_bar else contextlib.nullcontext():
        trainer.save_model(config.output_dir)
    if trainer.is_world_process_zero():
        _write_run_record(config, trainer, history)
    metrics = output.metrics
    runtime = float(metrics.get("train_runtime", 0.0))
    # this call's optimizer steps only: after a resume, train_runtime covers just those
    global_batch = config.batch_size * config.gradient_accumulation_steps * trainer.args.world_size
    n_tokens = history.steps_run * global_batch * mean_length
    return TrainResult(
        model=model,
        output_dir=config.output_dir,
        steps=[s for s, _ in history.train],
        losses=[loss for _, loss in history.train],
        eval_steps=[s for s, _ in history.eval],
        eval_losses=[loss for _, loss in history.eval],
        train_runtime_s=runtime,
        tokens_per_second=n_tokens / max(runtime, 1e-9),
    )


def _logged_losses(log_history: list[dict]) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(step, loss) and (step, eval_loss) pairs of a Trainer's log, one per step (the last one logged)."""
    train_by_step = {row["step"]: float(row["loss"]) for row in log_history if "loss" in row and "step" in row}
    eval_by_step = {row["step"]: float(row["eval_loss"]) for row in log_history if "eval_loss" in row and "step" in row}
    return sorted(train_by_step.items()), sorted(eval_by_step.items())


def newest_checkpoint(output_dir: str | Path) -> Path | None:
    """The Trainer's ``checkpoint-N`` folder with the highest N in ``output_dir``, or None."""
    found = [p for p in Path(output_dir).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def checkpoint_step(checkpoint: str | Path) -> int:
    """The optimizer step a checkpoint was saved at (its ``trainer_state.json``; 0 without one)."""
    state = Path(checkpoint) / "trainer_state.json"
    return json.loads(state.read_text()).get("global_step", 0) if state.exists() else 0


def check_resume(config: TrainConfig, resume_from_checkpoint: str | bool | None) -> None:
    """Refuse a resume with nothing to resume from, or of a run that already reached ``max_steps``
    (the Trainer would log and save a step past it)."""
    if not resume_from_checkpoint:
        return
    checkpoint = newest_checkpoint(config.output_dir) if resume_from_checkpoint is True else Path(resume_from_checkpoint)
    if checkpoint is None:
        raise ValueError(f"resume_from_checkpoint=True but {config.output_dir} holds no checkpoint-* folder.")
    step = checkpoint_step(checkpoint)
    if step >= config.max_steps:
        raise ValueError(
            f"{checkpoint} is already at step {step}, and max_steps={config.max_steps}: the run is finished. "
            f"Raise max_steps (e.g. --max_steps {step + config.max_steps}) to train further."
        )


def _write_run_record(config: TrainConfig, trainer: Trainer, history: _LossHistory) -> None:
    """Save the run's full config, processes and library versions next to the model."""
    import platform

    import transformers

    record = {
        "train_config": asdict(config),
        "world_size": trainer.args.world_size,
        "device": str(trainer.args.device),
        "global_step": trainer.state.global_step,
        "train_losses": history.train,
        "eval_losses": history.eval,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()},
    }
    with open(Path(config.output_dir) / "dlm_kit_run.json", "w") as f:
        json.dump(record, f, indent=2)
