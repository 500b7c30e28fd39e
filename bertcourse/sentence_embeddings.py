"""Sentence embeddings: one vector per sentence, for semantic similarity without any fine-tuning.

all-MiniLM-L6-v2 was trained (by sentence-transformers) to make the *mean* of its token vectors over the
real tokens, L2-normalised, a sentence vector whose cosine similarity tracks closeness of meaning. So
that is the recipe here: [CLS] alone, or a mean that counts [PAD] positions, is not what it learned.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .model import mean_pool
from .tokenizer import BertTokenizer


@torch.no_grad()
def sentence_embeddings(model: nn.Module, tokenizer: BertTokenizer, texts: str | Sequence[str],
                        max_length: int = 256, batch_size: int = 64, normalize: bool = True) -> Tensor:
    """Texts -> (N, H) sentence vectors on the CPU: mean pooling over non-padding tokens, then L2
    normalisation (so `a @ b.T` is the cosine similarity). `model` is a BertModel or any head model
    (its `.bert` encoder is used); it is put in eval mode. max_length 256 is what the MiniLM was
    trained with (sentence-transformers' max_seq_length); longer texts are truncated."""
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, Sequence) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a non-empty list of strings (one sentence or paragraph each)")
    texts = list(texts)
    encoder = getattr(model, "bert", model).eval()
    device = next(encoder.parameters()).device
    vectors = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(texts[start:start + batch_size], max_length=max_length, return_tensors="pt")
        mask = batch["attention_mask"].to(device)                                     # (B, T)
        hidden = encoder(batch["input_ids"].to(device), batch["token_type_ids"].to(device),
                         mask).last_hidden_state                                      # (B, T, H)
        vectors.append(mean_pool(hidden.float(), mask).cpu())                        # (B, H)
    out = torch.cat(vectors)                                                          # (N, H)
    return F.normalize(out, dim=-1) if normalize else out


def pair_cosines(model: nn.Module, tokenizer: BertTokenizer, texts: Sequence[str], pairs: Sequence[str],
                 **kw) -> Tensor:
    """Cosine similarity of each text with its pair, (N,): each side encoded on its own (a bi-encoder),
    so nothing is trained and nothing lets one side see the other. Keywords go to sentence_embeddings."""
    if isinstance(texts, str) or isinstance(pairs, str) or len(texts) != len(pairs):
        raise ValueError(f"need two lists of the same length (text i goes with pair i); got "
                         f"{'a string' if isinstance(texts, str) else len(texts)} and "
                         f"{'a string' if isinstance(pairs, str) else len(pairs)}")
    return (sentence_embeddings(model, tokenizer, texts, **kw) * sentence_embeddings(model, tokenizer, pairs, **kw)).sum(-1)
