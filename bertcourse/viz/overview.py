"""The course map: 00_overview (the model family, the tasks' inputs and outputs, transfer learning)."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .style import PROJECTOR, SEGMENT_COLOURS

ARCHITECTURE_COLOURS = {"bi-LSTM": "tab:green", "Transformer encoder": "tab:blue",
                        "Transformer decoder": "tab:red", "insertion Transformer": "tab:purple"}
ARCHITECTURE_NAMES = {"bi-LSTM": "双向 LSTM (bi-LSTM)", "Transformer encoder": "Transformer 编码器 (encoder)",
                      "Transformer decoder": "Transformer 解码器 (decoder)",
                      "insertion Transformer": "插入式 Transformer (insertion)"}   # the legend's words


def _decimal_year(month: str) -> float:
    """'2018-10' -> 2018.75 (the start of that month)."""
    try:
        year, number = (int(part) for part in month.split("-"))
    except ValueError:
        raise ValueError(f"dates are 'YYYY-MM', e.g. '2018-10'; got {month!r}") from None
    if not 1 <= number <= 12:
        raise ValueError(f"month {number} in {month!r} is not 1..12")
    return year + (number - 1) / 12


@plt.rc_context(PROJECTOR)
def model_timeline(models: Sequence[tuple[str, str, str, str]]) -> Figure:
    """Models on a time line, each (name, 'YYYY-MM' of its paper, who made it, architecture), one row
    each, coloured by architecture (ARCHITECTURE_COLOURS): the Sesame Street family grew out of BERT."""
    unknown = sorted({m[3] for m in models} - ARCHITECTURE_COLOURS.keys())
    if unknown:
        raise ValueError(f"unknown architecture {unknown}; use one of {list(ARCHITECTURE_COLOURS)}")
    models = sorted(models, key=lambda m: _decimal_year(m[1]))
    dates = [_decimal_year(m[1]) for m in models]
    fig = Figure(figsize=(12, 1.6 + 0.55 * len(models)), layout="constrained")
    ax = fig.add_subplot()
    for row, ((name, month, who, architecture), x) in enumerate(zip(models, dates)):
        colour = ARCHITECTURE_COLOURS[architecture]
        ax.hlines(row, min(dates), x, color=colour, lw=1, ls=":")
        ax.plot([x], [row], "o", color=colour, ms=11)
        ax.annotate(f"{name} ({who}, {month})", (x, row), xytext=(10, 0), textcoords="offset points",
                    va="center", fontsize=13, color=colour)
    ax.set_xticks(range(int(dates[0]), int(dates[-1]) + 2))
    ax.set_xlim(int(dates[0]) - 0.05, int(dates[-1]) + 1.9)
    ax.set_ylim(len(models) - 0.4, -0.6)                                  # the first model on top
    ax.set_yticks([])
    ax.spines[["left", "right", "top"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("论文发表日期 (arXiv)")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=0, label=ARCHITECTURE_NAMES[a])
               for a, c in ARCHITECTURE_COLOURS.items()
               if a in {m[3] for m in models}]
    ax.legend(handles=handles, title="架构 (architecture)", loc="upper right")
    return fig


@plt.rc_context(PROJECTOR)
def task_heads(rows: Sequence[tuple[str, Sequence[str], Sequence[int], Sequence[int], str]]) -> Figure:
    """BERT's input and output for each kind of task, each row (task, tokens, token_type_ids, positions
    the output layer reads, what it outputs): boxes coloured by segment (A blue, B orange); the boxes
    whose final vectors feed the task's output layer are drawn bold."""
    width = max(len(tokens) for _, tokens, *_ in rows)
    fig = Figure(figsize=(0.6 + 0.62 * width, 1.2 * len(rows) + 0.6), layout="constrained")
    ax = fig.add_subplot()
    for row, (task, tokens, segments, reads, output) in enumerate(rows):
        if len(segments) != len(tokens) or not set(reads) <= set(range(len(tokens))):
            raise ValueError(f"{task}: {len(tokens)} tokens need as many token_type_ids (got {len(segments)}) "
                             "and positions to read within them")
        y = -1.2 * row
        ax.text(-0.5, y + 0.5, f"{task}  →  {output}", fontsize=13, va="bottom")
        for x, (token, segment) in enumerate(zip(tokens, segments)):
            bold = x in reads
            ax.add_patch(Rectangle((x - 0.47, y - 0.4), 0.94, 0.8, facecolor=SEGMENT_COLOURS[segment],
                                   alpha=0.9 if bold else 0.25, edgecolor="black", lw=2.5 if bold else 0.5))
            ax.text(x, y, token, ha="center", va="center", fontsize=11, rotation=90 if len(token) > 5 else 0,
                    color="white" if bold else "black")
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-1.2 * len(rows) + 0.6, 1.0)
    ax.set_axis_off()
    ax.set_title("粗框：输出层读取的最终向量（蓝色：句子 A，橙色：句子 B）", fontsize=13)
    return fig


@plt.rc_context(PROJECTOR)
def transfer_learning() -> Figure:
    """The slides' 迁移学习 in one picture: pretrain once on unlabelled text, then reuse the weights for
    every task, by fine-tuning (add a small output layer, train everything) or as frozen features."""
    fig = Figure(figsize=(13, 5.2), layout="constrained")
    ax = fig.add_subplot()
    boxes = {  # name: (x, y, text, colour)
        "text": (1.0, 2.0, "无标注文本\nBooksCorpus + Wikipedia\n33 亿词", "#eeeeee"),
        "bert": (4.6, 2.0, "预训练 (pre-training)\n掩码语言模型 + 下一句预测\n→ 一套 BERT 权重", "#c6dbef"),
        "fine": (9.2, 3.3, "微调 (fine-tuning)：加一个小输出层，\n在任务上训练全部权重\n"
                           "（情感、蕴含、命名实体、问答 …）", "#fdd0a2"),
        "features": (9.2, 0.7, "特征提取 (feature extraction)：\n冻结 BERT 的权重，\n只在它的向量上训练新模型",
                     "#c7e9c0"),
    }
    drawn = {name: ax.text(x, y, text, ha="center", va="center", fontsize=13,
                           bbox=dict(boxstyle="round,pad=0.6", facecolor=colour, edgecolor="grey"))
             for name, (x, y, text, colour) in boxes.items()}
    for start, end in (("text", "bert"), ("bert", "fine"), ("bert", "features")):
        ax.annotate("", xy=boxes[end][:2], xytext=boxes[start][:2], arrowprops=dict(
            arrowstyle="-|>", lw=2.5, color="#444444", mutation_scale=25, shrinkA=6, shrinkB=6,
            patchA=drawn[start].get_bbox_patch(), patchB=drawn[end].get_bbox_patch()))
    ax.set_xlim(-0.6, 11.8)
    ax.set_ylim(-0.3, 4.3)
    ax.set_axis_off()
    ax.set_title("迁移学习 (Transfer Learning)：预训练一次（昂贵），每个任务重复使用（便宜）")
    return fig
