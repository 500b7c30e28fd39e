"""BERT's input representation: token + segment + position embeddings, summed and normalised."""
from __future__ import annotations

import torch
from torch import nn

from .config import BertConfig
from .dropout import Dropout


def check_input_ids(input_ids: torch.Tensor, config: BertConfig, token_type_ids: torch.Tensor | None) -> None:
    """Turn the usual ways of feeding a model wrong ids into messages that say what to change."""
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(f"input_ids must be a torch.Tensor, got {type(input_ids).__name__}; "
                        "use tokenizer(..., return_tensors='pt')")
    if input_ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"input_ids must hold integer token ids (torch.long), got {input_ids.dtype}")
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must have shape (batch, seq_len), got {tuple(input_ids.shape)}; "
                         "for one sentence use input_ids.unsqueeze(0)")
    if input_ids.size(1) == 0:
        raise ValueError("input_ids is empty (seq_len 0); encode at least [CLS] and [SEP]")
    if input_ids.size(1) > config.max_position_embeddings:
        raise ValueError(f"sequence of {input_ids.size(1)} tokens is longer than the "
                         f"{config.max_position_embeddings} positions this model has; "
                         "truncate it (tokenizer max_length) or split it into windows")
    low, high = int(input_ids.min()), int(input_ids.max())
    if low < 0 or high >= config.vocab_size:
        raise ValueError(f"token id {high if high >= config.vocab_size else low} is outside the vocabulary "
                         f"(0..{config.vocab_size - 1}); was the text encoded with this model's tokenizer?")
    if token_type_ids is not None:
        if token_type_ids.shape != input_ids.shape:
            raise ValueError(f"token_type_ids shape {tuple(token_type_ids.shape)} differs from input_ids "
                             f"shape {tuple(input_ids.shape)}")
        if int(token_type_ids.min()) < 0 or int(token_type_ids.max()) >= config.type_vocab_size:
            raise ValueError(f"token_type_ids must lie in 0..{config.type_vocab_size - 1} "
                             "(0 = sentence A, 1 = sentence B)")


class Embeddings(nn.Module):
    """E(token) + E(segment) + E(position), then LayerNorm and dropout (names as in the checkpoints)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.config = config
        self.word_embeddings = nn.Embedding(config.vocab_size, H, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, H)  # learned, not sinusoidal
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, H)        # segment A / B
        self.LayerNorm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        check_input_ids(input_ids, self.config, token_type_ids)
        T = input_ids.size(1)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)        # one sentence: everything is segment A
        positions = torch.arange(T, device=input_ids.device)    # (T,)
        x = (self.word_embeddings(input_ids)                   # (B, T, H)
             + self.token_type_embeddings(token_type_ids)      # (B, T, H)
             + self.position_embeddings(positions))            # (T, H), broadcast over the batch
        return self.dropout(self.LayerNorm(x))
