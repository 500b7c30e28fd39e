"""Shared pieces of the exercise definitions: the packaged MiniLM, small random models, cosines."""
from __future__ import annotations

from functools import cache

import torch

from ..config import BertConfig


@cache
def minilm() -> tuple:
    """(tokenizer, model) of the packaged MiniLM, loaded once; predictions are measured on it."""
    from .. import BertTokenizer, load_pretrained

    return BertTokenizer.from_pretrained(), load_pretrained()


@cache
def tiny(kind: str) -> torch.nn.Module:
    """A small random 'classifier' (BertForSequenceClassification, 3 labels) or 'layer' (EncoderLayer), in
    eval mode, built once with its own seed so that checking leaves the notebook's random state alone."""
    from ..encoder import EncoderLayer
    from ..model import BertForSequenceClassification

    with torch.random.fork_rng():
        torch.manual_seed(0)
        config = BertConfig.tiny(vocab_size=100, num_labels=3)
        return (BertForSequenceClassification(config) if kind == "classifier" else EncoderLayer(config)).eval()


def sentence_cosine(a: str, b: str) -> float:
    """MiniLM's cosine of two sentence vectors (mean-pooled, unit length), to 3 decimals."""
    from ..sentence_embeddings import sentence_embeddings

    u, v = sentence_embeddings(*reversed(minilm()), [a, b])
    return round(float(u @ v), 3)


def randint(g: torch.Generator, low: int, high: int) -> int:
    """One integer in [low, high) from the check's own generator."""
    return int(torch.randint(low, high, (1,), generator=g))
