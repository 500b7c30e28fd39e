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
from .style import CRISP, PROJECTOR, check_tokens, label_ticks


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
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title or "attention weights")
    fig.colorbar(image, ax=ax, label="attention weight", shrink=0.8)
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
    panel = min(3.0, 1.4 + 0.1 * T)
    fig = Figure(figsize=(panel * ncols + 1.0, panel * nrows + 0.6), dpi=80, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    label_size = 10 if T <= 16 else 8
    for h, ax in enumerate(axes.flat):
        if h >= n_heads:
            ax.set_axis_off()
            continue
        image = ax.imshow(w[h].numpy(), cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"head {h}")
        # token names on the left column and under the bottom-left panel: text is most of the PNG's bytes
        first_col, bottom_left = h % ncols == 0, h == (nrows - 1) * ncols
        label_ticks(ax, tokens if bottom_left else [""] * T, tokens if first_col else [""] * T, label_size)
    fig.suptitle(("all heads" if layer is None else f"layer {layer}, all heads") + " (rows: query, columns: key)")
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.6)
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
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("layer")
    which = "mean over heads" if head is None else f"head {head}"
    ax.set_title(f"attention of {tokens[query]!r} (position {query}), {which}")
    fig.colorbar(image, ax=ax, label="attention weight")
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
    ax.axhline(100 / len(tokens), color="grey", ls=":", lw=2, label="uniform, one token (1/T)")
    ax.set_xticks(list(layers))
    ax.set_xlabel("layer")
    ax.set_ylabel("share of attention received (%)")
    ax.set_title("where the attention goes (mean over heads and queries)")
    ax.legend(title="key token")
    return fig


@plt.rc_context(PROJECTOR)
def attention_overview(attentions: Sequence[torch.Tensor] | torch.Tensor, tokens: Sequence[str],
                       vmax: float = 1.0) -> Figure:
    """Every head of every layer as a thumbnail (rows: layers, columns: heads): the matplotlib
    counterpart of bertviz's model view, light enough to keep in a committed notebook."""
    w = attention_stack(attentions)                                         # (L, nh, T, T)
    tokens = check_tokens(tokens, w.size(-1), "key")
    L, n_heads = w.shape[:2]
    fig = Figure(figsize=(1.0 * n_heads + 1.4, 1.0 * L + 1.4), dpi=72, layout="constrained")
    axes = fig.subplots(L, n_heads, squeeze=False)
    steps = plt.get_cmap("viridis").resampled(16)    # 16 colour steps: 72 thumbnails stay a light PNG
    for layer in range(L):
        for head in range(n_heads):
            ax = axes[layer, head]
            image = ax.imshow(w[layer, head].numpy(), cmap=steps, vmin=0.0, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=11)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=11)
    fig.suptitle("every layer and head (rows: query, columns: key)")
    fig.supxlabel(textwrap.fill("tokens: " + " ".join(tokens), 150), fontsize=10)
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.7)
    return fig


@plt.rc_context(PROJECTOR)
def attention_masks(tokens: Sequence[str]) -> Figure:
    """BERT's bidirectional attention (every token sees every token) beside a left-to-right language
    model's (a token sees only itself and the tokens before it): why BERT needs masked LM to train."""
    T = len(tokens)
    masks = [torch.ones(T, T, dtype=torch.bool), left_to_right_mask(T)]
    titles = ["bidirectional (BERT, masked LM)", "left-to-right (GPT-style LM)"]
    side = min(9.0, 2.5 + 0.36 * T)
    fig = Figure(figsize=(2 * side + 1.5, side + 0.6), dpi=80, layout="constrained")
    return _mask_panels(fig, [(mask, tokens, tokens, title) for mask, title in zip(masks, titles)])


def _mask_panels(fig: Figure, panels: Sequence[tuple[torch.Tensor, Sequence[str], Sequence[str], str]]) -> Figure:
    """Boolean attention masks (query rows, key columns) side by side, each as (mask, key tokens,
    query tokens, title), with one legend: grey = blocked, blue = may attend."""
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
        ax.set_xlabel("key (attended to)")
        ax.set_ylabel("query (attending)")
        ax.set_title(f"{title}\n{int(mask.sum())} of {Tq * Tk} links allowed")
    bar = fig.colorbar(image, ax=axes, ticks=[0.25, 0.75], shrink=0.6)
    bar.ax.set_yticklabels(["blocked", "may attend"])
    return fig


@plt.rc_context(PROJECTOR)
def encoder_decoder_masks(source_tokens: Sequence[str], target_tokens: Sequence[str]) -> Figure:
    """The three attentions of an encoder-decoder Transformer (translation): the encoder reads the whole
    source (as BERT does), the decoder sees only the target tokens before it (causal), and cross-attention
    lets every target token read the whole source. BERT keeps only the first."""
    S, T = len(source_tokens), len(target_tokens)
    side = min(5.0, 2.0 + 0.3 * max(S, T))
    fig = Figure(figsize=(3 * side + 1.5, side + 0.8), dpi=72, layout="constrained")
    return _mask_panels(fig, [
        (torch.ones(S, S, dtype=torch.bool), source_tokens, source_tokens, "encoder self-attention\n(BERT)"),
        (left_to_right_mask(T), target_tokens, target_tokens, "decoder self-attention\n(causal)"),
        (torch.ones(T, S, dtype=torch.bool), source_tokens, target_tokens, "cross-attention\n(decoder reads encoder)"),
    ])
