"""The Transformer encoder block as BERT uses it (post-LayerNorm), and the stack of L blocks."""
from __future__ import annotations

import torch
from torch import nn

from .attention import MultiHeadSelfAttention
from .config import ACTIVATIONS, BertConfig
from .dense import Dense
from .dropout import Dropout


class AddAndNorm(nn.Module):
    """LayerNorm(x + Dropout(Dense(h))): the residual connection, normalised after the sum (post-LN)."""

    def __init__(self, in_features: int, config: BertConfig):
        super().__init__()
        self.dense = Dense(in_features, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)  # checkpoint name
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class Attention(nn.Module):
    """Multi-head self-attention followed by add & norm (checkpoint names: attention.self / .output)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = MultiHeadSelfAttention(config)  # "self" is the checkpoint's name for it
        self.output = AddAndNorm(config.hidden_size, config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, need_weights: bool,
                head_mask: torch.Tensor | None = None):
        context, weights = self.self(x, mask, need_weights, head_mask)
        return self.output(context, x), weights


class Intermediate(nn.Module):
    """The first half of the position-wise feed-forward network: Dense(H -> 4H) then GELU."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = Dense(config.hidden_size, config.intermediate_size)
        self.approximate = ACTIVATIONS[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense.gelu(x, self.approximate)


class EncoderLayer(nn.Module):
    """One encoder block: x -> LN(x + MHA(x)) -> LN(. + FFN(.)). No decoder, no cross-attention."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = AddAndNorm(config.intermediate_size, config)  # Dense(4H -> H) + add & norm

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = False,
                head_mask: torch.Tensor | None = None):
        x, weights = self.attention(x, mask, need_weights, head_mask)  # (B, T, H), (B, nh, T, T) or None
        return self.output(self.intermediate(x), x), weights   # (B, T, H)


class Encoder(nn.Module):
    """L identical blocks; keeps every block's output and attention weights when asked."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                head_mask: torch.Tensor | None = None):
        """head_mask: (L, nh) of 1 = keep, 0 = switch the head off, or None."""
        hidden_states, attentions = [x] if output_hidden_states else None, [] if output_attentions else None
        for i, block in enumerate(self.layer):
            x, weights = block(x, mask, output_attentions, None if head_mask is None else head_mask[i])
            if output_hidden_states:
                hidden_states.append(x)
            if output_attentions:
                attentions.append(weights)
        return x, hidden_states, attentions
