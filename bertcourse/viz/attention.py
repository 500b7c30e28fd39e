"""Attention figures: 01_self_attention, 02_transformer_encoder, 04_bert_architecture, 05_masked_lm.
Each builds a bare `Figure` (not pyplot's), so a notebook cell ending in the call shows it exactly once."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..attention import left_to_right_mask
from .style import CRISP, MIN_FONT_PT, PROJECTOR, check_tokens, label_ticks

KEY_LABEL = "键 (key)：被注意的词元"
QUERY_LABEL = "查询 (query)：发出注意的词元"
WEIGHT_LABEL = "注意力权重 (attention weight)"


def attention_stack(attentions: Sequence[torch.Tensor] | torch.Tensor, example: int = 0) -> torch.Tensor:
    """The model's `out.attentions` (L tensors (B, nh, T, T)) -> one (L, nh, T, T) tensor for one example."""
    if torch.is_tensor(attentions) and attentions.dim() == 4:
        return attentions.detach().float()                               # already (L, nh, T, T)
    if (torch.is_tensor(attentions) or not attentions
            or not all(torch.is_tensor(a) and a.dim() == 4 for a in attentions)):
        raise ValueError("expected the model's attentions: a list of (batch, heads, T, T) tensors, one per layer "
                         "(call the model with output_attentions=True), or one (layers, heads, T, T) tensor")
    if not -attentions[0].size(0) <= example < attentions[0].size(0):
        raise IndexError(f"example {example} is outside the batch of {attentions[0].size(0)}")
    return torch.stack([a[example] for a in attentions]).detach().float()  # (L, nh, T, T)


@plt.rc_context(PROJECTOR)
def attention_heatmap(weights: torch.Tensor, tokens: Sequence[str], key_tokens: Sequence[str] | None = None,
                      title: str | None = None, vmax: float = 1.0) -> Figure:
    """One head: row i is how query token i shares its attention (summing to 1) among the key tokens.
    The colour scale is fixed to 0..vmax so that two heatmaps can be compared by eye."""
    w = weights.detach().float().squeeze()
    if w.dim() != 2:
        raise ValueError(f"attention_heatmap draws one head: weights of shape (T_query, T_key), got "
                         f"{tuple(weights.shape)}; pick a layer and a head, e.g. attn[layer][0, head]")
    y_tokens = check_tokens(tokens, w.size(0), "query")
    x_tokens = check_tokens(tokens if key_tokens is None else key_tokens, w.size(1), "key")
    side = min(12.0, 3.0 + 0.3 * max(w.shape))
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(w.numpy(), cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
    label_ticks(ax, x_tokens, y_tokens)
    ax.set_xlabel(KEY_LABEL)
    ax.set_ylabel(QUERY_LABEL)
    ax.set_title(title or "注意力权重 (attention weights)")
    fig.colorbar(image, ax=ax, label=WEIGHT_LABEL, shrink=0.8)
    return fig


@plt.rc_context(CRISP)  # crisp text: 3x smaller PNG with 12 panels of labels
def attention_heads(layer_weights: torch.Tensor, tokens: Sequence[str], layer: int | None = None,
                    ncols: int = 4, vmax: float = 1.0) -> Figure:
    """All heads of one layer side by side, on one colour scale: each head learns its own pattern."""
    w = layer_weights.detach().float()
    if w.dim() == 4 and w.size(0) == 1:
        w = w[0]
    if w.dim() != 3:
        raise ValueError(f"attention_heads draws one layer: weights of shape (heads, T, T), got "
                         f"{tuple(layer_weights.shape)}; e.g. out.attentions[layer][0]")
    tokens = check_tokens(tokens, w.size(-1), "key")
    n_heads, T = w.size(0), w.size(-1)
    ncols = min(ncols, n_heads)
    nrows = -(-n_heads // ncols)
    panel = max(2.4, 0.4 + 0.19 * T)                          # room for an 11-pt label per token
    fig = Figure(figsize=(panel * ncols + 1.6, panel * nrows + 1.2), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for h, ax in enumerate(axes.flat):
        if h >= n_heads:
            ax.set_axis_off()
            continue
        image = ax.imshow(w[h].numpy(), cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"头 {h} (head)")
        # token names on the left column and under the bottom-left panel: text is most of the PNG's bytes
        first_col, bottom_left = h % ncols == 0, h == (nrows - 1) * ncols
        label_ticks(ax, tokens if bottom_left else [""] * T, tokens if first_col else [""] * T)
    fig.suptitle(("所有头" if layer is None else f"第 {layer} 层的所有头") + "（行：查询 query，列：键 key）")
    fig.colorbar(image, ax=axes, label=WEIGHT_LABEL, shrink=0.6)
    return fig


@plt.rc_context(PROJECTOR)
def attention_across_layers(attentions: Sequence[torch.Tensor] | torch.Tensor, tokens: Sequence[str],
                            query: int | str, head: int | None = None) -> Figure:
    """Where one token looks, layer by layer (rows), averaged over the heads unless `head` is given:
    low layers tend to look at neighbours, higher ones at related words and at [SEP]."""
    w = attention_stack(attentions)                                         # (L, nh, T, T)
    tokens = check_tokens(tokens, w.size(-1), "key")
    if isinstance(query, str):
        if query not in tokens:
            raise ValueError(f"token {query!r} is not among the tokens {tokens}; pass its index instead")
        query = tokens.index(query)
    if not 0 <= query < len(tokens):
        raise IndexError(f"query index {query} is outside 0..{len(tokens) - 1}")
    if head is not None and not 0 <= head < w.size(1):
        raise IndexError(f"head {head} is outside 0..{w.size(1) - 1}")
    rows = w[:, :, query].mean(1) if head is None else w[:, head, query]   # (L, T)
    L, T = rows.shape
    fig = Figure(figsize=(min(14.0, 3.5 + 0.42 * T), 1.8 + 0.45 * L), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(rows.numpy(), cmap="viridis", vmin=0.0, vmax=max(float(rows.max()), 1e-6), aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(range(T), tokens, rotation=90)
    ax.set_yticks(range(L), [str(layer) for layer in range(L)])
    ax.set_xlabel(KEY_LABEL)
    ax.set_ylabel("层 (layer)")
    which = "各头平均" if head is None else f"头 {head}"
    ax.set_title(f"{tokens[query]!r}（位置 {query}）的注意力，{which}")
    fig.colorbar(image, ax=ax, label=WEIGHT_LABEL)
    return fig


@plt.rc_context(PROJECTOR)
def attention_to_tokens(attentions: Sequence[torch.Tensor] | torch.Tensor, tokens: Sequence[str],
                        targets: Sequence[str] = ("[CLS]", "[SEP]", ".")) -> Figure:
    """Share of all attention that lands on each target token, per layer (mean over heads and queries),
    against the share a uniform spread would give: BERT's heads park much of it on [SEP]."""
    w = attention_stack(attentions)                                         # (L, nh, T, T)
    tokens = check_tokens(tokens, w.size(-1), "key")
    missing = [t for t in targets if t not in tokens]
    if missing:
        raise ValueError(f"target tokens {missing} do not occur in {tokens}")
    received = w.mean(dim=(1, 2))                                           # (L, T): mean over heads, queries
    layers = range(w.size(0))
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    for target in targets:
        where = torch.tensor([t == target for t in tokens])                 # every occurrence counts
        ax.plot(layers, 100 * received[:, where].sum(-1).numpy(), marker="o", lw=2, label=target)
    ax.axhline(100 / len(tokens), color="grey", ls=":", lw=2, label="均匀分布时一个词元的份额 (1/T)")
    ax.set_xticks(list(layers))
    ax.set_xlabel("层 (layer)")
    ax.set_ylabel("收到的注意力份额 (%)")
    ax.set_title("注意力流向哪里（各头、各查询平均）")
    ax.legend(title="键词元 (key)")
    return fig


@plt.rc_context(CRISP)  # crisp text: with 72 thumbnails the PNG stays under 100 kB
def attention_overview(attentions: Sequence[torch.Tensor] | torch.Tensor, tokens: Sequence[str],
                       vmax: float = 1.0) -> Figure:
    """Every head of every layer as a thumbnail (rows: layers, columns: heads): the matplotlib
    counterpart of bertviz's model view, light enough to keep in a committed notebook."""
    w = attention_stack(attentions)                                         # (L, nh, T, T)
    tokens = check_tokens(tokens, w.size(-1), "key")
    L, n_heads = w.shape[:2]
    fig = Figure(figsize=(0.85 * n_heads + 1.6, 0.85 * L + 2.0), layout="constrained")
    axes = fig.subplots(L, n_heads, squeeze=False)
    steps = plt.get_cmap("viridis").resampled(16)    # 16 colour steps: 72 thumbnails stay a light PNG
    for layer in range(L):
        for head in range(n_heads):
            ax = axes[layer, head]
            image = ax.imshow(w[layer, head].numpy(), cmap=steps, vmin=0.0, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"头 {head}", fontsize=MIN_FONT_PT)
            if head == 0:
                ax.set_ylabel(f"第 {layer} 层", fontsize=MIN_FONT_PT)
    fig.suptitle("所有层、所有头：每格一个头（行：查询 query，列：键 key）")
    fig.supxlabel(textwrap.fill("词元 (tokens)，每格的行和列都按这个顺序：" + " ".join(tokens), 110),
                  fontsize=MIN_FONT_PT)
    fig.colorbar(image, ax=axes, label=WEIGHT_LABEL, shrink=0.7)
    return fig


@plt.rc_context(PROJECTOR)
def attention_masks(tokens: Sequence[str]) -> Figure:
    """BERT's bidirectional attention (every token sees every token) beside a left-to-right language
    model's (a token sees only itself and the tokens before it): why BERT needs masked LM to train."""
    T = len(tokens)
    masks = [torch.ones(T, T, dtype=torch.bool), left_to_right_mask(T)]
    titles = ["双向 (bidirectional)：BERT，掩码语言模型", "从左到右 (left-to-right)：GPT 式语言模型"]
    side = min(7.0, 2.5 + 0.3 * T)
    fig = Figure(figsize=(2 * side + 1.5, side + 0.8), layout="constrained")
    return _mask_panels(fig, [(mask, tokens, tokens, title) for mask, title in zip(masks, titles)])


def _mask_panels(fig: Figure, panels: Sequence[tuple[torch.Tensor, Sequence[str], Sequence[str], str]]) -> Figure:
    """Boolean attention masks (query rows, key columns) side by side, each as (mask, key tokens,
    query tokens, title), with one legend: grey = masked (blocked), blue = may attend."""
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    cmap = ListedColormap(["#eeeeee", "#1f77b4"])
    for ax, (mask, keys, queries, title) in zip(axes, panels):
        Tq, Tk = mask.shape
        image = ax.imshow(mask.float().numpy(), cmap=cmap, vmin=0, vmax=1)
        label_ticks(ax, check_tokens(keys, Tk, "key"), check_tokens(queries, Tq, "query"))
        ax.set_xticks([x - 0.5 for x in range(1, Tk)], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, Tq)], minor=True)
        ax.grid(which="minor", color="white", lw=1)
        ax.tick_params(which="minor", length=0)
        ax.set_xlabel(KEY_LABEL)
        ax.set_ylabel(QUERY_LABEL)
        ax.set_title(f"{title}\n允许 {int(mask.sum())} / {Tq * Tk} 条连接")
    bar = fig.colorbar(image, ax=axes, ticks=[0.25, 0.75], shrink=0.6)
    bar.ax.set_yticklabels(["被掩码挡住", "可以注意"])
    return fig


@plt.rc_context(PROJECTOR)
def encoder_decoder_masks(source_tokens: Sequence[str], target_tokens: Sequence[str]) -> Figure:
    """The three attentions of an encoder-decoder Transformer (translation): the encoder reads the whole
    source (as BERT does), the decoder sees only the target tokens before it (causal), and cross-attention
    lets every target token read the whole source. BERT keeps only the first."""
    S, T = len(source_tokens), len(target_tokens)
    side = min(4.6, 2.2 + 0.25 * max(S, T))
    fig = Figure(figsize=(3 * side + 1.8, side + 1.0), layout="constrained")
    return _mask_panels(fig, [
        (torch.ones(S, S, dtype=torch.bool), source_tokens, source_tokens, "编码器自注意力\n(encoder self-attention，BERT)"),
        (left_to_right_mask(T), target_tokens, target_tokens, "解码器自注意力\n(decoder，因果 causal)"),
        (torch.ones(T, S, dtype=torch.bool), source_tokens, target_tokens, "交叉注意力 (cross-attention)\n解码器读编码器"),
    ])
