"""The prepared classroom models, as `make models` built them: settings, dev/test scores, build time.

Reads each model's classroom.json (data/cache/models/NAME/) into benchmarks/classroom_results.json, the
committed source of the README's classroom table, and prints that table (`table` renders it from the JSON).
Usage: python benchmarks/classroom_results.py [--readme]     (after `make models`; --readme rewrites the table)
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from common import write_between

from bertcourse import classroom

OUT = Path(__file__).with_name("classroom_results.json")
README = Path(__file__).resolve().parents[1] / "README.md"
MARKERS = ("<!-- classroom-table:start -->", "<!-- classroom-table:end -->")
METRICS = {"pretraining": ("mlm_accuracy", "mlm_top5_accuracy", "nsp_accuracy"), "sentiment": ("accuracy",),
           "entailment": ("accuracy",), "similarity": ("pearson", "spearman"), "ner": ("f1",),
           "qa": ("exact_match", "f1")}


def collect() -> dict:
    rows = {}
    for name in classroom.NAMES:
        m = classroom.manifest(name)
        # the why as the code states it now: the fingerprint leaves it out, so rewording it rebuilds nothing
        rows[name] = {"settings": m["settings"], "why": classroom.recipe(name).why, "seconds": m["seconds"],
                      "scores": m["scores"]}
    build = classroom.last_build()
    if sorted(build.get("built", ())) != sorted(classroom.NAMES):
        raise SystemExit("the README's total is the wall clock of one `prepare` that built all six models: run "
                         "`python -m bertcourse prepare --force`, or point BERTCOURSE_CACHE at a fresh clone's "
                         "data/cache after its `make test`")
    return {"machine": platform.processor() or platform.machine(), "models": rows,
            "workers": build["workers"], "total_seconds": build["seconds"]}


def percent(name: str, metric: str, value: float) -> str:
    return f"{value:.1f}" if name == "qa" else f"{100 * value:.1f}"


def table(results: dict) -> str:
    lines = ["| model | what it is | metric | dev (pretraining: held-out) | test | build time |",
             "|---|---|---|---:|---:|---:|"]
    for name, r in results["models"].items():
        for metric in METRICS[name]:
            if name == "pretraining":
                held = r["scores"]["heldout"]
                dev, test = f"{100 * held[metric]:.1f}", "—"
            else:
                dev, test = (percent(name, metric, r["scores"][split][metric]) for split in ("dev", "test"))
            lines.append(f"| {name} | {r['why'].split(':')[0]} | {metric} | {dev} | {test} | {r['seconds']:.0f} s |")
    pre = results["models"]["pretraining"]["scores"]
    lines.append(f"| pretraining | everyday cloze sentences, a sensible word in the top 5 | cloze | "
                 f"{round(pre['cloze_top5'] * pre['cloze_sentences'])} of {pre['cloze_sentences']} | — | |")
    at_once = f", {results['workers']} at a time" if results["workers"] > 1 else ", one after another"
    lines.append(f"| **all six** | `make models`{at_once} | | | | **{results['total_seconds'] / 60:.1f} min** |")
    return "\n".join(lines)


if __name__ == "__main__":
    results = collect()
    OUT.write_text(json.dumps(results, indent=1, default=list))
    print(table(results))
    if "--readme" in sys.argv:
        write_between(README, *MARKERS, table(results))
