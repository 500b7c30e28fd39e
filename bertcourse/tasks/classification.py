"""Sentence and sentence-pair tasks on the pooled [CLS] vector: sentiment (one sentence, 2 classes),
entailment (premise + hypothesis, 3 classes) and semantic similarity (a pair, a 0-5 score: regression).

Data: the shipped teaching sets in data/, a directory holding the same jsonl files or GLUE TSV files
(or one such file), or a GLUE benchmark by name (downloaded on demand, checksummed, cached).
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from torch import Tensor, nn

from .. import data as datasets
from ..model import BertForSequenceClassification
from ..tokenizer import BertTokenizer
from .common import MODEL_INPUTS, Task, check_split, progress


@dataclass(frozen=True)
class PairExample:
    text: str
    pair: str | None           # None for single-sentence tasks
    label: str | float         # a class name, or a score for regression


@dataclass(frozen=True)
class Glue:
    """Where one GLUE task keeps its text and label columns (by header name) and its splits."""
    folder: str
    columns: tuple[str, str | None, str]                  # text, pair, label
    files: tuple[tuple[str, str], ...] = (("train", "train.tsv"), ("dev", "dev.tsv"), ("test", "dev.tsv"))
    label_names: tuple[tuple[str, str], ...] = ()          # raw label -> class name


# GLUE's test labels are private, so the public dev set doubles as our test split.
GLUE = {
    "sst-2": Glue("SST-2", ("sentence", None, "label"), label_names=(("0", "negative"), ("1", "positive"))),
    "mnli": Glue("MNLI", ("sentence1", "sentence2", "gold_label"),
                 files=(("train", "train.tsv"), ("dev", "dev_matched.tsv"), ("test", "dev_mismatched.tsv"))),
    "rte": Glue("RTE", ("sentence1", "sentence2", "label")),
    "sts-b": Glue("STS-B", ("sentence1", "sentence2", "score")),
}
# the shipped jsonl files: text, pair and label keys
JSONL_KEYS = {"sentiment": ("text", None, "label"), "entailment": ("premise", "hypothesis", "label"),
              "rte": ("premise", "hypothesis", "label"),
              "similarity": ("sentence1", "sentence2", "score")}


def read_glue_tsv(lines: Sequence[str], columns: tuple[str, str | None, str], source: str) -> list[PairExample]:
    """GLUE files are tab-separated with a header and no quoting (quotes are part of the text)."""
    rows = list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    missing = [c for c in columns if c is not None and c not in header]
    if missing:
        raise ValueError(f"{source}: no column {missing} in the header {header}; is this the right GLUE file? "
                         "(GLUE's test.tsv files hold no labels: score on dev.tsv)")
    index = {name: header.index(name) for name in columns if name is not None}
    text, pair, label = columns
    return [PairExample(row[index[text]], row[index[pair]] if pair else None, row[index[label]])
            for row in body if len(row) > max(index.values())]


def read_jsonl(path: Path, keys: tuple[str, str | None, str]) -> list[PairExample]:
    text, pair, label = keys
    examples = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if text not in row or label not in row or (pair and pair not in row):
                raise ValueError(f"{path}:{n}: expected the keys {[k for k in keys if k]}, found {sorted(row)}")
            examples.append(PairExample(row[text], row[pair] if pair else None, row[label]))
    return examples


def glue_labels(glue: Glue, examples: list[PairExample]) -> list[PairExample]:
    """GLUE's raw labels (SST-2's 0/1) -> the task's class names, whichever route the file came by."""
    names = dict(glue.label_names)
    return [PairExample(e.text, e.pair, names.get(e.label, e.label)) for e in examples]


def load_glue(name: str, split: str) -> list[PairExample]:
    """A GLUE task by name from its official zip (downloaded once, then read from the cache)."""
    glue = GLUE[name]
    member = f"{glue.folder}/{dict(glue.files)[split]}"
    with zipfile.ZipFile(datasets.fetch(name)) as archive:
        lines = io.TextIOWrapper(archive.open(member), encoding="utf-8").read().splitlines()
    return glue_labels(glue, read_glue_tsv(lines, glue.columns, f"{name}:{member}"))


def load(task_name: str, split: str, data: str | Path | None = None) -> list[PairExample]:
    """A split's examples from: the shipped set (data=None); a GLUE name (downloaded once, checksummed);
    a directory holding {split}.jsonl or the GLUE file of the split (dev.tsv alone is enough; MNLI's
    dev_matched.tsv); or one such .jsonl or .tsv file. GLUE's raw labels become the task's names."""
    check_split(split)
    glue_names = TASKS[task_name].glue
    data = glue_names[0] if data is None and not (datasets.DATA_DIR / task_name).is_dir() else data
    named = isinstance(data, str) and not Path(data).exists()  # a folder called "sst-2" is read as a folder
    if named and data in glue_names:
        examples = load_glue(str(data), split)
    elif named and data in GLUE:
        raise ValueError(f"{data} is not a {task_name} dataset; for {task_name} use one of {glue_names}")
    else:
        glue = GLUE[glue_names[0]]
        glue_file = dict(glue.files)[split]
        path = datasets.split_file(datasets.DATA_DIR / task_name if data is None else data,
                                   (f"{split}.jsonl", glue_file),
                                   f"a directory holding {split}.jsonl or {glue.folder}'s {glue_file}, one such "
                                   f"file, or one of the names {list(glue_names)}")
        examples = (read_jsonl(path, JSONL_KEYS[task_name]) if path.suffix == ".jsonl"
                    else glue_labels(glue, read_glue_tsv(
                        path.read_text(encoding="utf-8").splitlines(), glue.columns, str(path))))
    if TASKS[task_name].num_labels == 1:
        examples = [PairExample(e.text, e.pair, float(e.label)) for e in examples]
    return examples


# ---- features, evaluation, prediction ----------------------------------------------------------
def label_id(task: Task, label: str | float, where: str) -> int | float:
    if task.num_labels == 1:
        return float(label)
    if label not in task.labels:
        raise ValueError(f"{where}: unknown label {label!r}; {task.name} labels are {list(task.labels)}")
    return task.labels.index(label)


def featurize(task_name: str, examples: Sequence[PairExample], tokenizer: BertTokenizer,
              max_length: int = 128, bi_encoder: bool = False) -> list[dict]:
    """[CLS] text [SEP] (pair [SEP]) with the label id (or score); long inputs are truncated.
    bi_encoder=True: text and pair as two inputs of their own (`pair_input_ids`, `pair_attention_mask`)."""
    task = TASKS[task_name]
    if bi_encoder and not task.pair:
        raise ValueError(f"a bi-encoder reads sentence pairs; {task_name} has one sentence per example")
    features = []
    for n, e in enumerate(examples):
        label = label_id(task, e.label, f"example {n} ({e.text[:40]!r})")
        if bi_encoder:
            a, b = tokenizer.encode(e.text, max_length=max_length), tokenizer.encode(e.pair, max_length=max_length)
            features.append({"input_ids": a.input_ids, "attention_mask": a.attention_mask,
                             "pair_input_ids": b.input_ids, "pair_attention_mask": b.attention_mask, "labels": label})
        else:
            enc = tokenizer.encode(e.text, e.pair, max_length=max_length)
            features.append({"input_ids": enc.input_ids, "token_type_ids": enc.token_type_ids,
                             "attention_mask": enc.attention_mask, "labels": label})
    return features


def model_inputs(model: nn.Module, tokenizer: BertTokenizer, chunk: Sequence[PairExample], max_length: int) -> dict:
    """A batch as the model reads it: one joint [CLS] text [SEP] pair [SEP] input, or two for a bi-encoder."""
    texts, pairs = [e.text for e in chunk], None if chunk[0].pair is None else [e.pair for e in chunk]
    if getattr(model.config, "classifier_pooling", "cls") != "bi-encoder":
        batch = tokenizer(texts, pairs, max_length=max_length, return_tensors="pt")
        return {k: batch[k] for k in MODEL_INPUTS}
    if pairs is None:
        raise ValueError("this model is a bi-encoder: it compares two sentences, so every example needs a pair")
    a, b = (tokenizer(t, max_length=max_length, return_tensors="pt") for t in (texts, pairs))
    return {"input_ids": a["input_ids"], "attention_mask": a["attention_mask"],
            "pair_input_ids": b["input_ids"], "pair_attention_mask": b["attention_mask"]}


@torch.no_grad()
def logits_of(model: nn.Module, tokenizer: BertTokenizer, examples: Sequence[PairExample], max_length: int = 128,
              batch_size: int = 64) -> Tensor:
    """The head's outputs for every example, in order: (N, num_labels) on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    outputs = []
    for start in progress(range(0, len(examples), batch_size), len(examples), "scoring"):
        batch = model_inputs(model, tokenizer, examples[start:start + batch_size], max_length)
        outputs.append(model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu())
    return torch.cat(outputs)


def ranks(x: Tensor) -> Tensor:
    """1-based ranks with ties given their average rank (as Spearman's rho needs)."""
    order = x.argsort()
    sorted_x = x[order]
    r = torch.empty_like(x, dtype=torch.float64)
    start = 0
    while start < len(x):
        end = start
        while end + 1 < len(x) and sorted_x[end + 1] == sorted_x[start]:
            end += 1
        r[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return r


def pearson(x: Tensor, y: Tensor) -> float:
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    return float((x * y).sum() / (x.norm() * y.norm()))


def spearman(x: Tensor, y: Tensor) -> float:
    return pearson(ranks(x), ranks(y))


def confusion_counts(gold: Sequence[int] | torch.Tensor, predicted: Sequence[int] | torch.Tensor,
                     num_labels: int) -> torch.Tensor:
    """(C, C) counts, row = gold class, column = predicted class: the diagonal holds the right answers
    and every other cell one kind of mistake, which a single accuracy number hides."""
    gold, predicted = torch.as_tensor(gold).long().flatten(), torch.as_tensor(predicted).long().flatten()  # (N,)
    if gold.shape != predicted.shape:
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions: pass one of each per example")
    both = torch.cat([gold, predicted])
    if ((both < 0) | (both >= num_labels)).any():
        raise ValueError(f"class ids must be in 0..{num_labels - 1} (num_labels={num_labels}), found "
                         f"{sorted(set(both[(both < 0) | (both >= num_labels)].tolist()))}")
    return torch.bincount(gold * num_labels + predicted, minlength=num_labels ** 2).view(num_labels, num_labels)


def confusion_accuracy(counts: torch.Tensor) -> float:
    """Accuracy read off a confusion matrix: the diagonal (right answers) over all examples."""
    counts = torch.as_tensor(counts)
    if counts.dim() != 2 or counts.size(0) != counts.size(1):
        raise ValueError(f"a confusion matrix is square (C, C), got shape {tuple(counts.shape)}")
    if counts.sum() <= 0:
        raise ValueError("the confusion matrix counts no examples")
    return float(counts.diagonal().sum() / counts.sum())


def evaluate(task_name: str, model: nn.Module, tokenizer: BertTokenizer, examples: Sequence[PairExample],
             max_length: int = 128, batch_size: int = 64) -> dict[str, float]:
    """Accuracy for classes; Pearson and Spearman correlation (as GLUE's STS-B) for scores."""
    task = TASKS[task_name]
    logits = logits_of(model, tokenizer, examples, max_length, batch_size)
    if task.num_labels == 1:
        gold = torch.tensor([float(e.label) for e in examples])
        return {"pearson": pearson(logits[:, 0], gold), "spearman": spearman(logits[:, 0], gold)}
    gold = torch.tensor([label_id(task, e.label, f"example {n}") for n, e in enumerate(examples)])
    return {"accuracy": float((logits.argmax(-1) == gold).float().mean())}


def predict(task_name: str, model: nn.Module, tokenizer: BertTokenizer, text: str, pair: str | None = None,
            max_length: int = 128) -> dict[str, float] | float:
    """Class probabilities (best first), or the predicted score for similarity."""
    task = TASKS[task_name]
    if task.pair and pair is None:
        raise ValueError(f"{task_name} compares two sentences: pass the second one as `pair`")
    if not task.pair and pair is not None:
        raise ValueError(f"{task_name} reads a single sentence; drop the second one")
    logits = logits_of(model, tokenizer, [PairExample(text, pair, 0)], max_length)[0]
    if task.num_labels == 1:
        return float(logits[0])
    probs = logits.softmax(-1).tolist()
    return dict(sorted(zip(task.labels, probs), key=lambda kv: -kv[1]))


@dataclass(frozen=True)
class ClassificationTask(Task):
    pair: bool = False                 # whether examples are sentence pairs
    glue: tuple[str, ...] = ()         # the GLUE benchmarks in this task's format


def make_task(name: str, labels: tuple[str, ...], metric: str, pair: bool, glue: tuple[str, ...]) -> ClassificationTask:
    return ClassificationTask(name, BertForSequenceClassification, len(labels) or 1, labels, metric,
                              partial(load, name), partial(featurize, name), partial(evaluate, name),
                              partial(predict, name), pair=pair, glue=glue)


SENTIMENT = make_task("sentiment", ("negative", "positive"), "accuracy", False, ("sst-2",))
ENTAILMENT = make_task("entailment", ("entailment", "neutral", "contradiction"), "accuracy", True, ("mnli",))
# RTE is two-way (not_entailment merges neutral and contradiction), so it is a task of its own
RTE = make_task("rte", ("entailment", "not_entailment"), "accuracy", True, ("rte",))
SIMILARITY = make_task("similarity", (), "pearson", True, ("sts-b",))
TASKS = {t.name: t for t in (SENTIMENT, ENTAILMENT, RTE, SIMILARITY)}
