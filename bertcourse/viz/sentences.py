"""Results of the sentence-level tasks: 06_next_sentence, 08_sentence_classification,
11_semantic_similarity (confusion matrices, transfer modes, similarity, score distributions)."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..tasks.classification import confusion_accuracy, pearson, spearman
from .style import CRISP, MIN_FONT_PT, PROJECTOR

@plt.rc_context(PROJECTOR)
def confusion_matrix(counts: torch.Tensor, labels: Sequence[str], title: str | None = None) -> Figure:
    """The counts of `confusion_counts` as a grid: class names on both axes, the count written in every
    cell, and the accuracy computed from the matrix in the title."""
    counts = torch.as_tensor(counts)
    accuracy = confusion_accuracy(counts)                                   # also checks the shape
    C = counts.size(0)
    if len(labels) != C:
        raise ValueError(f"{len(labels)} class names for a {C} x {C} matrix: pass one name per class, "
                         "in class-id order (task.labels)")
    side = 2.6 + 1.2 * C
    fig = Figure(figsize=(side + 1.6, side + 0.4), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(counts.numpy(), cmap="Blues", vmin=0, vmax=max(1, int(counts.max())))
    for i in range(C):
        for j in range(C):
            n = int(counts[i, j])
            ax.text(j, i, str(n), ha="center", va="center", fontsize=18,
                    color="white" if n > counts.max() / 2 else "black")
    ax.set_xticks(range(C), labels)
    ax.set_yticks(range(C), labels, rotation=90, va="center")
    ax.set_xlabel("预测的类别 (predicted)")
    ax.set_ylabel("真实类别 (gold)")
    fig.colorbar(image, ax=ax, label="样本数", shrink=0.8)
    right, total = int(counts.diagonal().sum()), int(counts.sum())
    ax.set_title((f"{title}\n" if title else "") + f"准确率 (accuracy) {accuracy:.0%}（{total} 个里对了 {right} 个）")
    return fig


@plt.rc_context(PROJECTOR)
def mode_comparison(modes: Sequence[str], accuracy: Sequence[float], seconds: Sequence[float],
                    trainable: Sequence[int], chance: float | None = None,
                    title: str = "完整微调 (full fine-tuning) 与特征提取 (feature extraction，冻结编码器)") -> Figure:
    """Transfer modes side by side: test accuracy (%), training time (s) and trainable weights (log
    scale, since a head alone is thousands of times smaller than the encoder)."""
    n = len(modes)
    if not n or not len(accuracy) == len(seconds) == len(trainable) == n:
        raise ValueError(f"one accuracy, time and weight count per mode: got {n} modes, {len(accuracy)} "
                         f"accuracies, {len(seconds)} times and {len(trainable)} weight counts")
    if not all(0 <= a <= 1 for a in accuracy):
        raise ValueError(f"accuracies are fractions in 0..1, got {list(accuracy)}")
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
    colours = [plt.get_cmap("tab10")(k) for k in range(n)]
    panels = [(axes[0], [100 * a for a in accuracy], "测试集准确率 (%)", "{:.0f}%"),
              (axes[1], list(seconds), "训练时间 (s)", "{:.0f} s"),
              (axes[2], list(trainable), "可训练的权重数（对数刻度）", "{:,}")]
    for ax, values, ylabel, fmt in panels:
        ax.bar(range(n), values, color=colours, width=0.6)
        for x, value in enumerate(values):
            ax.annotate(fmt.format(value), (x, value), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=12)
        ax.set_xticks(range(n), [textwrap.fill(m, 12, break_on_hyphens=False) for m in modes])  # three bars to a panel still read
        ax.set_ylabel(ylabel)
        ax.margins(y=0.18)
    axes[0].set_ylim(0, 112)
    if chance is not None:
        axes[0].axhline(100 * chance, color="black", ls="--", lw=1.5, label=f"随机猜测 ({chance:.0%})")
        axes[0].legend(loc="upper right")
    axes[2].set_yscale("log")
    axes[2].set_ylim(min(trainable) / 3, max(trainable) * 20)
    fig.suptitle(title)
    return fig


def shorten(text: str, max_chars: int) -> str:
    """A label that fits on an axis: cut at max_chars with an ellipsis."""
    return text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "…"


@plt.rc_context(CRISP)
def similarity_heatmap(similarity: torch.Tensor, sentences: Sequence[str], max_chars: int = 38) -> Figure:
    """An (N, N) cosine-similarity matrix with the sentences on both axes and the value in every cell."""
    sim = torch.as_tensor(similarity).detach().float()
    if sim.dim() != 2 or sim.size(0) != sim.size(1) or sim.size(0) != len(sentences):
        raise ValueError(f"similarity must be (N, N) for the N = {len(sentences)} sentences, got "
                         f"{tuple(sim.shape)}: pass emb @ emb.T of their normalised embeddings")
    labels = [shorten(s, max_chars) for s in sentences]
    N = len(labels)
    fig = Figure(figsize=(5.5 + 0.62 * N, 3.5 + 0.55 * N), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(sim.numpy(), cmap="viridis", vmin=min(0.0, float(sim.min())), vmax=1.0)
    for i in range(N):
        for j in range(N):
            ax.text(j, i, f"{sim[i, j]:.2f}", ha="center", va="center", fontsize=MIN_FONT_PT,
                    color="black" if sim[i, j] > 0.6 else "white")
    ax.set_xticks(range(N), labels, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(N), labels)
    ax.set_title("句向量 (sentence embedding) 的余弦相似度")
    fig.colorbar(image, ax=ax, label="余弦相似度 (cosine similarity)", shrink=0.8)
    return fig


@plt.rc_context(CRISP)
def score_scatter(gold: torch.Tensor, predictions: dict[str, torch.Tensor],
                  ylabels: dict[str, str] | None = None) -> Figure:
    """One panel per method: its score for each sentence pair against the gold similarity (0-5), with
    Pearson's r (linear fit) and Spearman's rho (same order) in the title, as STS-B reports them."""
    gold = torch.as_tensor(gold).float().flatten()                                # (N,)
    if not predictions:
        raise ValueError("pass at least one method: {name: predicted scores}")
    for name, values in predictions.items():
        if torch.as_tensor(values).numel() != len(gold):
            raise ValueError(f"{name!r}: {torch.as_tensor(values).numel()} predictions for {len(gold)} gold scores")
    fig = Figure(figsize=(5.2 * len(predictions), 5.0), layout="constrained")
    axes = fig.subplots(1, len(predictions), squeeze=False)[0]
    for k, (ax, (name, values)) in enumerate(zip(axes, predictions.items())):
        values = torch.as_tensor(values).detach().float().flatten()               # (N,)
        ax.scatter(gold.numpy(), values.numpy(), s=36, alpha=0.75, color=plt.get_cmap("tab10")(k))
        ax.set_xlabel("人工标注的相似度 (gold，0-5)")
        ax.set_ylabel((ylabels or {}).get(name, "预测的分数"))
        ax.set_title(f"{name}\n皮尔逊 r = {pearson(values, gold):.3f}，斯皮尔曼 ρ = {spearman(values, gold):.3f}",
                     fontsize=13)
        ax.grid(alpha=0.3)
    return fig


@plt.rc_context(CRISP)
def score_histograms(scores: dict[str, torch.Tensor], threshold: float | None = None,
                     xlabel: str = "分数", title: str | None = None, bins: int = 30) -> Figure:
    """Overlaid histograms of one score for each class (e.g. IsNext vs NotNext), with the cut that
    separates them best: how far apart the classes lie is what a one-threshold classifier can use."""
    if not scores or any(torch.as_tensor(v).numel() == 0 for v in scores.values()):
        raise ValueError("pass {class name: its scores}, each with at least one score")
    values = {name: torch.as_tensor(v).detach().float().flatten() for name, v in scores.items()}
    every = torch.cat(list(values.values()))
    edges = torch.linspace(float(every.min()), float(every.max()), bins + 1).numpy()
    fig = Figure(figsize=(8.5, 4.8), layout="constrained")
    ax = fig.subplots()
    for k, (name, v) in enumerate(values.items()):
        ax.hist(v.numpy(), bins=edges, alpha=0.55, color=plt.get_cmap("tab10")(k), label=f"{name} ({len(v)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=2, label=f"阈值 {threshold:.2f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("样本数")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
