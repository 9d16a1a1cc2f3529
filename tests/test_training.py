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
    assert resumed.steps == list(range(6, 11))
    assert first.losses + resumed.losses == pytest.approx(full.losses, rel=1e-5)


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
