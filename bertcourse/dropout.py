"""Dropout whose random draws cost less on a CPU: the same rule as nn.Dropout, drawn 64 bits at a time.

Why: torch draws a CPU dropout mask one element at a time (bernoulli_ into a float tensor), and BERT's
attention weights alone need B x heads x T x T draws per layer. Here the bits come in bulk, one 64-bit
random word per two elements, and an element is dropped when its 32-bit share falls below p * 2^32
(p exact to within 2^-33); forward and backward together cost about a third less (measured in the
commit that added this module). Reproducible under torch.manual_seed, like any torch random draw.
GPUs keep torch's own dropout, which is fast there.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def drop_mask(shape: torch.Size, p: float) -> torch.Tensor:
    """A CPU bool tensor of `shape`, each element True (dropped) with probability p, independently."""
    n = shape.numel()
    words = torch.empty((n + 1) // 2, dtype=torch.int64).random_(-2**63, None)  # all 64 bits random
    uniform = words.view(torch.int32)[:n].view(shape)   # each int32 uniform over [-2^31, 2^31)
    return uniform < round(p * 2**32) - 2**31           # P(dropped) = round(p * 2^32) / 2^32


class Dropout(nn.Dropout):
    """nn.Dropout (zero each element with probability p while training, scale the rest by 1 / (1 - p)),
    with the mask drawn by drop_mask on a CPU. A subclass, so code that looks for nn.Dropout finds it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu" or self.p == 1.0:
            return F.dropout(x, self.p, training=True)
        scale = torch.where(drop_mask(x.shape, self.p), 0.0, 1.0 / (1.0 - self.p)).to(x.dtype)  # 0 or 1/(1-p)
        return x * scale
