"""nn.Linear whose inference on an x86 CPU may run through oneDNN, with GELU fused in where one follows.

Why: for BERT's shapes the faster fp32 CPU matrix product differs between hosts of the same kind. On one
2-core AMD EPYC, oneDNN's product ran MiniLM's forward 1.3x faster than PyTorch's default (MKL) and fusing
GELU saved a pass over the 4H-wide activations; on another (Zen 3, the same torch) MKL was 1.0-1.3x faster.
So the two are timed once per process on a BERT-sized product, and oneDNN is used where it is clearly
the faster (`onednn_is_faster`). The numbers agree to float rounding. Only when no gradient
is wanted: oneDNN's fused product has no backward, so training, autocast, GPUs and other dtypes keep
F.linear.
"""
from __future__ import annotations

import functools
import platform
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

ONEDNN = (platform.machine().lower() in ("x86_64", "amd64") and torch.backends.mkldnn.is_available()
          and hasattr(torch.ops.mkldnn, "_linear_pointwise"))
CALIBRATION_TOKENS = 128   # rows of the timed products: a window of a passage, a batch of short sentences
ONEDNN_MARGIN = 0.9        # oneDNN is taken where it needs at most 90% of MKL's time


def best_times(candidates: dict[str, Callable[[], object]], rounds: int = 3) -> dict[str, float]:
    """Each candidate's shortest time in seconds over `rounds` interleaved runs (the best run is the one
    least disturbed by other processes)."""
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(rounds):
        for name, run in candidates.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


@functools.cache
def onednn_is_faster() -> bool:
    """Times both products of BERT's feed-forward shape (H -> 4H with GELU, then 4H -> H, H = 384) on this
    host, on the torch threads of the first call, once per process: True when oneDNN's pair takes less than
    ONEDNN_MARGIN of MKL's time. Where the two are close, the default keeps a notebook's numbers the same
    from run to run (the products differ at float rounding). One choice for every thread count: each product
    gives the same numbers on one thread as on two, so a widget running on the cores other processes left
    free (widgets.threads) computes exactly what the same model computes on torch's threads, which a choice
    per thread count broke beside a busy process (the timing then favoured oneDNN on one thread)."""
    if not ONEDNN:
        return False
    generator = torch.Generator().manual_seed(0)
    x, w_in, w_out = (torch.randn(*shape, generator=generator)
                      for shape in ((CALIBRATION_TOKENS, 384), (1536, 384), (384, 1536)))  # x: (T, H)
    b_in, b_out = torch.zeros(1536), torch.zeros(384)
    onednn = torch.ops.mkldnn._linear_pointwise

    def with_onednn() -> None:
        onednn(onednn(x, w_in, b_in, "gelu", [], "none"), w_out, b_out, "none", [], "")

    def with_mkl() -> None:
        F.linear(F.gelu(F.linear(x, w_in, b_in)), w_out, b_out)

    with torch.no_grad():
        with_onednn()                                                # first calls allocate and pack
        with_mkl()
        times = best_times({"onednn": with_onednn, "mkl": with_mkl})
    return times["onednn"] < ONEDNN_MARGIN * times["mkl"]


def use_onednn(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Inference on a float32 CPU tensor, outside autocast, on a host where oneDNN's product is clearly faster."""
    wants_grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    return (ONEDNN and not wants_grad and x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu") and onednn_is_faster())


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
