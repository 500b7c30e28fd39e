"""The course's models, trained on a few hundred course examples, scored on the real benchmarks.

../shared/realdata/ holds byte-exact copies of public benchmark files (see its README): SST-2 dev, STS-B dev,
CoNLL-2003 test, SQuAD v1.1 dev. They are for evaluation only: nothing here trains or picks a setting on them.
Each model is the classroom model when `make models` has prepared it, else one trained here on the shipped
teaching set with the settings of benchmarks/finetune_results.py. Beside them, `transformers`' own
BertForSequenceClassification / BertForTokenClassification is trained on the same MiniLM weights, data and
schedule (sentiment and NER). Writes benchmarks/realdata_results.json and prints the README's table.

Usage: python benchmarks/realdata_results.py [--realdata DIR] [--tasks T ...] [--squad-articles N] [--limit N]
  DIR: default $BERTCOURSE_REALDATA, else ../shared/realdata beside the repository.
  --tasks: sentiment similarity ner qa (default all); the JSON is written after each and keeps the others' rows.
  --limit N scores the first N examples of each benchmark (a quick try; the JSON is then left alone).
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch
from common import write_between
from finetune_results import SETTINGS

from bertcourse import BertTokenizer, classroom, load_pretrained
from bertcourse.checkpoints import default_model_dir
from bertcourse.finetuning import FinetuneConfig, finetune, load_finetuned, load_split, training_steps
from bertcourse.sentence_embeddings import pair_cosines
from bertcourse.tasks import get_task
from bertcourse.tasks.classification import pearson, spearman
from bertcourse.training import Trainer, TrainingConfig

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).with_name("realdata_results.json")
# benchmark -> (task, file in the realdata folder, what one example is)
BENCHMARKS = {"SST-2 dev": ("sentiment", "SST-2/dev.tsv", "sentences"),
              "STS-B dev": ("similarity", "STS-B/dev.tsv", "pairs"),
              "CoNLL-2003 test": ("ner", "conll2003/test.txt", "sentences"),
              "SQuAD v1.1 dev": ("qa", "SQuAD/dev-v1.1.json", "questions")}
UNITS = {"sentiment": "sentences", "similarity": "pairs", "ner": "sentences", "qa": "questions"}
# Published figures for scale, each from a model trained on the benchmark's full training data (or, for
# all-MiniLM-L6-v2, on a billion sentence pairs): never measured here, so the table says whose they are.
PUBLISHED = {
    "SST-2 dev": "BERT-base, trained on SST-2's 67,349 sentences: about 93 (Devlin et al. 2019)",
    "STS-B dev": "all-MiniLM-L6-v2 as published (over a billion training pairs): Spearman 82.0 on STS-B test",
    "CoNLL-2003 test": "BERT-base, trained on CoNLL-2003's 14,041 sentences: F1 92.4 (Devlin et al. 2019)",
    "SQuAD v1.1 dev": "BERT-base, trained on SQuAD's 87,599 questions: EM / F1 80.8 / 88.5 (Devlin et al. 2019)",
}
# SQuAD v1.1 dev has 48 articles, 10,570 questions; scoring all of them takes over 10 minutes on 2 shared cores, so
# the table scores whole articles from the start: the first 2 hold 1,057 questions (Super_Bowl_50, Warsaw)
SQUAD_ARTICLES = 2


def course_runs() -> list[tuple[str, str, FinetuneConfig, str | None]]:
    """(task, label, settings, classroom model standing in for it) of every course model scored."""
    full = {task: FinetuneConfig(progress=False, **SETTINGS[task]) for task in ("sentiment", "similarity", "ner", "qa")}
    bi_encoder = replace(full["similarity"], freeze=True, pooling="bi-encoder")
    return [("sentiment", "bertcourse, fine-tuned", full["sentiment"], "sentiment"),
            ("similarity", "bertcourse, fine-tuned cross-encoder", full["similarity"], None),
            ("similarity", "bertcourse, frozen bi-encoder (a·cos + b)", bi_encoder, "similarity"),
            ("ner", "bertcourse, fine-tuned", full["ner"], "ner"),
            ("qa", "bertcourse, fine-tuned", full["qa"], "qa")]


def course_model(task_name: str, config: FinetuneConfig, name: str | None) -> tuple:
    """(model, tokenizer, settings, where from, training seconds): the prepared classroom model when there
    is one, else the same recipe trained here, now."""
    if name is not None:
        try:
            _, model, tok, meta = load_finetuned(classroom.model_dir(name))
            return model, tok, FinetuneConfig(**meta["config"]), "classroom model", meta.get("seconds")
        except classroom.ModelNotPrepared:
            pass
    result = finetune(task_name, config, splits=())
    return result.model, result.tokenizer, config, "trained here", result.seconds


def transformers_model(task_name: str, config: FinetuneConfig, tok) -> tuple[object, float]:
    """transformers' own head on the same MiniLM weights, trained by the same loop on the same features
    with the same schedule (steps, batch, learning rate, warm-up, decay, clipping, seed) as `finetune`."""
    from transformers import BertForSequenceClassification, BertForTokenClassification

    task = get_task(task_name)
    cls = {"sentiment": BertForSequenceClassification, "ner": BertForTokenClassification}[task_name]
    torch.manual_seed(config.seed)
    model = cls.from_pretrained(default_model_dir(), num_labels=task.num_labels)
    train = task.featurize(load_split(task, "train", config), tok, config.max_length)
    trainer = Trainer(model, train, task.collate, TrainingConfig(
        steps=training_steps(config, len(train)), batch_size=config.batch_size,
        learning_rate=config.learning_rate or 1e-4, seed=config.seed, device=config.device, progress=False))
    started = time.perf_counter()
    trainer.fit()
    return trainer.model, time.perf_counter() - started


def score(task_name: str, model, tok, examples: list, max_length: int) -> tuple[dict, float]:
    started = time.perf_counter()
    scores = get_task(task_name).evaluate(model, tok, examples, max_length, 64)
    return scores, time.perf_counter() - started


def real_examples(realdata: Path, benchmark: str, limit: int | None, squad_articles: int) -> list:
    task_name, file, _ = BENCHMARKS[benchmark]
    examples = get_task(task_name).load("test", realdata / file)
    if task_name == "qa":  # whole articles: the first N titles' questions (ids keep the file's order)
        articles = json.loads((realdata / file).read_text(encoding="utf-8"))["data"][:squad_articles]
        kept = {qa["id"] for a in articles for p in a["paragraphs"] for qa in p["qas"]}
        examples = [ex for ex in examples if ex.id in kept]
    return examples[:limit]


def zero_shot_similarity(examples: list) -> tuple[dict, float]:
    """MiniLM as published: cosine of the two mean-pooled sentence vectors, nothing trained."""
    started = time.perf_counter()
    model, tok = load_pretrained(), BertTokenizer.from_pretrained()
    cosines = pair_cosines(model, tok, [e.text for e in examples], [e.pair for e in examples])  # (N,)
    gold = torch.tensor([e.label for e in examples])                                            # (N,)
    return {"pearson": pearson(cosines, gold), "spearman": spearman(cosines, gold)}, time.perf_counter() - started


def task_rows(task_name: str, examples: list) -> list[dict]:
    """Every row of one task: its course models (and for similarity the untrained cosine; for sentiment and
    NER transformers' head), each scored on the real benchmark and on the shipped test split."""
    benchmark = next(b for b, (task, _, _) in BENCHMARKS.items() if task == task_name)
    shipped = get_task(task_name).load("test")
    rows = []
    if task_name == "similarity":
        scores, seconds = zero_shot_similarity(examples)
        rows.append(row(benchmark, examples, "MiniLM mean-pooled cosine, no training", "nothing", scores, None,
                        seconds, zero_shot_similarity(shipped)[0]))
        report(rows[-1])
    for _, label, config, name in (r for r in course_runs() if r[0] == task_name):
        model, tok, config, source, train_seconds = course_model(task_name, config, name)
        trained_on = f"{len(load_split(get_task(task_name), 'train', config)):,} course {UNITS[task_name]}"
        contenders = [(f"{label} ({source})", model, train_seconds)]
        if task_name in ("sentiment", "ner"):
            hf, hf_seconds = transformers_model(task_name, config, tok)
            contenders.append((f"transformers {type(hf).__name__}, same weights, data and schedule", hf, hf_seconds))
        for who, m, train in contenders:
            scores, seconds = score(task_name, m, tok, examples, config.max_length)
            rows.append(row(benchmark, examples, who, trained_on, scores, train, seconds,
                            score(task_name, m, tok, shipped, config.max_length)[0]))
            report(rows[-1])
    return rows


def row(benchmark: str, examples: list, model: str, trained_on: str, scores: dict, train_seconds: float | None,
        score_seconds: float, shipped_test: dict | None = None) -> dict:
    return {"benchmark": benchmark, "examples": len(examples), "model": model, "trained_on": trained_on,
            "scores": scores, "shipped_test": shipped_test,
            "train_seconds": None if train_seconds is None else round(train_seconds, 1),
            "score_seconds": round(score_seconds, 1)}


def report(r: dict) -> None:
    print(f"{r['benchmark']} ({r['examples']:,}): {r['model']}: {metric_text(r['benchmark'], r['scores'])} "
          f"(shipped test {metric_text(r['benchmark'], r['shipped_test'])}); trained {r['train_seconds']} s, "
          f"scored {r['score_seconds']} s", flush=True)


def metric_text(benchmark: str, scores: dict | None) -> str:
    """The benchmark's headline numbers on a 0-100 scale (SQuAD's EM/F1 already are)."""
    if scores is None:
        return "n/a"
    task_name = BENCHMARKS[benchmark][0]
    if task_name == "sentiment":
        return f"{100 * scores['accuracy']:.1f}"
    if task_name == "similarity":
        return f"{100 * scores['pearson']:.1f} / {100 * scores['spearman']:.1f}"
    if task_name == "qa":
        return f"{scores['exact_match']:.1f} / {scores['f1']:.1f}"
    kinds = ", ".join(f"{k} {100 * s['f1']:.1f}" for k, s in scores["per_type"].items())
    return f"{100 * scores['f1']:.1f} (P {100 * scores['precision']:.1f}, R {100 * scores['recall']:.1f}; {kinds})"


def headline(scores: dict) -> float:
    """The first metric the table shows, x 100: accuracy, Pearson, entity F1 or SQuAD F1."""
    for key in ("accuracy", "pearson"):
        if key in scores:
            return 100 * scores[key]
    return scores["f1"] if "exact_match" in scores else 100 * scores["f1"]


METRICS = {"sentiment": "accuracy", "similarity": "Pearson / Spearman", "ner": "entity F1 (P, R; per type)",
           "qa": "EM / F1"}


def table(results: dict) -> str:
    """The README's table, rendered from realdata_results.json (a test checks that the README holds it)."""
    lines = ["| benchmark (examples scored) | metric | model | trained on (seconds) | real benchmark | "
             "shipped test split | for scale: trained on the full data |", "|---|---|---|---|---:|---:|---|"]
    rows = sorted(results["rows"], key=lambda r: list(BENCHMARKS).index(r["benchmark"]))  # stable: run order within
    for k, r in enumerate(rows):
        task_name, _, unit = BENCHMARKS[r["benchmark"]]
        first = k == 0 or rows[k - 1]["benchmark"] != r["benchmark"]  # say the benchmark and its scale once
        where = f"{r['benchmark']} ({r['examples']:,} {unit})" if first else ""
        seconds = "" if r["train_seconds"] is None else f" ({r['train_seconds']:.0f} s)"
        lines.append(f"| {where} | {METRICS[task_name] if first else ''} | {r['model']} | {r['trained_on']}{seconds} | "
                     f"{metric_text(r['benchmark'], r['scores'])} | {metric_text(r['benchmark'], r['shipped_test'])} | "
                     f"{PUBLISHED[r['benchmark']] if first else ''} |")
    gaps = [f"{r['benchmark']}, {r['model']}: {headline(r['scores']) - headline(r['shipped_test']):+.1f}"
            for r in rows if r["trained_on"] != "nothing" and r["model"].startswith("bertcourse")]
    scored = sum(r["score_seconds"] for r in rows)
    squad = ("all 48 articles" if results["squad_articles"] >= 48
             else f"the first {results['squad_articles']} of its 48 articles, whole")
    lines += ["", f"All numbers x 100. SQuAD v1.1 dev: {squad}. `benchmarks/realdata_results.py` on "
              f"{results['threads']} CPU threads (training times in brackets); scoring the real benchmarks took "
              f"{scored:.0f} s in all.",
              "", "Real benchmark minus shipped test split, in points of the headline metric (accuracy, Pearson, "
              "entity F1, SQuAD F1): " + "; ".join(gaps) + "."]
    return "\n".join(lines)


README = ROOT / "README.md"
BEGIN = "<!-- realdata_results.py: begin (generated from realdata_results.json) -->"
END = "<!-- realdata_results.py: end -->"


def update_readme(results: dict) -> None:
    """Rewrite only the generated table of the README's real-benchmark section, so no figure is typed by hand."""
    write_between(README, BEGIN, END, table(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--realdata", default=os.environ.get("BERTCOURSE_REALDATA",
                                                              ROOT.parent / "shared" / "realdata"))
    parser.add_argument("--squad-articles", type=int, default=SQUAD_ARTICLES)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--readme", action="store_true", help="also rewrite the README's generated table")
    parser.add_argument("--tasks", nargs="+", choices=list(UNITS), default=list(UNITS),
                        help="score only these tasks; the JSON keeps the other tasks' rows")
    args = parser.parse_args()
    realdata = Path(args.realdata)
    missing = [f for _, f, _ in BENCHMARKS.values() if not (realdata / f).is_file()]
    if missing:
        raise SystemExit(f"{realdata} lacks {', '.join(missing)}: pass --realdata DIR (or set BERTCOURSE_REALDATA) "
                         "to a folder holding SST-2/dev.tsv, STS-B/dev.tsv, conll2003/test.txt, SQuAD/dev-v1.1.json")
    warnings.simplefilter("ignore")  # "newly initialised head" is expected here
    import transformers

    transformers.logging.set_verbosity_error()  # and so is transformers' report of it
    results = json.loads(OUT.read_text()) if OUT.exists() and args.limit is None else {"rows": []}
    results.update(realdata=str(realdata), threads=torch.get_num_threads(), squad_articles=args.squad_articles)
    for task_name in args.tasks:
        started = time.time()
        benchmark = next(b for b, (task, _, _) in BENCHMARKS.items() if task == task_name)
        rows = task_rows(task_name, real_examples(realdata, benchmark, args.limit, args.squad_articles))
        print(f"{task_name}: {time.time() - started:.0f} s", flush=True)
        results["rows"] = [r for r in results["rows"] if r["benchmark"] != benchmark] + rows
        if args.limit is None:  # kept after every task: a long run stopped half-way keeps what it measured
            OUT.with_suffix(".tmp").write_text(json.dumps(results, indent=1))
            OUT.with_suffix(".tmp").replace(OUT)
    print(table(results))
    if args.readme and args.limit is None:
        update_readme(results)


if __name__ == "__main__":
    main()
