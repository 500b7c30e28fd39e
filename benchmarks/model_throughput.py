"""Throughput of our BertModel vs transformers.BertModel on the MiniLM weights (same process, interleaved).

    python benchmarks/model_throughput.py [--batch 32] [--seq 128] [--reps 7]

Prints tokens/s for a forward pass (inference, no grad) and a training step (forward, backward, AdamW),
the ratio ours / transformers, and the achieved GFLOP/s. Speed targets live here, not in unit tests.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402

from bertcourse import BertConfig, load_pretrained  # noqa: E402
from bertcourse.checkpoints import default_model_dir  # noqa: E402


def forward_flops(cfg: BertConfig, B: int, T: int) -> float:
    """Multiply-adds x 2 of the matrix products in one forward pass (embeddings and softmax ignored)."""
    H, I, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    dense = 4 * H * H + 2 * H * I          # Q, K, V, output projection, two feed-forward layers
    attention = 2 * T * H                  # Q K^T and weights @ V
    return 2.0 * B * T * L * (dense + attention)


def forward_step(model, batch):
    with torch.no_grad():
        model(**batch)


def train_step(model, batch, optimizer):
    out = model(**batch)
    out.last_hidden_state.float().pow(2).mean().backward()  # a stand-in loss that touches every token
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    B, T = args.batch, args.seq

    ours = load_pretrained()
    ref = transformers.BertModel.from_pretrained(default_model_dir()).eval()  # its default (SDPA) attention
    cfg = ours.config
    batch = {"input_ids": torch.randint(1000, cfg.vocab_size, (B, T)),
             "token_type_ids": torch.zeros(B, T, dtype=torch.long),
             "attention_mask": torch.ones(B, T, dtype=torch.long)}
    with torch.no_grad():  # same numbers before timing anything
        torch.testing.assert_close(ours(**batch).last_hidden_state, ref(**batch).last_hidden_state, atol=1e-4, rtol=0)

    flops = forward_flops(cfg, B, T)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
          f"batch {B} x {T}, fp32, MiniLM-L6-H384")
    for name in ("forward", "train step"):
        models = {"bertcourse": ours, "transformers": ref}
        opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-9) for k, m in models.items()}
        times = {k: [] for k in models}
        for rep in range(args.reps + 1):                      # rep 0 warms up and is dropped
            order = list(models) if rep % 2 == 0 else list(models)[::-1]  # interleave, alternate who goes first
            for k in order:
                models[k].train(name == "train step")
                t = timed(forward_step, models[k], batch) if name == "forward" else \
                    timed(train_step, models[k], batch, opts[k])
                if rep:
                    times[k].append(t)
        med = {k: statistics.median(v) for k, v in times.items()}
        work = flops if name == "forward" else 3 * flops   # backward ~ twice the forward
        for k in models:
            print(f"{name:>10} {k:>12}: {B * T / med[k]:9.0f} tokens/s  {work / med[k] / 1e9:6.1f} GFLOP/s  "
                  f"(median of {args.reps})")
        print(f"{name:>10}        ratio: {med['transformers'] / med['bertcourse']:.3f}  (bertcourse / transformers)")
    for m in (ours, ref):
        m.eval()


if __name__ == "__main__":
    main()
