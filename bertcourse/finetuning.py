"""Fine-tuning: one pretrained encoder, a fresh small head per task, the shared training loop.

Two transfer modes (the slides' transfer-learning point): full fine-tuning updates every weight;
feature extraction freezes the encoder and trains only the head on its fixed outputs.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import nn

from .checkpoints import load_pretrained, save_pretrained
from .config import BertConfig
from .default_model import default_model_dir
from .model import BertForSequenceClassification
from .tasks import get_task
from .tasks.common import Task, label_accuracy
from .tokenizer import BertTokenizer
from .training import History, Trainer, TrainingConfig, pick_device

INITS = ("pretrained", "random")


@dataclass
class FinetuneConfig:
    init: str = "pretrained"          # "pretrained" (packaged MiniLM), "random" (same shape, fresh), or a path
    freeze: bool = False              # feature extraction: train the head only
    pooling: str = "cls"              # sentence tasks: the head reads "cls" (BERT's pooler) or "mean" (token mean);
    #                                   pair tasks also "bi-encoder" (each sentence encoded alone, Sentence-BERT)
    data: str | None = None           # None = the shipped teaching set; a directory or a benchmark name
    train_size: int | None = None     # train on the first N training examples only (a small labelled set)
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float | None = None  # None: 1e-4 for fine-tuning, 1e-3 for a head on frozen features
    max_length: int = 128
    eval_every: int = 0               # steps between dev evaluations (loss curves); 0 = at the end only
    seed: int = 0
    device: str | None = None
    progress: bool = True


@dataclass
class FinetuneResult:
    task: Task
    model: nn.Module
    tokenizer: BertTokenizer
    history: History                  # per-step training loss/lr, per-evaluation dev loss/metrics
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> the task's metrics
    seconds: float = 0.0              # training time (the dev evaluations excluded)
    trainable_parameters: int = 0


class TimedTrainer(Trainer):
    """The shared loop, adding up the seconds its dev evaluations take, so that training time leaves them out."""
    eval_seconds = 0.0

    def evaluate(self, data: Sequence | None = None) -> dict[str, float]:
        started = time.perf_counter()
        try:
            return super().evaluate(data)
        finally:
            self.eval_seconds += time.perf_counter() - started


def freeze_encoder(model: nn.Module) -> int:
    """Feature extraction: the encoder's weights stop learning and its dropout is switched off, so
    every example always yields the same features. Returns the number of weights left to train."""
    for p in model.bert.parameters():
        p.requires_grad_(False)
    for m in model.bert.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(task: Task, init: str | Path, pooling: str = "cls") -> tuple[nn.Module, BertTokenizer]:
    """The task's head model on a pretrained encoder, or on a randomly initialised one of the same shape."""
    extra = {"num_labels": task.num_labels} if task.num_labels else {}
    if pooling != "cls":
        if task.model_cls is not BertForSequenceClassification:
            raise ValueError(f"pooling={pooling!r}: only the sentence(-pair) tasks read one sentence vector; "
                             f"{task.name} reads every token's vector, so leave pooling='cls'")
        if pooling == "bi-encoder" and not getattr(task, "pair", False):
            raise ValueError(f"pooling='bi-encoder' encodes the two sentences of a pair on their own; {task.name} "
                             "reads one sentence, so use 'cls' or 'mean'")
        extra["classifier_pooling"] = pooling
    # the same fresh weights (the whole random encoder, or the new head) in every run, whatever the caller's
    # random state: comparisons differ by the init only, and a notebook's result does not depend on its cells
    # above; drawn from a forked generator, so the caller's own random stream goes on untouched
    directory = default_model_dir() if init in INITS else Path(init)
    if not directory.exists():
        raise FileNotFoundError(f"--init {init}: no such checkpoint; use one of {INITS} or a BERT directory")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = (task.model_cls(BertConfig.from_json(directory, **extra)) if init == "random"
                 else load_pretrained(directory, task.model_cls, **extra))
    tokenizer = BertTokenizer.from_pretrained(directory if directory.is_dir() else directory.parent)
    return model, tokenizer


def load_split(task: Task, split: str, config: FinetuneConfig) -> list:
    """A split's examples; "train" is cut to config.train_size, so its score is on what was trained on."""
    examples = task.load(split, config.data)
    if split != "train" or config.train_size is None:
        return examples
    if not 1 <= config.train_size <= len(examples):
        raise ValueError(f"train_size {config.train_size}: the training split has {len(examples)} examples; "
                         f"choose 1..{len(examples)}, or None for all of them")
    return examples[:config.train_size]


def training_steps(config: FinetuneConfig, examples: int) -> int:
    """Optimiser steps of a run: config.epochs passes over `examples` training features in full batches."""
    return max(1, round(config.epochs * (examples // min(config.batch_size, examples))))


def finetune(task: str | Task, config: FinetuneConfig | None = None, out: str | Path | None = None,
             splits: tuple[str, ...] = ("dev", "test")) -> FinetuneResult:
    """Train `task` and score it on `splits` with the task's standard metric; save to `out` if given."""
    config = config or FinetuneConfig()
    task = get_task(task) if isinstance(task, str) else task
    model, tokenizer = build_model(task, config.init, config.pooling)
    if config.max_length > model.config.max_position_embeddings:
        raise ValueError(f"max_length {config.max_length} exceeds the model's {model.config.max_position_embeddings} "
                         "positions; use a smaller max_length")
    trainable = freeze_encoder(model) if config.freeze else sum(p.numel() for p in model.parameters())
    featurize = partial(task.featurize, bi_encoder=True) if config.pooling == "bi-encoder" else task.featurize
    train = featurize(load_split(task, "train", config), tokenizer, config.max_length)
    dev = featurize(task.load("dev", config.data), tokenizer, config.max_length)
    steps = training_steps(config, len(train))
    lr = config.learning_rate or (1e-3 if config.freeze else 1e-4)
    trainer = TimedTrainer(model, train, task.collate, TrainingConfig(
        steps=steps, batch_size=config.batch_size, learning_rate=lr, eval_every=config.eval_every,
        seed=config.seed, device=config.device, progress=config.progress), eval_data=dev, metrics=label_accuracy)
    started = time.perf_counter()
    history = trainer.fit()
    seconds = time.perf_counter() - started - trainer.eval_seconds
    result = FinetuneResult(task, trainer.model, tokenizer, history, seconds=seconds, trainable_parameters=trainable)
    for split in splits:
        examples = load_split(task, split, config)
        result.scores[split] = task.evaluate(trainer.model, tokenizer, examples, config.max_length, 64)
    if out is not None:
        save_finetuned(result, config, Path(out))
    return result


def save_finetuned(result: FinetuneResult, config: FinetuneConfig, out: Path) -> None:
    """Weights + vocabulary + finetune.json (task, labels, settings, scores): all `predict` needs."""
    save_pretrained(result.model, out)
    result.tokenizer.save_pretrained(out)
    meta = {"task": result.task.name, "labels": list(result.task.labels), "config": asdict(config),
            "scores": result.scores, "seconds": result.seconds}
    tmp = out / "finetune.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(out / "finetune.json")


def load_finetuned(directory: str | Path, device: str | None = None) -> tuple[Task, nn.Module, BertTokenizer, dict]:
    """A model saved by `finetune(..., out=...)`, ready to predict."""
    directory = Path(directory)
    meta_path = directory / "finetune.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{directory} has no finetune.json: it was not written by `bertcourse finetune`")
    meta = json.loads(meta_path.read_text())
    task = get_task(meta["task"])
    extra = {"num_labels": task.num_labels} if task.num_labels else {}
    model = load_pretrained(directory, task.model_cls, **extra).to(pick_device(device))
    return task, model, BertTokenizer.from_pretrained(directory), meta
