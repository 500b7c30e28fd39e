"""Scaled dot-product attention and multi-head self-attention, written as the equations."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import BertConfig
from .dense import Dense
from .dropout import Dropout


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None,
                                 dropout: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q K^T / sqrt(d) + mask) V, returning the weights too: they are what we visualise.

    q, k, v: (B, nh, T, hs); mask: additive, broadcastable to (B, nh, T, T), 0 where a key may be
    attended and a very negative number where it may not (padding). In training, `dropout` cuts some
    weights before they mix the values; the weights returned are the uncut ones.
    """
    scores = (q / math.sqrt(q.size(-1))) @ k.transpose(-2, -1)  # (B, nh, T, T); scaling q is the cheaper way
    if mask is not None:
        scores = scores + mask
    weights = scores.softmax(dim=-1)                          # each row sums to 1
    mixing = weights if dropout is None else dropout(weights)
    return mixing @ v, weights                                # (B, nh, T, hs), (B, nh, T, T)


def left_to_right_mask(T: int) -> torch.Tensor:
    """(T, T) bool, True where query i may attend to key j: j <= i, as in a left-to-right language model."""
    return torch.ones(T, T, dtype=torch.bool).tril()


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, T) of 1 = token, 0 = padding  ->  (B, 1, 1, T) of 0 / most negative float, added to scores."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class MultiHeadSelfAttention(nn.Module):
    """Every token asks (query) every other token (key) what it holds (value), in A heads at once.

    W_Q, W_K and W_V are stacked into one H -> 3H projection, `qkv`: one matrix product reads x once
    instead of three times. Checkpoints keep them apart as query/key/value (checkpoints.py maps them).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.qkv = Dense(H, 3 * H)  # weight rows: W_Q, then W_K, then W_V (each H x H)
        self.dropout = Dropout(config.attention_probs_dropout_prob)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, H) -> queries, keys, values, each (B, T, H) = x W^T + b with its third of qkv."""
        return self.qkv(x).chunk(3, dim=-1)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, H = x.shape
        return x.view(B, T, self.num_heads, H // self.num_heads).transpose(1, 2)  # (B, nh, T, hs)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = False,
                head_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T, H = x.shape                                      # x: (B, T, H)
        # 1) project to queries, keys and values and split them into heads
        q, k, v = (self.split_heads(t) for t in self.project(x))  # (B, nh, T, hs) each
        if mask is not None:
            mask = mask.to(q.dtype)                            # under bf16 autocast q is bf16
        # 2) attend: the fused kernel gives the same numbers without keeping the weights; explicitly when
        #    the weights are wanted, or to drop some of them on a CPU, where our Dropout draws faster
        dropout = self.dropout if self.training and self.dropout.p > 0 else None
        if need_weights or (dropout is not None and x.device.type == "cpu"):
            context, weights = scaled_dot_product_attention(q, k, v, mask, dropout)
        else:
            p = 0.0 if dropout is None else dropout.p
            context, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p), None
        if head_mask is not None:                              # (nh,) 1 = keep, 0 = switch the head off
            context = context * head_mask.view(1, -1, 1, 1)    # = its weights times 0 (head ablation)
            weights = None if weights is None else weights * head_mask.view(1, -1, 1, 1)
        # 3) put the heads side by side again
        context = context.transpose(1, 2).reshape(B, T, H)     # (B, T, H)
        return context, weights if need_weights else None
