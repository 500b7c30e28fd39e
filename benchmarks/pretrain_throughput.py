"""Pretraining throughput: our BertForPreTraining vs transformers.BertForPreTraining, same weights,
same config, same batch (MLM 15% + NSP), same process, interleaved.

    python benchmarks/pretrain_throughput.py [--config tiny] [--vocab 6000] [--batch 32] [--seq 128]

Prints training tokens/s for both and the ratio (target >= 1.0).
"""
from __future__ import annotations

import argparse
import os
import tempfile
from functools import partial

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from common import interleaved_times, report  # noqa: E402

from bertcourse import BertConfig, BertForPreTraining, load_pretrained  # noqa: E402


def train_step(model, batch, optimizer) -> None:
    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=("tiny", "base"), default="tiny")
    parser.add_argument("--vocab", type=int, default=6000, help="vocabulary size (the course's pretraining uses 6,000)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    B, T, V = args.batch, args.seq, args.vocab

    ours_cfg = getattr(BertConfig, args.config)(vocab_size=V)
    hf_cfg = transformers.BertConfig(**{k: getattr(ours_cfg, k) for k in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        "max_position_embeddings", "type_vocab_size", "hidden_act", "layer_norm_eps")})
    hf = transformers.BertForPreTraining(hf_cfg)
    with tempfile.TemporaryDirectory() as tmp:  # the very same initial weights in both
        hf.save_pretrained(tmp)
        ours = load_pretrained(tmp, BertForPreTraining)
    models = {"bertcourse": ours.train(), "transformers": hf.train()}

    ids = torch.randint(5, V, (B, T))
    labels = torch.where(torch.rand(B, T) < 0.15, ids, -100)
    batch = {"input_ids": ids, "token_type_ids": (torch.arange(T) >= T // 2).long().expand(B, T),
             "attention_mask": torch.ones(B, T, dtype=torch.long), "labels": labels,
             "next_sentence_label": torch.randint(2, (B,))}
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-9) for k, m in models.items()}
    times = interleaved_times({k: partial(train_step, m, batch, optimizers[k]) for k, m in models.items()},
                              args.reps)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
          f"BERT-{args.config} (L={ours_cfg.num_hidden_layers}, H={ours_cfg.hidden_size}), vocab {V}, "
          f"batch {B} x {T}, fp32, MLM + NSP")
    report("train step", times, B * T)


if __name__ == "__main__":
    main()
