"""What every fine-tuning task provides, so one driver (`bertcourse.finetuning`) can train any of them."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..tokenizer import BertTokenizer

MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
# Scoring shows a progress bar from this many examples on: the shipped sets (754 examples at most) score in
# seconds, where a bar in every notebook output would be noise; the real benchmarks (872 to 10,570) take minutes.
PROGRESS_FROM = 800


@dataclass(frozen=True)
class Task:
    """One downstream task: a head model plus data -> features -> batch -> metric -> prediction."""
    name: str
    model_cls: type[nn.Module]
    num_labels: int                  # classes (1 = regression); unused by question answering
    labels: tuple[str, ...]          # class or tag names, index = class id; () for regression and QA
    metric: str                      # the headline key of evaluate()'s result
    load: Callable[[str, str | Path | None], list]   # (split, None: shipped | dir | file | benchmark name) -> examples
    featurize: Callable[[Sequence, BertTokenizer, int], list[dict]]  # examples -> training features
    evaluate: Callable[[nn.Module, BertTokenizer, Sequence, int, int], dict[str, float]]
    #          (model, tokenizer, examples, max_length, batch_size) -> {metric: value, ...}
    predict: Callable[..., object]   # (model, tokenizer, text, pair=None, max_length) -> readable answer

    def collate(self, features: list[dict], generator: torch.Generator | None = None) -> dict[str, Tensor]:
        return pad_batch(features)


def pad_batch(features: list[dict], pad_id: int = 0) -> dict[str, Tensor]:
    """Stack features into tensors; sequences are right-padded (labels with -100, the ignored index)."""
    batch = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if isinstance(values[0], (list, tuple)):
            width = max(len(v) for v in values)
            fill = -100 if key == "labels" else pad_id
            values = [list(v) + [fill] * (width - len(v)) for v in values]
        batch[key] = torch.tensor(values)
    return batch


def label_accuracy(out, batch: dict[str, Tensor]) -> dict[str, tuple[float, float]]:
    """The Trainer's metric for class heads: (correct, counted) over the labelled items, for sentence
    logits (B, C) or per-token logits (B, T, C) with -100 on the ignored tokens; nothing for a
    regression head (C = 1) or a head without `logits` (question answering)."""
    logits = getattr(out, "logits", None)
    if logits is None or logits.size(-1) == 1:
        return {}
    labels = batch["labels"]                                         # (B,) or (B, T)
    counted = labels != -100
    correct = (logits.argmax(-1) == labels) & counted
    return {"accuracy": (correct.sum().item(), counted.sum().item())}


def progress(starts: range, examples: int, desc: str) -> Iterable[int]:
    """The batch starts of a scoring loop, with a tqdm bar when there are enough examples to wait for."""
    return tqdm(starts, desc=desc, unit="batch", disable=examples < PROGRESS_FROM, leave=False)


def check_split(split: str) -> str:
    if split not in ("train", "dev", "test"):
        raise ValueError(f"unknown split {split!r}; use 'train', 'dev' or 'test'")
    return split
