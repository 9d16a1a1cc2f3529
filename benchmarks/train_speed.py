"""MDLM training speed: the plain full-canvas head against the head on masked rows only, in one run.

    python benchmarks/train_speed.py                          # CPU: MiniLM shape, MDLM and MLM
    python benchmarks/train_speed.py --device cuda --dtype bfloat16 --backbone answerdotai/ModernBERT-large

Both paths train the same model from the same weights on the same batches with the same masks
(the same seed), so their losses must agree step by step; the table prints tokens/s, the
speed-up, the largest loss difference and, on a GPU, peak memory and MFU (6 × parameters ×
tokens / time / the GPU's peak, given by --peak_tflops).
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from dlm_kit.backbones import load_backbone
from dlm_kit.heads import masked_lm_logits
from dlm_kit.masking import MaskingConfig, corrupt, masked_diffusion_loss


def run(model, batches, *, objective: str, fast: bool, mask_token_id: int, device: str, dtype) -> tuple[float, list[float], int]:
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
    for ids in batches:
        ids = ids.to(device)
        corrupted = corrupt(ids, ids, config=config, mask_token_id=mask_token_id, generator=generator)
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype != torch.float32):
            if fast:
                logits = masked_lm_logits(model, corrupted.input_ids, corrupted.masked)
                loss = masked_diffusion_loss(logits, ids, corrupted, objective=objective, scored_only=True)
            else:
                logits = model(input_ids=corrupted.input_ids).logits
                loss = masked_diffusion_loss(logits, ids, corrupted, objective=objective)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else 0
    return seconds, losses, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--peak_tflops", type=float, default=989.0, help="GPU peak for MFU (H100 SXM bf16 dense: 989)")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    model, tok = load_backbone(args.backbone)
    vocab = model.config.vocab_size
    batches = [torch.randint(1000, vocab - 1, (args.batch_size, args.seq_length)) for _ in range(args.steps)]
    tokens = args.batch_size * args.seq_length * args.steps
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.backbone} ({params / 1e6:.1f} M parameters), {args.device} {args.dtype}, "
          f"{args.steps} steps x {args.batch_size} x {args.seq_length} tokens, all layers trained")
    print(f"{'objective':>9} | {'path':>16} | {'tokens/s':>9} | {'speed-up':>8} | {'max |loss diff|':>15} | {'peak GiB':>8} | {'MFU':>5}")
    for objective in ("mdlm", "mlm"):
        results = {}
        for fast in (False, True):  # the plain path first: it is the baseline of this run
            results[fast] = run(model, batches, objective=objective, fast=fast, mask_token_id=tok.mask_token_id,
                                device=args.device, dtype=dtype)
        base_seconds = results[False][0]
        for fast, (seconds, losses, peak) in results.items():
            diff = max(abs(a - b) for a, b in zip(losses, results[False][1]))
            mfu = 6 * params * tokens / seconds / (args.peak_tflops * 1e12) if args.device == "cuda" else float("nan")
            print(f"{objective:>9} | {'head on masked' if fast else 'plain (full head)':>16} | {tokens / seconds:9.0f} | "
                  f"{base_seconds / seconds:7.2f}x | {diff:15.2e} | {peak / 2**30:8.2f} | {mfu:5.1%}")


if __name__ == "__main__":
    main()
