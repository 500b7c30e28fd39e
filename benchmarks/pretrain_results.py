"""Continued pretraining of MiniLM (the classroom model) beside a tiny BERT from scratch given the same clock.

Both are scored on the course's held-out documents (masked-token top-1/top-5, NSP) beside the trivial
baselines, and on the everyday cloze sentences of data/pretraining/cloze.tsv. The continued run is the
classroom model (`make models` builds it; built here if missing). Writes benchmarks/pretrain_results.json,
the committed source of the README's table (`--readme` rewrites it there).
Usage: python benchmarks/pretrain_results.py [--readme]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from common import write_between

from bertcourse import classroom
from bertcourse.pretrain_run import PretrainConfig, cloze_score, pretrain

OUT = Path(__file__).with_name("pretrain_results.json")
README = Path(__file__).resolve().parents[1] / "README.md"
MARKERS = ("<!-- pretrain-table:start -->", "<!-- pretrain-table:end -->")
SCRATCH = dict(init="scratch", config="tiny", corpus=("course",), learning_rate=1e-3, max_length=64,
               batch_size=32, vocab_size=6000, dupe_factor=5, eval_every=0, checkpoint_every=0, progress=False)


def scratch_steps(seconds: float, out: Path) -> int:
    """How many from-scratch steps fit in `seconds` on this machine, from a 30-step probe."""
    started = time.perf_counter()
    pretrain(PretrainConfig(**{**SCRATCH, "steps": 30}), out)
    history = json.loads((out / "history.json").read_text())
    per_step = history["train"]["seconds"][-1] / 30
    print(f"probe: {per_step * 1000:.0f} ms per from-scratch step ({time.perf_counter() - started:.0f} s with set-up)")
    return max(30, round(seconds / per_step))


def main() -> dict:
    warnings.simplefilter("ignore")
    classroom.prepare(["pretraining"])
    continued_dir = classroom.model_dir("pretraining")
    history = json.loads((continued_dir / "history.json").read_text())
    seconds = history["train"]["seconds"][-1]
    manifest = classroom.manifest("pretraining")
    continued = {**manifest["scores"]["heldout"], "training_seconds": round(seconds, 1),
                 "cloze_top5": manifest["scores"]["cloze_top5"], "cloze_sentences": manifest["scores"]["cloze_sentences"]}
    # the same clock on the same cores: `make models` builds two models at a time, one core each
    threads = manifest.get("threads", torch.get_num_threads())
    torch.set_num_threads(threads)
    continued["threads"] = threads
    with tempfile.TemporaryDirectory() as tmp:
        steps = scratch_steps(seconds, Path(tmp) / "probe")
        results = pretrain(PretrainConfig(**{**SCRATCH, "steps": steps, "progress": True}), Path(tmp) / "scratch")
        scratch_history = json.loads((Path(tmp) / "scratch" / "history.json").read_text())
        scratch = {**results, "training_seconds": round(scratch_history["train"]["seconds"][-1], 1),
                   **cloze_score(Path(tmp) / "scratch")}
    rows = {"continued (MiniLM + fresh heads)": {**continued, "settings": manifest["settings"]},
            "from scratch (BERT-tiny)": {**scratch, "threads": threads, "settings": SCRATCH | {"steps": steps}}}
    OUT.write_text(json.dumps(rows, indent=1, default=list))
    print(table(rows))
    return rows


def table(rows: dict) -> str:
    lines = ["| run | steps | training time | held-out MLM top-1 | top-5 | unigram baseline | NSP | majority "
             "baseline | cloze top-5 |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        clock = f"{r['training_seconds']:.0f} s on {r['threads']} core{'s' if r['threads'] > 1 else ''}"
        lines.append(f"| {name} | {r['steps']} | {clock} | {100 * r['mlm_accuracy']:.1f}% | "
                     f"{100 * r['mlm_top5_accuracy']:.1f}% | {100 * r['mlm_unigram_baseline']:.1f}% | "
                     f"{100 * r['nsp_accuracy']:.1f}% | {100 * r['nsp_majority_baseline']:.1f}% | "
                     f"{round(r['cloze_top5'] * r['cloze_sentences'])} of {r['cloze_sentences']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    rows = main()
    if "--readme" in sys.argv:
        write_between(README, *MARKERS, table(rows))
