"""nn.Linear whose inference on an x86 CPU runs through oneDNN, with GELU fused in where one follows.

Why: for BERT's shapes (thousands of tokens x 384 -> 1,152 / 1,536 and back) PyTorch's default fp32 CPU
matrix product (MKL) measured 15-30% slower than oneDNN's on the course's 2-core AMD EPYC machines, and
fusing GELU into the product saves a pass over the 4H-wide activations. The numbers agree to float rounding.
Only when no gradient is wanted: oneDNN's fused product has no backward, so training, autocast, GPUs and
other dtypes keep F.linear.
"""
from __future__ import annotations

import platform

import torch
import torch.nn.functional as F
from torch import nn

ONEDNN = (platform.machine().lower() in ("x86_64", "amd64") and torch.backends.mkldnn.is_available()
          and hasattr(torch.ops.mkldnn, "_linear_pointwise"))


def use_onednn(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Inference on a float32 CPU tensor, outside autocast: where oneDNN's product is the faster one."""
    wants_grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    return (ONEDNN and not wants_grad and x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu"))


class Dense(nn.Linear):
    """nn.Linear (y = x W^T + b, the same parameters and checkpoint names), faster for inference on a CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if use_onednn(x, self.weight):
            return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")
        return F.linear(x, self.weight, self.bias)

    def gelu(self, x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
        """GELU(x W^T + b), the activation fused into the product when oneDNN computes it."""
        if use_onednn(x, self.weight):
            return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "gelu", [], approximate)
        return F.gelu(F.linear(x, self.weight, self.bias), approximate=approximate)
