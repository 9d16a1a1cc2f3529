"""MDLM training speed: the plain path against the kit's fast paths, in one run.

    python benchmarks/train_speed.py                          # CPU: MiniLM shape, MDLM and MLM blocks
    python benchmarks/train_speed.py --data sft               # English SFT rows of varied length
    python benchmarks/train_speed.py --device cuda --dtype bfloat16 --backbone answerdotai/ModernBERT-large

``--data blocks`` (pretraining: every row full, 128 tokens): the plain full-canvas head against
the head on masked rows only (``TrainConfig.head_on_masked_only``). Both paths train the same
model from the same weights on the same batches with the same masks (the same seed), so their
losses must agree step by step.

``--data sft`` (the kit's English instruction rows, prompt never masked): adds length-grouped
batches (``TrainConfig.group_by_length``), which change which rows share a batch, so their
losses are not comparable step by step; tokens/s there counts the rows' own tokens (padding
excluded), the rate at which the dataset goes by.

The table prints tokens/s, the speed-up over the plain path of the same run, the largest loss
difference, the padding fraction and, on a GPU, peak memory and MFU (6 × parameters × tokens /
time / the GPU's peak, given by --peak_tflops).
"""

from __future__ import annotations

import argparse
import copy
import random
import time

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler

from dlm_kit.backbones import load_backbone
from dlm_kit.heads import masked_lm_logits
from dlm_kit.masking import MaskingConfig, corrupt, masked_diffusion_loss


def run(model, batches, *, objective: str, fast: bool, mask_token_id: int, device: str, dtype) -> tuple[float, list[float], int]:
    """Train a copy of ``model`` on ``batches`` (dicts of input_ids, labels, attention_mask)."""
    model = copy.deepcopy(model).to(device).train()
    torch.manual_seed(0)  # the same dropout masks for both paths
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    config = MaskingConfig(objective=objective)
    generator = torch.Generator(device=device).manual_seed(0)
    losses = []
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    start = time.perf_counter()
    for batch in batches:
        ids, labels = batch["input_ids"].to(device), batch["labels"].to(device)
        attention_mask = batch.get("attention_mask")
        attention_mask = None if attention_mask is None else attention_mask.to(device)
        corrupted = corrupt(ids, labels, config=config, mask_token_id=mask_token_id, generator=generator)
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype != torch.float32):
            if fast:
                logits = masked_lm_logits(model, corrupted.input_ids, corrupted.masked, attention_mask=attention_mask)
                loss = masked_diffusion_loss(logits, labels, corrupted, objective=objective, scored_only=True)
            else:
                logits = model(input_ids=corrupted.input_ids, attention_mask=attention_mask).logits
                loss = masked_diffusion_loss(logits, labels, corrupted, objective=objective)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else 0
    return seconds, losses, peak


def block_batches(vocab: int, args) -> list[dict]:
    """Pretraining-shaped batches: full rows of random token ids, every token trainable."""
    batches = []
    for _ in range(args.steps):
        ids = torch.randint(1000, vocab - 1, (args.batch_size, args.seq_length))
        batches.append({"input_ids": ids, "labels": ids.clone()})
    return batches


def sft_batches(tokenizer, args) -> dict[str, list[dict]]:
    """English SFT rows batched twice from the same rows: in random order, and length-grouped."""
    from dlm_kit.data import SFTCollator, load_english_chat, tokenize_chat_dataset
    from dlm_kit.quiet import quiet

    with quiet():
        rows = tokenize_chat_dataset(load_english_chat()["train"], tokenizer, max_length=args.seq_length)
    rows = [dict(row) for row in rows]
    collate = SFTCollator(tokenizer)
    n = args.steps * args.batch_size
    random_order = random.Random(0).sample(range(len(rows)), len(rows))
    grouped_order = list(LengthGroupedSampler(args.batch_size, lengths=[len(r["input_ids"]) for r in rows],
                                              generator=torch.Generator().manual_seed(0)))
    batches = {}
    for name, order in (("random", random_order), ("grouped", grouped_order)):
        batches[name] = []
        for k in range(0, n, args.batch_size):
            chosen = [rows[i] for i in order[k : k + args.batch_size]]
            batch = collate(chosen)
            batch["row_tokens"] = sum(len(row["input_ids"]) for row in chosen)  # before padding
            batches[name].append(batch)
    return batches


def real_tokens(batches) -> tuple[int, float]:
    """Tokens of the rows themselves in ``batches`` (before padding), and the padding fraction.

    The kit's SFT collator pads answers with trained EOS tokens (the reference policy), so
    padding is computed, and trained, like any token: the dataset goes by at the rate of its
    rows' own tokens.
    """
    total = sum(b["input_ids"].numel() for b in batches)
    real = sum(b.get("row_tokens", b["input_ids"].numel()) for b in batches)
    return real, 1 - real / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--data", default="blocks", choices=["blocks", "sft"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seq_length", type=int, default=128, help="block length; the longest SFT row kept")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--peak_tflops", type=float, default=989.0, help="GPU peak for MFU (H100 SXM bf16 dense: 989)")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    model, tok = load_backbone(args.backbone)
    params = sum(p.numel() for p in model.parameters())
    if args.data == "blocks":
        data = block_batches(model.config.vocab_size, args)
        paths = [("plain (full head)", data, False), ("head on masked", data, True)]
        objectives = ("mdlm", "mlm")
    else:
        data = sft_batches(tok, args)
        paths = [("plain (full head)", data["random"], False), ("head on masked", data["random"], True),
                 ("+ length-grouped", data["grouped"], True)]
        objectives = ("mdlm",)
    print(f"{args.backbone} ({params / 1e6:.1f} M parameters), {args.device} {args.dtype}, {args.data}: "
          f"{args.steps} steps x {args.batch_size} rows (up to {args.seq_length} tokens), all layers trained")
    print(f"{'objective':>9} | {'path':>17} | {'tokens/s':>9} | {'speed-up':>8} | {'max |loss diff|':>15} | "
          f"{'padding':>7} | {'peak GiB':>8} | {'MFU':>5}")
    for objective in objectives:
        base_seconds = base_losses = None
        for name, batches, fast in paths:  # the plain path first: it is the baseline of this run
            seconds, losses, peak = run(model, batches, objective=objective, fast=fast,
                                        mask_token_id=tok.mask_token_id, device=args.device, dtype=dtype)
            tokens, padding = real_tokens(batches)
            if base_seconds is None:
                base_seconds, base_losses, base_tokens = seconds, losses, tokens
            same_batches = batches is paths[0][1]
            diff = f"{max(abs(a - b) for a, b in zip(losses, base_losses)):15.2e}" if same_batches else f"{'other batches':>15}"
            speedup = (tokens / seconds) / (base_tokens / base_seconds)
            mfu = 6 * params * tokens / seconds / (args.peak_tflops * 1e12) if args.device == "cuda" else float("nan")
            print(f"{objective:>9} | {name:>17} | {tokens / seconds:9.0f} | {speedup:7.2f}x | {diff} | "
                  f"{padding:7.1%} | {peak / 2**30:8.2f} | {mfu:5.1%}")


if __name__ == "__main__":
    main()
