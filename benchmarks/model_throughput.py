"""Throughput of our BertModel vs transformers.BertModel on the MiniLM weights (same process, interleaved).

    python benchmarks/model_throughput.py [--batch 32] [--seq 128] [--reps 7] [--out results.json]

Prints tokens/s for a forward pass (inference, no grad) and a training step (forward, backward, AdamW,
dropout on), the speed ratio ours / transformers per repetition (min, median, max), and the achieved
GFLOP/s; --out also writes them as JSON. Speed targets live here, not in unit tests.
"""
from __future__ import annotations

import argparse
import json
import os
from functools import partial

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from common import cpu_model, interleaved_times, report  # noqa: E402

from bertcourse import BertConfig, load_pretrained  # noqa: E402
from bertcourse.default_model import default_model_dir  # noqa: E402


def forward_flops(cfg: BertConfig, B: int, T: int) -> float:
    """2 x multiply-adds of the matrix products in one forward pass (embeddings and softmax ignored)."""
    H, I, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    dense = 4 * H * H + 2 * H * I          # Q, K, V, output projection, two feed-forward layers
    attention = 2 * T * H                  # Q K^T and weights @ V
    return 2.0 * B * T * L * (dense + attention)


def forward(model, batch) -> None:
    model.eval()
    with torch.no_grad():
        model(**batch)


def train_step(model, batch, optimizer) -> None:
    model.train()
    out = model(**batch)
    out.last_hidden_state.pow(2).mean().backward()  # a stand-in loss that touches every token
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args()
    torch.manual_seed(0)
    B, T = args.batch, args.seq

    models = {"bertcourse": load_pretrained(),
              "transformers": transformers.BertModel.from_pretrained(default_model_dir()).eval()}  # SDPA attention
    cfg = models["bertcourse"].config
    batch = {"input_ids": torch.randint(1000, cfg.vocab_size, (B, T)),
             "token_type_ids": torch.zeros(B, T, dtype=torch.long),
             "attention_mask": torch.ones(B, T, dtype=torch.long)}
    with torch.no_grad():  # the same numbers before timing anything
        torch.testing.assert_close(models["bertcourse"](**batch).last_hidden_state,
                                   models["transformers"](**batch).last_hidden_state, atol=1e-4, rtol=0)

    flops = forward_flops(cfg, B, T)
    setup = {"cpu": cpu_model(), "threads": torch.get_num_threads(), "torch": torch.__version__,
             "transformers": transformers.__version__, "batch": B, "seq": T, "reps": args.reps}
    print(f"{setup['cpu']}, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{setup['threads']} threads, batch {B} x {T}, fp32, all-MiniLM-L6-v2 (L=6, H=384)")
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-9) for k, m in models.items()}
    results = {}
    for name, work in (("forward", flops), ("train step", 3 * flops)):  # backward ~ twice the forward
        times = interleaved_times({k: partial(forward, m, batch) if name == "forward" else
                                   partial(train_step, m, batch, optimizers[k]) for k, m in models.items()},
                                  args.reps)
        results[name] = report(name, times, B * T, work)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({**setup, **results}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
