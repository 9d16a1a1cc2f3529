"""MDLM training: it learns, it resumes exactly, it runs multi-process, its output loads anywhere."""

import json
import os
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, TrainerCallback

import dlm_kit.training as training
from dlm_kit.backbones import load_backbone
from dlm_kit.data import SFTCollator, make_synthetic_tasks, tokenize_chat, tokenize_chat_dataset
from dlm_kit.masking import loss_at_mask_ratios
from dlm_kit.training import TrainConfig, seed_everything, train
from reference_sampler import reference_generate


def _sort_data(tok, n_train=600, n_test=64):
    ds = make_synthetic_tasks(["sort"], n_train=n_train, n_test=n_test, seed=0)
    return tokenize_chat_dataset(ds["train"], tok), tokenize_chat_dataset(ds["test"], tok)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny BERT trained with MDLM for 120 steps (~15 s on 2 cores), saved by the kit."""
    seed_everything(0)
    model, tok = load_backbone("tiny-bert", seed=0)
    train_ds, test_ds = _sort_data(tok)
    before = loss_at_mask_ratios(model, test_ds, ratios=(0.5, 1.0), mask_token_id=tok.mask_token_id,
                                 collate_fn=SFTCollator(tok))
    out = str(tmp_path_factory.mktemp("run") / "model")
    result = train(model, tok, train_ds, eval_dataset=test_ds,
                   config=TrainConfig(output_dir=out, max_steps=120, batch_size=32, eval_steps=60, progress_bar=False))
    after = loss_at_mask_ratios(result.model, test_ds, ratios=(0.5, 1.0), mask_token_id=tok.mask_token_id,
                                collate_fn=SFTCollator(tok))
    return result, tok, before, after


def test_tiny_mdlm_run_lowers_held_out_loss(trained):
    result, _, before, after = trained
    for ratio in (0.5, 1.0):
        assert after[ratio] < 0.6 * before[ratio], (ratio, before[ratio], after[ratio])
    assert result.eval_losses[-1] < result.eval_losses[0]
    assert result.losses[-1] < result.losses[0]


def test_loss_history_is_recorded_for_plots(trained):
    result = trained[0]
    assert result.steps[0] == 1 and result.steps[-1] == 120
    assert len(result.steps) == len(result.losses) and result.eval_steps == [60, 120]
    record = json.load(open(os.path.join(result.output_dir, "dlm_kit_run.json")))
    assert record["train_config"]["max_steps"] == 120 and record["world_size"] == 1


def test_saved_model_loads_with_plain_auto_classes_and_chat_template(trained):
    result, tok, _, _ = trained
    assert os.path.exists(os.path.join(result.output_dir, "model.safetensors"))
    model = AutoModelForMaskedLM.from_pretrained(result.output_dir)
    loaded = AutoTokenizer.from_pretrained(result.output_dir)
    messages = [{"role": "user", "content": "Sort the letters: d b a c e f"}]
    prompt = loaded.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    # the prompt a user builds is exactly the prompt part the model was trained on
    trained_ex = tokenize_chat(messages + [{"role": "assistant", "content": "a b c d e f"}], tok)
    assert loaded(prompt)["input_ids"] == trained_ex["input_ids"][: trained_ex["prompt_length"]]
    assert model.config.mask_token_id == loaded.mask_token_id


def test_model_card_quick_start_code_runs_on_a_kit_model(trained):
    """The card's Quick Start, with the model id replaced by our folder and CPU for CUDA."""
    path = trained[0].output_dir
    model = AutoModelForMaskedLM.from_pretrained(path, dtype=torch.bfloat16).to("cpu").eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    m = [{"role": "system", "content": "You are a helpful AI assistant."},
         {"role": "user", "content": "Sort the letters: q w e r t y"}]
    prompt = tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=False)
    input_ids = torch.tensor(tokenizer(prompt)["input_ids"]).to("cpu").unsqueeze(0)
    text = reference_generate(model, input_ids, mask_id=tokenizer.mask_token_id, steps=16, gen_length=16,
                              block_length=8, temperature=0.0, cfg_scale=0.0, remasking="random")
    answer = tokenizer.batch_decode(text[:, input_ids.shape[1]:], skip_special_tokens=False)[0]
    assert text.shape == (1, input_ids.shape[1] + 16) and (text != tokenizer.mask_token_id).all()
    assert isinstance(answer, str) and answer


class _StopAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True  # what a crash after a checkpoint leaves behind


def test_resume_after_interruption_reproduces_the_uninterrupted_losses(tmp_path, monkeypatch):
    config = dict(max_steps=10, batch_size=16, logging_steps=1, save_steps=5, progress_bar=False)

    def fresh():
        seed_everything(0)
        model, tok = load_backbone("tiny-bert", seed=0)
        return model, tok, _sort_data(tok, n_train=200, n_test=1)[0]

    full = train(*fresh()[:2], fresh()[2], config=TrainConfig(output_dir=str(tmp_path / "full"), **config))

    class Interrupted(training.MDLMTrainer):
        def __init__(self, *args, **kwargs):
            kwargs["callbacks"] = kwargs["callbacks"] + [_StopAt(5)]
            super().__init__(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(training, "MDLMTrainer", Interrupted)
        model, tok, ds = fresh()
        first = train(model, tok, ds, config=TrainConfig(output_dir=str(tmp_path / "part"), **config))
    assert first.steps[-1] == 5
    model, tok, ds = fresh()
    seed_everything(1234)  # the checkpoint's RNG state must win over the current one
    resumed = train(model, tok, ds, config=TrainConfig(output_dir=str(tmp_path / "part"), **config),
                    resume_from_checkpoint=True)
    assert resumed.steps == list(range(1, 11))  # one continuous record over both sittings
    assert resumed.losses[:5] == pytest.approx(first.losses, rel=1e-6)
    assert resumed.losses == pytest.approx(full.losses, rel=1e-5)
    record = json.loads((tmp_path / "part" / "dlm_kit_run.json").read_text())
    assert [step for step, _ in record["train_losses"]] == list(range(1, 11))
    # resuming the finished run refuses instead of logging a step past max_steps
    model, tok, ds = fresh()
    with pytest.raises(ValueError, match="already at step 10"):
        train(model, tok, ds, config=TrainConfig(output_dir=str(tmp_path / "part"), **config), resume_from_checkpoint=True)
    # throughput counts the 5 steps this call ran, not all 10: tokens = steps x batch x mean length
    per_step = full.tokens_per_second * full.train_runtime_s / 10
    assert resumed.tokens_per_second * resumed.train_runtime_s == pytest.approx(5 * per_step)


@pytest.mark.slow
@pytest.mark.parametrize(
    "launch, world_size",
    [
        (["--num_processes", "2", "--cpu"], 1),  # accelerate's simple CPU launcher: one process
        (["--multi_gpu", "--num_processes", "2"], 2),  # torchrun under the hood; gloo on CPU
    ],
)
def test_accelerate_launch_runs_a_tiny_mdlm_training(tmp_path, launch, world_size):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *launch, "--main_process_port", "29517",
           "-m", "dlm_kit.cli", "train", "--backbone", "tiny-bert", "--task_families", "sort",
           "--n_train", "100", "--max_steps", "3", "--batch_size", "8", "--output_dir", str(out),
           "--progress_bar", "false"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.load(open(out / "dlm_kit_run.json"))
    assert record["global_step"] == 3 and record["world_size"] == world_size
    assert AutoModelForMaskedLM.from_pretrained(out).num_parameters() > 0


def test_load_backbone_reopens_a_kit_model_folder_with_its_template(trained):
    model, tok = load_backbone(trained[0].output_dir)
    assert type(model).__name__ == "BertForMaskedLM"
    assert tok.chat_template == trained[1].chat_template and tok.eos_token_id == trained[1].eos_token_id


def test_committed_wikipedia_pair_shows_the_ratio_tradeoff_notebook_01_reports():
    """models/tiny-wiki-{mlm,mdlm}: MLM is better at 15 % masking, MDLM at a fully masked block."""
    from dlm_kit.data import group_texts, load_text_corpus

    mlm, tok = load_backbone("tiny-wiki-mlm")
    mdlm, _ = load_backbone("tiny-wiki-mdlm")
    held_out = group_texts(load_text_corpus("gensim-wikipedia", split="validation"), tok, seq_length=64).select(range(64))
    scores = {name: loss_at_mask_ratios(m.eval(), held_out, ratios=(0.15, 1.0), mask_token_id=tok.mask_token_id)
              for name, m in (("mlm", mlm), ("mdlm", mdlm))}
    assert scores["mlm"][0.15] < scores["mdlm"][0.15] - 0.2
    assert scores["mdlm"][1.0] < scores["mlm"][1.0]


def test_autoregressive_baseline_trains_on_the_same_rows_and_answers(tmp_path):
    """objective='ar' (notebook 05's GPT-2 baseline): same data rows, prompt untrained, one EOS."""
    from dlm_kit.baselines import answer_causal, load_causal_baseline
    from dlm_kit.chat import SamplingConfig

    model, tok = load_causal_baseline("tiny-gpt2", seed=0)
    data = make_synthetic_tasks(["copy"], n_train=400, n_test=16, seed=0)
    result = train(model, tok, tokenize_chat_dataset(data["train"], tok),
                   config=TrainConfig(output_dir=str(tmp_path), objective="ar", max_steps=150, batch_size=32, progress_bar=False))
    assert result.losses[-1] < 0.3 * result.losses[0]
    reloaded, tok2 = load_causal_baseline(str(tmp_path))
    replies = answer_causal(reloaded.eval(), tok2, [r["messages"][:-1] for r in data["test"]], sampling=SamplingConfig(max_new_tokens=12))
    # answers stop at the trained EOS / end tag: no template text leaks into them
    assert len(replies) == 16 and not any("[" in r or "Question" in r for r in replies), replies
    assert sum(bool(r) for r in replies) >= 12, replies


# ---- clear errors for settings a user can get wrong -------------------------------------------


def test_unknown_objective_lists_all_three():
    with pytest.raises(ValueError, match=r"objective='diffusion'.*'mdlm'.*'mlm'.*'ar'"):
        TrainConfig(objective="diffusion")


@pytest.mark.parametrize("learning_rate", [0.0, -1e-3, float("nan")])
def test_a_learning_rate_that_is_not_positive_is_refused(learning_rate):
    with pytest.raises(ValueError, match=r"learning_rate=.* must be positive, e\.g\. 2e-3"):
        TrainConfig(learning_rate=learning_rate)


def test_bf16_without_a_cuda_gpu_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"bf16=True .* torch\.cuda\.is_available\(\) is False; use bf16=None"):
        TrainConfig(bf16=True)
    assert TrainConfig(bf16=None).to_training_arguments().bf16 is False  # automatic: float32 on CPU


def test_autoregressive_objective_refuses_a_masked_lm_before_training(tmp_path):
    """A masked LM sees the next token, so 'ar' would train it to copy its input."""
    model, tok = load_backbone("tiny-bert", seed=0)
    data = tokenize_chat_dataset(make_synthetic_tasks(["copy"], n_train=8, n_test=0)["train"], tok)
    with pytest.raises(ValueError, match=r"objective='ar' .* BertForMaskedLM .*load_causal_baseline.*'mdlm' or 'mlm'"):
        train(model, tok, data, config=TrainConfig(output_dir=str(tmp_path / "ar"), objective="ar", max_steps=1,
                                                   progress_bar=False))
    assert not (tmp_path / "ar").exists()  # refused before anything was trained or saved


def test_cli_trains_the_autoregressive_baseline_and_refuses_a_masked_kit_backbone(tmp_path):
    from dlm_kit import cli

    args = ["train", "--objective", "ar", "--task_families", "copy", "--n_train", "16", "--max_steps", "2",
            "--batch_size", "4", "--progress_bar", "false"]
    cli.main([*args, "--backbone", "tiny-gpt2", "--output_dir", str(tmp_path / "gpt2")])
    assert json.load(open(tmp_path / "gpt2" / "config.json"))["architectures"] == ["GPT2LMHeadModel"]
    with pytest.raises(ValueError, match=r"--objective ar .* 'tiny-bert' is a masked LM.*--backbone tiny-gpt2"):
        cli.main([*args, "--backbone", "tiny-bert", "--output_dir", str(tmp_path / "bert")])


# ---- any dataset the Trainer takes; throughput of a resumed run --------------------------------


def test_training_on_a_plain_list_of_examples_returns_its_result(tmp_path):
    model, tok = load_backbone("tiny-bert", seed=0)
    data = tokenize_chat_dataset(make_synthetic_tasks(["sort"], n_train=16, n_test=0)["train"], tok)
    rows = [dict(row) for row in data]  # a plain list is a valid torch dataset
    result = train(model, tok, rows, config=TrainConfig(output_dir=str(tmp_path), max_steps=2, batch_size=8,
                                                        logging_steps=1, progress_bar=False))
    assert result.steps == [1, 2] and os.path.exists(tmp_path / "model.safetensors")
    mean_length = sum(len(r["input_ids"]) for r in rows) / len(rows)
    assert result.tokens_per_second * result.train_runtime_s == pytest.approx(2 * 8 * mean_length)


# ---- gradient accumulation ----------------------------------------------------------------------


def _content_masks(input_ids, labels, *, config, mask_token_id, generator=None):
    """Masks that depend only on each row's tokens: a row gets the same mask in any batch."""
    from dlm_kit.masking import CorruptedBatch

    trainable = labels != -100
    masked = ((input_ids + torch.arange(input_ids.shape[1])) % 2 == 0) & trainable
    t = torch.full((input_ids.shape[0],), 0.5)
    noisy = torch.where(masked, torch.full_like(input_ids, mask_token_id), input_ids)
    return CorruptedBatch(input_ids=noisy, masked=masked, trainable=trainable, t=t, weights=1 / t)


@pytest.mark.parametrize("trainer_predates_loss_is_scaled_for_ga", [False, True])
def test_two_accumulated_batches_of_4_give_the_update_of_one_batch_of_8(
    tmp_path, monkeypatch, trainer_predates_loss_is_scaled_for_ga
):
    """Plain SGD with lr=1 and no clipping, so the update is the gradient itself.

    Trainers older than ``loss_is_scaled_for_ga`` (transformers < 5.x; the kit allows 4.48)
    ignore that attribute and decide from ``model_accepts_loss_kwargs``: the second case
    replays them.
    """

    class PlainSGD(training.MDLMTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.args.max_grad_norm = 0.0
            if trainer_predates_loss_is_scaled_for_ga:
                self.loss_is_scaled_for_ga = None

        def create_optimizer(self, *args, **kwargs):
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1.0)
            return self.optimizer

    monkeypatch.setattr(training, "MDLMTrainer", PlainSGD)
    monkeypatch.setattr(training, "corrupt", _content_masks)
    ids = torch.randint(10, 400, (16, 12), generator=torch.Generator().manual_seed(0)).tolist()
    rows = [{"input_ids": r, "labels": list(r)} for r in ids]  # same length: every micro-batch has 48 trainable

    def one_step(batch_size, accumulation):
        model, tok = load_backbone("tiny-bert", seed=0)
        config = TrainConfig(output_dir=str(tmp_path / f"b{batch_size}"), max_steps=1, batch_size=batch_size,
                             gradient_accumulation_steps=accumulation, warmup_ratio=0.0,
                             lr_scheduler_type="constant", weight_decay=0.0, progress_bar=False)
        return train(model, tok, rows, config=config).model.state_dict()

    start = load_backbone("tiny-bert", seed=0)[0].state_dict()
    whole, accumulated = one_step(8, 1), one_step(4, 2)
    key = "cls.predictions.transform.dense.weight"
    assert not torch.allclose(whole[key], start[key], atol=1e-4)  # the step did move the weights
    for name, value in whole.items():
        assert torch.allclose(accumulated[name], value, rtol=1e-4, atol=1e-6), name


# ---- RoBERTa's positions -----------------------------------------------------------------------


def test_roberta_training_numbers_positions_straight_through_eos_tokens(tmp_path):
    """The tiny tokenizer's EOS is its pad id; RoBERTa must not read group_texts' separators as padding."""
    import datasets

    from dlm_kit.data import group_texts

    model, tok = load_backbone("tiny-roberta", seed=0)
    assert tok.eos_token_id == tok.pad_token_id == model.config.pad_token_id
    docs = datasets.Dataset.from_dict({"text": ["Sort the letters: b a", "What is 2 + 3?", "Copy c d e f"] * 4})
    blocks = group_texts(docs, tok, seq_length=16)
    assert any(tok.eos_token_id in row[:-1] for row in blocks["input_ids"])  # separators inside blocks
    seen = []
    model.roberta.embeddings.position_embeddings.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    train(model, tok, blocks, config=TrainConfig(output_dir=str(tmp_path), max_steps=1, batch_size=len(blocks),
                                                 progress_bar=False))
    expected = tok.pad_token_id + 1 + torch.arange(16)
    assert seen and all(torch.equal(positions, expected.expand_as(positions)) for positions in seen)


# ---- length-grouped batches ---------------------------------------------------------------------


def test_length_grouped_batches_carry_less_padding(tmp_path):
    model, tok = load_backbone("tiny-bert", seed=0)
    data = tokenize_chat_dataset(make_synthetic_tasks(["copy", "sort", "add"], n_train=40, n_test=0)["train"], tok)
    assert len({len(row["input_ids"]) for row in data}) > 3  # rows of several lengths

    def padding_over_a_run(group_by_length: bool) -> float:
        collator = SFTCollator(tok)
        padded = real = 0

        def counting(examples):
            nonlocal padded, real
            batch = collator(examples)
            padded += batch["input_ids"].numel()
            real += sum(len(e["input_ids"]) for e in examples)
            return batch

        config = TrainConfig(output_dir=str(tmp_path / str(group_by_length)), max_steps=6, batch_size=8,
                             progress_bar=False, group_by_length=group_by_length)
        train(load_backbone("tiny-bert", seed=0)[0], tok, data, config=config, data_collator=counting)
        return 1 - real / padded

    assert padding_over_a_run(True) < 0.5 * padding_over_a_run(False)


def test_length_grouping_reaches_the_trainer():
    args = TrainConfig(group_by_length=True).to_training_arguments()
    assert getattr(args, "train_sampling_strategy", None) == "group_by_length" or getattr(args, "group_by_length", False)


def test_compile_keeps_the_model_splittable_so_the_head_still_runs_on_masked_rows_only():
    from dlm_kit.heads import split_masked_lm

    model, _ = load_backbone("tiny-bert", seed=0)
    training.compile_in_place(model)  # lazy: nothing is compiled until the first forward pass
    encoder, head = split_masked_lm(model)
    assert encoder._compiled_call_impl is not None and head._compiled_call_impl is not None
    assert type(model).__name__ == "BertForMaskedLM"
    assert TrainConfig(compile=True).to_training_arguments().torch_compile is False  # not the wrapping kind


def _cli_train(out, *extra, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "dlm_kit.cli", "train", "--backbone", "tiny-bert", "--task_families", "sort",
         "--n_train", "64", "--max_steps", "12", "--batch_size", "8", "--logging_steps", "1", "--save_steps", "4",
         "--progress_bar", "false", "--output_dir", str(out), *extra],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow
def test_cli_train_interrupted_and_resumed_matches_an_uninterrupted_run(tmp_path):
    import signal
    import time

    full = _cli_train(tmp_path / "full")
    assert full.returncode == 0, full.stderr[-2000:]
    cmd = [sys.executable, "-m", "dlm_kit.cli", "train", "--backbone", "tiny-bert", "--task_families", "sort",
           "--n_train", "64", "--max_steps", "12", "--batch_size", "8", "--logging_steps", "1", "--save_steps", "4",
           "--progress_bar", "false", "--output_dir", str(tmp_path / "part"),
           "--save_total_limit", "3"]  # checkpoint-4 survives even if the run gets to step 12 before the signal
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 300
    while not (tmp_path / "part" / "checkpoint-4" / "trainer_state.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # Ctrl-C after the first checkpoint
    proc.communicate(timeout=120)
    for later in (8, 12):  # a fast (or briefly descheduled) run may have got further: resume from step 4
        if (tmp_path / "part" / f"checkpoint-{later}").exists():
            __import__("shutil").rmtree(tmp_path / "part" / f"checkpoint-{later}")
    again = _cli_train(tmp_path / "part")  # the same command again: refused, naming the flags
    assert again.returncode == 2 and "--resume" in again.stderr and "--overwrite" in again.stderr
    resumed = _cli_train(tmp_path / "part", "--resume", "true")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    final = lambda run: float(run.stdout.split("final training loss ")[1].split(";")[0])  # noqa: E731
    assert final(resumed) == pytest.approx(final(full), rel=1e-4)
    record = json.loads((tmp_path / "part" / "dlm_kit_run.json").read_text())
    assert [step for step, _ in record["train_losses"]] == list(range(1, 13))
