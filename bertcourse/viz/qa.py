"""Question answering pictured: 10_question_answering (start and end probabilities over the tokens)."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from .style import PROJECTOR, check_tokens

SPAN_COLOURS = {"gold": "tab:green", "predicted": "tab:orange"}
SPAN_NAMES = {"gold": "正确答案区间 (gold span)", "predicted": "预测的区间 (predicted span)"}


@plt.rc_context(PROJECTOR)
def span_probabilities(start_probs: torch.Tensor, end_probs: torch.Tensor, tokens: Sequence[str],
                       gold: tuple[int, int] | None = None, predicted: tuple[int, int] | None = None,
                       title: str | None = None) -> Figure:
    """P(start = i) and P(end = i) as bars over the tokens, gold and predicted spans shaded behind them:
    the answer is read off where the two peaks sit, so both plots share one token axis."""
    start_probs, end_probs = torch.as_tensor(start_probs).float(), torch.as_tensor(end_probs).float()
    if start_probs.dim() != 1 or start_probs.shape != end_probs.shape:
        raise ValueError(f"start_probs {tuple(start_probs.shape)} and end_probs {tuple(end_probs.shape)} must both "
                         "be (T,): the probabilities of one window")
    tokens = check_tokens(tokens, len(start_probs), "start_probs")
    for name, span in (("gold", gold), ("predicted", predicted)):
        if span is not None and not 0 <= span[0] <= span[1] < len(tokens):
            raise ValueError(f"{name} span {span} must be (first, last) token indices with first <= last < {len(tokens)}")
    fig, axes = plt.subplots(2, 1, figsize=(min(14.0, max(8.0, 0.22 * len(tokens))), 6.0), sharex=True)
    for ax, probs, name in zip(axes, (start_probs, end_probs), ("start", "end")):
        ax.bar(range(len(tokens)), probs.tolist(), color="tab:blue", width=0.8)
        for kind, span in (("gold", gold), ("predicted", predicted)):
            if span is not None:
                ax.axvspan(span[0] - 0.5, span[1] + 0.5, color=SPAN_COLOURS[kind], alpha=0.25, label=SPAN_NAMES[kind])
        ax.set_ylabel(f"P({name} = i)")
        ax.set_ylim(0, 1)
        if gold is not None or predicted is not None:
            ax.legend(loc="upper right")
    axes[1].set_xticks(range(len(tokens)))
    axes[1].set_xticklabels(tokens, rotation=90)
    axes[1].set_xlabel("输入的第 i 个词元（[CLS] 问题 [SEP] 描述文本 [SEP]）")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    return fig
