"""BERT's input and the masking rule pictured: 03_bert_inputs, 05_masked_lm. The statistics they draw
are computed in `bertcourse.pretraining`, beside `mask_tokens`."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..pretraining import outcome_names
from .style import MIN_FONT_PT, PROJECTOR, SEGMENT_COLOURS, check_tokens

OUTCOME_COLOURS = {"mask": "#d62728", "random": "#ff7f0e", "kept": "#2ca02c", "unchosen": "#e6e6e6"}
OUTCOME_LABELS = {"mask": "选中 → [MASK]", "random": "选中 → 随机词元", "kept": "选中，保持不变",
                  "unchosen": "未选中"}


@plt.rc_context(PROJECTOR)
def input_embeddings(embeddings: torch.nn.Module, encoding, dims: int = 16) -> Figure:
    """BERT's input as the paper's Figure 2 draws it: per token, its token, segment and position
    embedding and their sum (what LayerNorm receives), one panel per table, the first `dims` dimensions.
    `embeddings` is a model's `.embeddings`; `encoding` is `tokenizer.encode(a, b)`."""
    ids = torch.tensor(encoding.input_ids)                                   # (T,)
    segments = torch.tensor(encoding.token_type_ids)                         # (T,)
    T, H = len(ids), embeddings.word_embeddings.embedding_dim
    if not 0 < dims <= H:
        raise ValueError(f"dims must be in 1..{H} (the hidden size), got {dims}")
    tokens = check_tokens(encoding.tokens, T, "input")
    with torch.no_grad():
        parts = [embeddings.word_embeddings(ids), embeddings.token_type_embeddings(segments),
                 embeddings.position_embeddings(torch.arange(T))]          # 3 x (T, H)
    parts.append(sum(parts))
    names = ["词元嵌入 (token embeddings)", "片段嵌入 (segment embeddings，A / B)", "位置嵌入 (position embeddings，0 … T-1)",
             "三者之和 = 词元 + 片段 + 位置（送入 LayerNorm）"]
    ticks = [tokens, ["AB"[s] for s in encoding.token_type_ids], [str(t) for t in range(T)], tokens]
    fig = Figure(figsize=(min(16.0, 2.6 + 0.55 * T), 4 * (1.0 + 0.09 * dims)), layout="constrained")
    axes = fig.subplots(4, 1)
    for ax, values, name, labels in zip(axes, parts, names, ticks):
        shown = values[:, :dims].T.numpy()                                   # (dims, T)
        limit = max(float(abs(shown).max()), 1e-6)                          # symmetric: 0 is white
        image = ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(T), labels, rotation=90 if labels is tokens else 0)
        for label, segment in zip(ax.get_xticklabels(), encoding.token_type_ids):
            label.set_color(SEGMENT_COLOURS[segment])
        ax.set_yticks([0, dims - 1], ["0", str(dims - 1)])
        ax.set_ylabel("维度")
        ax.set_title(name, loc="left")
        fig.colorbar(image, ax=ax, label="数值", pad=0.01)
    fig.suptitle(f"BERT 的输入：{H} 维中的前 {dims} 维（蓝色刻度：句子 A，橙色：句子 B）")
    return fig


@plt.rc_context(PROJECTOR)
def masking_frequencies(measured: dict[str, float], expected: dict[str, float], n_tokens: int | None = None) -> Figure:
    """Measured rates (bars) against the rule's expected values (black ticks), in percent."""
    keys = ["chosen", "mask", "random", "kept"]
    labels = ["选中\n(占真实词元)", "[MASK]\n(占选中的)", "随机词元\n(占选中的)", "不变\n(占选中的)"]
    colours = ["#7f7f7f", OUTCOME_COLOURS["mask"], OUTCOME_COLOURS["random"], OUTCOME_COLOURS["kept"]]
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    values = [100 * measured[k] for k in keys]
    ax.bar(range(4), values, color=colours, width=0.6, label="实测 (measured)")
    ax.scatter(range(4), [100 * expected[k] for k in keys], marker="_", s=1400, linewidths=3, color="black",
               zorder=3, label="期望 (expected)")
    for x, (value, k) in enumerate(zip(values, keys)):
        ax.annotate(f"{value:.1f}%\n(期望 {100 * expected[k]:.1f}%)", (x, value), xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", fontsize=11)
    ax.set_xticks(range(4), labels)
    ax.set_ylim(0, 118)
    ax.set_ylabel("比例 (%)")
    ax.set_title("掩码 (masking)：实测与期望" + (f"，共 {n_tokens:,} 个真实词元" if n_tokens else ""))
    ax.legend(loc="upper right", fontsize=11)
    return fig


def _token_strip(ax, seen: list[str], original: list[str], outcome: list[str], per_row: int) -> None:
    """Tokens as coloured boxes, wrapped into rows; a changed token shows its original underneath."""
    rows = -(-len(seen) // per_row)
    ax.set_xlim(-0.5, per_row - 0.5)
    ax.set_ylim(rows - 0.35, -0.65)
    ax.set_axis_off()
    for t, (token, was, kind) in enumerate(zip(seen, original, outcome)):
        x, y = t % per_row, t // per_row
        ax.text(x, y, token, ha="center", va="center", fontsize=12, gid=f"token-{t}",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": OUTCOME_COLOURS[kind], "edgecolor": "none"})
        if token != was:
            ax.text(x, y + 0.4, f"原为 {was}", ha="center", va="center", fontsize=MIN_FONT_PT, color="#555555")


@plt.rc_context(PROJECTOR)
def masked_predictions(tokenizer, input_ids: torch.Tensor, masked_ids: torch.Tensor, labels: torch.Tensor,
                       logits: torch.Tensor | None = None, k: int = 5, max_panels: int = 8,
                       per_row: int = 10) -> Figure:
    """One masked sentence: each position coloured by what happened to it ([MASK] / random / kept /
    not chosen), and, given the MLM logits (T, V) of the model that read `masked_ids`, its top-k
    guesses with probabilities at the chosen positions (the target's bar in green). Trailing [PAD]
    positions of a padded batch row are left out."""
    if not input_ids.dim() == masked_ids.dim() == labels.dim() == 1:
        raise ValueError("masked_predictions draws one sentence: pass 1-D ids and labels, e.g. masked[0]")
    if logits is not None and tuple(logits.shape[:1]) != (len(input_ids),):
        raise ValueError(f"logits must be (T, V) = ({len(input_ids)}, vocab), got {tuple(logits.shape)}: call "
                         "the model without labels and pass out.mlm_logits[0]")
    T = int((input_ids != tokenizer.pad_token_id).nonzero().max()) + 1       # up to the last real token
    input_ids, masked_ids, labels = input_ids[:T], masked_ids[:T], labels[:T]
    kind = outcome_names(input_ids, masked_ids, labels, tokenizer.mask_token_id)
    seen, original = tokenizer.convert_ids_to_tokens(masked_ids), tokenizer.convert_ids_to_tokens(input_ids)
    chosen = [t for t, name in enumerate(kind) if name != "unchosen"][:max_panels]
    ncols = min(4, max(1, len(chosen)))
    panel_rows = -(-len(chosen) // ncols) if logits is not None and chosen else 0
    strip_rows = -(-T // per_row)
    fig = Figure(figsize=(max(9.0, 3.2 * ncols), 0.9 * strip_rows + 1.2 + 2.6 * panel_rows), layout="constrained")
    grid = fig.add_gridspec(1 + panel_rows, ncols, height_ratios=[0.8 * strip_rows + 0.5] + [2.4] * panel_rows)
    strip = fig.add_subplot(grid[0, :])
    _token_strip(strip, seen, original, kind, per_row)
    handles = [Rectangle((0, 0), 1, 1, color=OUTCOME_COLOURS[name]) for name in OUTCOME_LABELS]
    strip.legend(handles, OUTCOME_LABELS.values(), loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=4,
                 fontsize=11, frameon=False)
    if panel_rows:
        probs = logits[:T].detach().float().softmax(-1)                      # (T, V)
        for i, t in enumerate(chosen):
            ax = fig.add_subplot(grid[1 + i // ncols, i % ncols])
            top = probs[t].topk(k)
            words = tokenizer.convert_ids_to_tokens(top.indices)
            target = int(labels[t])
            rank = int((probs[t] > probs[t, target]).sum()) + 1
            ax.barh(range(k), top.values.numpy(), color=[OUTCOME_COLOURS["kept"] if j == target else "#1f77b4"
                                                        for j in top.indices.tolist()])
            ax.set_yticks(range(k), words)
            ax.invert_yaxis()
            ax.set_xlim(0, float(top.values[0]) * 1.45)
            for y, p in enumerate(top.values.tolist()):
                ax.annotate(f"{p:.2g}", (p, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=MIN_FONT_PT)
            ax.locator_params(axis="x", nbins=3)
            ax.set_xlabel("概率")
            ax.set_title(f"位置 {t} ({seen[t]})\n目标 {original[t]}：p={float(probs[t, target]):.2g}，"
                         f"排第 {rank:,}", fontsize=MIN_FONT_PT)
    fig.suptitle("掩码语言模型 (masked LM)：每个位置变成了什么" + (f"，以及模型的前 {k} 个猜测" if panel_rows else ""))
    return fig
