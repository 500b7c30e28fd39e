"""Every task on its shipped test split: pretrained MiniLM vs random init, full fine-tuning vs frozen encoder.

Prints the README's results table (markdown) and writes benchmarks/finetune_results.json.
Usage: python benchmarks/finetune_results.py [task ...]
"""
from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from bertcourse import BertForSequenceClassification
from bertcourse.finetuning import FinetuneConfig, finetune
from bertcourse.tasks import get_task

# per task: the settings of every run (the same for all modes, so they differ by the init/freeze/pooling only;
# a learning_rate here is for full fine-tuning, a head on frozen features keeps its own default)
SETTINGS = {
    "sentiment": dict(epochs=3, max_length=64),
    "entailment": dict(epochs=4, max_length=96),
    "similarity": dict(epochs=4, max_length=96),
    "ner": dict(epochs=4, max_length=96, batch_size=16),
    "qa": dict(epochs=0.81, max_length=128, batch_size=16, learning_rate=2e-4),
}
# (init, freeze, pooling); mean pooling only where the head reads one sentence vector, the bi-encoder on pairs only
MODES = (("pretrained", False, "cls"), ("random", False, "cls"), ("pretrained", True, "cls"),
         ("pretrained", True, "mean"), ("pretrained", True, "bi-encoder"))
COLUMNS = ("pretrained, fine-tuned", "random init, fine-tuned", "pretrained, frozen ([CLS])",
           "pretrained, frozen (mean-pooled)", "pretrained, frozen (bi-encoder)")
OUT = Path(__file__).with_name("finetune_results.json")


def run(task_name: str) -> list[dict]:
    rows, task = [], get_task(task_name)
    for init, freeze, pooling in MODES:
        if (pooling == "mean" and task.model_cls is not BertForSequenceClassification
                or pooling == "bi-encoder" and not getattr(task, "pair", False)):
            continue
        settings = {k: v for k, v in SETTINGS[task_name].items() if not (freeze and k == "learning_rate")}
        result = finetune(task_name, FinetuneConfig(init=init, freeze=freeze, pooling=pooling, progress=False,
                                                    **settings), splits=("train", "test"))
        rows.append({"task": task_name, "init": init, "mode": "frozen" if freeze else "full", "pooling": pooling,
                     "train": result.scores["train"], "test": result.scores["test"],
                     "seconds": round(result.seconds, 1), "steps": len(result.history.train["loss"]),
                     "trainable": result.trainable_parameters})
        print(f"{task_name:<10} {init:<10} {rows[-1]['mode']:<6} test {result.scores['test']} "
              f"({result.seconds:.0f} s)", flush=True)
    return rows


def percent(task_name: str, value: float) -> float:
    """Every metric on a 0-100 scale (SQuAD's EM/F1 already are)."""
    return value if task_name == "qa" else 100 * value


def table(rows: list[dict]) -> str:
    lines = ["All metrics x 100 on the shipped test split; training time in brackets.", "",
             "| task | metric | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * len(COLUMNS)]
    for task_name in dict.fromkeys(r["task"] for r in rows):
        runs = [r for r in rows if r["task"] == task_name]
        for metric in (m for m in runs[0]["test"] if m != "per_type"):
            cells = [f"{percent(task_name, r['test'][metric]):.1f} ({r['seconds']:.0f} s)" for r in runs]
            cells += ["n/a"] * (len(COLUMNS) - len(cells))          # no sentence vector (NER, QA), no pair
            lines.append(f"| {task_name} | {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # "newly initialised head" is expected here
    names = sys.argv[1:] or list(SETTINGS)
    previous = json.loads(OUT.read_text()) if OUT.exists() else []
    started = time.time()
    rows = [r for name in names for r in run(get_task(name).name)]
    rows += [r for r in previous if r["task"] not in names]
    rows.sort(key=lambda r: list(SETTINGS).index(r["task"]))  # one order, whichever tasks were rerun
    OUT.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    print(f"total {time.time() - started:.0f} s")
