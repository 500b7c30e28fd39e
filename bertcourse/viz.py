"""Figures for the notebooks (matplotlib), sized and labelled to be read on a classroom projector:
token names on the axes, labelled colour bars, large fonts."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from .pretraining import IGNORE, word_starts

PROJECTOR = {"font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "xtick.labelsize": 11,
             "ytick.labelsize": 11, "figure.dpi": 100}


# ---- attention weights: 01_self_attention, 04_bert_architecture ----------------------------------------
# These build a bare `Figure` (not pyplot's), so a notebook cell ending in the call shows it exactly once.

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


def _check_tokens(tokens: Sequence[str], n: int, what: str) -> list[str]:
    if len(tokens) != n:
        raise ValueError(f"{len(tokens)} tokens for {n} {what} positions: pass the tokens of the very encoding "
                         "the model read (enc.tokens), padding included or cut from both")
    return list(tokens)


def _label_ticks(ax, x_tokens: Sequence[str], y_tokens: Sequence[str], fontsize: float | None = None) -> None:
    size = {} if fontsize is None else {"fontsize": fontsize}
    ax.set_xticks(range(len(x_tokens)), x_tokens, rotation=90, **size)
    ax.set_yticks(range(len(y_tokens)), y_tokens, **size)


@plt.rc_context(PROJECTOR)
def attention_heatmap(weights: torch.Tensor, tokens: Sequence[str], key_tokens: Sequence[str] | None = None,
                      title: str | None = None, vmax: float = 1.0) -> Figure:
    """One head: row i is how query token i shares its attention (summing to 1) among the key tokens.
    The colour scale is fixed to 0..vmax so that two heatmaps can be compared by eye."""
    w = weights.detach().float().squeeze()
    if w.dim() != 2:
        raise ValueError(f"attention_heatmap draws one head: weights of shape (T_query, T_key), got "
                         f"{tuple(weights.shape)}; pick a layer and a head, e.g. attn[layer][0, head]")
    y_tokens = _check_tokens(tokens, w.size(0), "query")
    x_tokens = _check_tokens(tokens if key_tokens is None else key_tokens, w.size(1), "key")
    side = min(12.0, 3.0 + 0.3 * max(w.shape))
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(w.numpy(), cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
    _label_ticks(ax, x_tokens, y_tokens)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title or "attention weights")
    fig.colorbar(image, ax=ax, label="attention weight", shrink=0.8)
    return fig


@plt.rc_context({**PROJECTOR, "text.antialiased": False})  # crisp text: 3x smaller PNG with 12 panels of labels
def attention_heads(layer_weights: torch.Tensor, tokens: Sequence[str], layer: int | None = None,
                    ncols: int = 4, vmax: float = 1.0) -> Figure:
    """All heads of one layer side by side, on one colour scale: each head learns its own pattern."""
    w = layer_weights.detach().float()
    if w.dim() == 4 and w.size(0) == 1:
        w = w[0]
    if w.dim() != 3:
        raise ValueError(f"attention_heads draws one layer: weights of shape (heads, T, T), got "
                         f"{tuple(layer_weights.shape)}; e.g. out.attentions[layer][0]")
    tokens = _check_tokens(tokens, w.size(-1), "key")
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
        _label_ticks(ax, tokens if bottom_left else [""] * T, tokens if first_col else [""] * T, label_size)
    fig.suptitle(("all heads" if layer is None else f"layer {layer}, all heads") + " (rows: query, columns: key)")
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.6)
    return fig


@plt.rc_context(PROJECTOR)
def attention_across_layers(attentions: Sequence[torch.Tensor] | torch.Tensor, tokens: Sequence[str],
                            query: int | str, head: int | None = None) -> Figure:
    """Where one token looks, layer by layer (rows), averaged over the heads unless `head` is given:
    low layers tend to look at neighbours, higher ones at related words and at [SEP]."""
    w = attention_stack(attentions)                                         # (L, nh, T, T)
    tokens = _check_tokens(tokens, w.size(-1), "key")
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
    tokens = _check_tokens(tokens, w.size(-1), "key")
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
    tokens = _check_tokens(tokens, w.size(-1), "key")
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


# ---- inputs and masking: 03_bert_inputs, 05_masked_lm ----------------------------------------------------
SEGMENT_COLOURS = ("tab:blue", "tab:orange")                 # sentence A, sentence B
OUTCOME_COLOURS = {"mask": "#d62728", "random": "#ff7f0e", "kept": "#2ca02c", "unchosen": "#e6e6e6"}
OUTCOME_LABELS = {"mask": "chosen -> [MASK]", "random": "chosen -> random token", "kept": "chosen, kept",
                  "unchosen": "not chosen"}


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
    tokens = _check_tokens(encoding.tokens, T, "input")
    with torch.no_grad():
        parts = [embeddings.word_embeddings(ids), embeddings.token_type_embeddings(segments),
                 embeddings.position_embeddings(torch.arange(T))]          # 3 x (T, H)
    parts.append(sum(parts))
    names = ["token embeddings", "segment embeddings (A / B)", "position embeddings (0 ... T-1)",
             "sum = token + segment + position (input to LayerNorm)"]
    ticks = [tokens, ["AB"[s] for s in encoding.token_type_ids], [str(t) for t in range(T)], tokens]
    fig = Figure(figsize=(min(16.0, 2.6 + 0.55 * T), 4 * (1.0 + 0.09 * dims)), dpi=80, layout="constrained")
    axes = fig.subplots(4, 1)
    for ax, values, name, labels in zip(axes, parts, names, ticks):
        shown = values[:, :dims].T.numpy()                                   # (dims, T)
        limit = max(float(abs(shown).max()), 1e-6)                          # symmetric: 0 is white
        image = ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(T), labels, rotation=90 if labels is tokens else 0)
        for label, segment in zip(ax.get_xticklabels(), encoding.token_type_ids):
            label.set_color(SEGMENT_COLOURS[segment])
        ax.set_yticks([0, dims - 1], ["0", str(dims - 1)])
        ax.set_ylabel("dimension")
        ax.set_title(name, loc="left")
        fig.colorbar(image, ax=ax, label="value", pad=0.01)
    fig.suptitle(f"BERT's input, first {dims} of {H} dimensions (blue ticks: sentence A, orange: B)")
    return fig


def masking_outcomes(input_ids: torch.Tensor, masked_ids: torch.Tensor, labels: torch.Tensor,
                     mask_token_id: int) -> dict[str, torch.Tensor]:
    """What mask_tokens did at each position, read back from its output (any shape, e.g. (B, T)):
    bool tensors "chosen", "mask", "random", "kept". A random draw that happens to be the original
    token (about 1 in 29,000) looks exactly like a kept one, and is counted as kept."""
    chosen = labels != IGNORE
    mask = chosen & (masked_ids == mask_token_id)
    kept = chosen & (masked_ids == input_ids)
    return {"chosen": chosen, "mask": mask, "random": chosen & ~mask & ~kept, "kept": kept}


def outcome_names(input_ids: torch.Tensor, masked_ids: torch.Tensor, labels: torch.Tensor,
                  mask_token_id: int) -> list[str]:
    """One sentence (1-D): per position "mask", "random", "kept" or "unchosen" (the keys of OUTCOME_COLOURS)."""
    outcome = masking_outcomes(input_ids, masked_ids, labels, mask_token_id)
    return [next((k for k in ("mask", "random", "kept") if outcome[k][t]), "unchosen") for t in range(len(labels))]


def masking_rates(input_ids: torch.Tensor, masked_ids: torch.Tensor, labels: torch.Tensor,
                  tokenizer) -> dict[str, float]:
    """The numbers the 15% / 80-10-10 rule promises, measured: the share of real (non-special) tokens
    chosen, and of the chosen ones the shares that became [MASK], a random token, or stayed."""
    real = ~torch.isin(input_ids, torch.tensor(sorted(tokenizer.all_special_ids)))
    outcome = masking_outcomes(input_ids, masked_ids, labels, tokenizer.mask_token_id)
    n_chosen = int(outcome["chosen"].sum())
    if n_chosen == 0:
        raise ValueError("no position was chosen: pass the output of mask_tokens on rows with real tokens")
    return {"chosen": n_chosen / int(real.sum()),
            **{k: int(outcome[k].sum()) / n_chosen for k in ("mask", "random", "kept")}}


def expected_masking_rates(input_ids: torch.Tensor, tokenizer, mlm_probability: float = 0.15,
                           mask_ratio: float = 0.8, random_ratio: float = 0.1,
                           whole_word: bool = False) -> dict[str, float]:
    """What masking_rates should approach over many draws. Each unit (token, or word with whole_word)
    of a row with n real tokens in U units is drawn with probability p, and a row that drew nothing
    gets one unit anyway, so E[chosen] = p n + (1 - p)^U n / U per row: more than p on short rows."""
    real = ~torch.isin(input_ids, torch.tensor(sorted(tokenizer.all_special_ids)))   # (B, T)
    units = real & word_starts(input_ids, tokenizer) if whole_word else real
    n, U = real.sum(1).double(), units.sum(1).double()                       # (B,), (B,)
    has = U > 0
    p = mlm_probability
    chosen = (p * n[has] + (1 - p) ** U[has] * n[has] / U[has]).sum() / n[has].sum()
    return {"chosen": float(chosen), "mask": mask_ratio, "random": random_ratio,
            "kept": 1.0 - mask_ratio - random_ratio}


@plt.rc_context(PROJECTOR)
def masking_frequencies(measured: dict[str, float], expected: dict[str, float], n_tokens: int | None = None) -> Figure:
    """Measured rates (bars) against the rule's expected values (black ticks), in percent."""
    keys = ["chosen", "mask", "random", "kept"]
    labels = ["chosen\n(of real tokens)", "[MASK]\n(of chosen)", "random\n(of chosen)", "kept\n(of chosen)"]
    colours = ["#7f7f7f", OUTCOME_COLOURS["mask"], OUTCOME_COLOURS["random"], OUTCOME_COLOURS["kept"]]
    fig = Figure(figsize=(8, 4.2), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    values = [100 * measured[k] for k in keys]
    ax.bar(range(4), values, color=colours, width=0.6, label="measured")
    ax.scatter(range(4), [100 * expected[k] for k in keys], marker="_", s=1400, linewidths=3, color="black",
               zorder=3, label="expected")
    for x, (value, k) in enumerate(zip(values, keys)):
        ax.annotate(f"{value:.1f}%\n(exp. {100 * expected[k]:.1f}%)", (x, value), xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", fontsize=11)
    ax.set_xticks(range(4), labels)
    ax.set_ylim(0, 118)
    ax.set_ylabel("share (%)")
    ax.set_title("masking: measured vs expected" + (f" over {n_tokens:,} real tokens" if n_tokens else ""))
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
            ax.text(x, y + 0.38, f"was {was}", ha="center", va="center", fontsize=9, color="#555555")


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
    fig = Figure(figsize=(max(9.0, 3.2 * ncols), 0.8 * strip_rows + 1.0 + 2.6 * panel_rows), dpi=80,
                 layout="constrained")
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
                ax.annotate(f"{p:.2g}", (p, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=10)
            ax.locator_params(axis="x", nbins=3)
            ax.set_xlabel("probability")
            ax.set_title(f"position {t} ({seen[t]})\ntarget {original[t]}: p={float(probs[t, target]):.2g}, "
                         f"rank {rank:,}", fontsize=11)
    fig.suptitle("masked LM: what each position became" + (f", and the model's top-{k} guesses" if panel_rows else ""))
    return fig


def left_to_right_mask(T: int) -> torch.Tensor:
    """(T, T) bool, True where query i may attend to key j: j <= i, as in a left-to-right language model."""
    return torch.ones(T, T, dtype=torch.bool).tril()


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
        _label_ticks(ax, _check_tokens(keys, Tk, "key"), _check_tokens(queries, Tq, "query"))
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


# ---- the overview and the encoder: 00_overview, 02_transformer_encoder -------------------------------------
ARCHITECTURE_COLOURS = {"bi-LSTM": "tab:green", "Transformer encoder": "tab:blue",
                        "Transformer decoder": "tab:red", "insertion Transformer": "tab:purple"}


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
    fig = Figure(figsize=(12, 1.5 + 0.55 * len(models)), dpi=80, layout="constrained")
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
    ax.set_xlabel("date of the paper (arXiv)")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=0, label=a) for a, c in ARCHITECTURE_COLOURS.items()
               if a in {m[3] for m in models}]
    ax.legend(handles=handles, title="architecture", loc="upper right", fontsize=11)
    return fig


@plt.rc_context(PROJECTOR)
def task_heads(rows: Sequence[tuple[str, Sequence[str], Sequence[int], Sequence[int], str]]) -> Figure:
    """BERT's input and output for each kind of task, each row (task, tokens, token_type_ids, positions
    the output layer reads, what it outputs): boxes coloured by segment (A blue, B orange); the boxes
    whose final vectors feed the task's output layer are drawn bold."""
    width = max(len(tokens) for _, tokens, *_ in rows)
    fig = Figure(figsize=(0.6 + 0.62 * width, 1.2 * len(rows) + 0.5), dpi=72, layout="constrained")
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
    ax.set_title("bold: the vectors the output layer reads (blue: sentence A, orange: sentence B)", fontsize=13)
    return fig


@plt.rc_context(PROJECTOR)
def transfer_learning() -> Figure:
    """The slides' 迁移学习 in one picture: pretrain once on unlabelled text, then reuse the weights for
    every task, by fine-tuning (add a small output layer, train everything) or as frozen features."""
    fig = Figure(figsize=(14, 5.2), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    boxes = {  # name: (x, y, text, colour)
        "text": (1.0, 2.0, "unlabelled text\nBooksCorpus + Wikipedia\n3.3B words", "#eeeeee"),
        "bert": (4.6, 2.0, "pretraining\nmasked LM + next sentence\n→ one set of BERT weights", "#c6dbef"),
        "fine": (9.2, 3.3, "fine-tuning: + a small output layer,\nALL weights trained on the task\n"
                           "(sentiment, entailment, NER, QA ...)", "#fdd0a2"),
        "features": (9.2, 0.7, "feature extraction: BERT's weights frozen,\na new model trained on its vectors\n"
                               "(usually no update of the pretrained weights)", "#c7e9c0"),
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
    ax.set_title("transfer learning: pretrain once (expensive), reuse for every task (cheap)")
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


# ---- sentence classification: 08_sentence_classification --------------------------------------------------
def confusion_counts(gold: Sequence[int] | torch.Tensor, predicted: Sequence[int] | torch.Tensor,
                     num_labels: int) -> torch.Tensor:
    """(C, C) counts, row = gold class, column = predicted class: the diagonal holds the right answers
    and every other cell one kind of mistake, which a single accuracy number hides."""
    gold, predicted = torch.as_tensor(gold).long().flatten(), torch.as_tensor(predicted).long().flatten()  # (N,)
    if gold.shape != predicted.shape:
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions: pass one of each per example")
    both = torch.cat([gold, predicted])
    if ((both < 0) | (both >= num_labels)).any():
        raise ValueError(f"class ids must be in 0..{num_labels - 1} (num_labels={num_labels}), found "
                         f"{sorted(set(both[(both < 0) | (both >= num_labels)].tolist()))}")
    return torch.bincount(gold * num_labels + predicted, minlength=num_labels ** 2).view(num_labels, num_labels)


def confusion_accuracy(counts: torch.Tensor) -> float:
    """Accuracy read off a confusion matrix: the diagonal (right answers) over all examples."""
    counts = torch.as_tensor(counts)
    if counts.dim() != 2 or counts.size(0) != counts.size(1):
        raise ValueError(f"a confusion matrix is square (C, C), got shape {tuple(counts.shape)}")
    if counts.sum() <= 0:
        raise ValueError("the confusion matrix counts no examples")
    return float(counts.diagonal().sum() / counts.sum())


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
    fig = Figure(figsize=(side + 1.4, side), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(counts.numpy(), cmap="Blues", vmin=0, vmax=max(1, int(counts.max())))
    for i in range(C):
        for j in range(C):
            n = int(counts[i, j])
            ax.text(j, i, str(n), ha="center", va="center", fontsize=18,
                    color="white" if n > counts.max() / 2 else "black")
    ax.set_xticks(range(C), labels)
    ax.set_yticks(range(C), labels, rotation=90, va="center")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("gold (true) class")
    fig.colorbar(image, ax=ax, label="examples", shrink=0.8)
    right, total = int(counts.diagonal().sum()), int(counts.sum())
    ax.set_title((f"{title}\n" if title else "") + f"accuracy {accuracy:.0%} ({right} of {total} right)")
    return fig


@plt.rc_context(PROJECTOR)
def mode_comparison(modes: Sequence[str], accuracy: Sequence[float], seconds: Sequence[float],
                    trainable: Sequence[int], chance: float | None = None,
                    title: str = "full fine-tuning vs feature extraction (frozen encoder)") -> Figure:
    """Transfer modes side by side: test accuracy (%), training time (s) and trainable weights (log
    scale, since a head alone is thousands of times smaller than the encoder)."""
    n = len(modes)
    if not n or not len(accuracy) == len(seconds) == len(trainable) == n:
        raise ValueError(f"one accuracy, time and weight count per mode: got {n} modes, {len(accuracy)} "
                         f"accuracies, {len(seconds)} times and {len(trainable)} weight counts")
    if not all(0 <= a <= 1 for a in accuracy):
        raise ValueError(f"accuracies are fractions in 0..1, got {list(accuracy)}")
    fig = Figure(figsize=(13, 4.6), dpi=80, layout="constrained")
    axes = fig.subplots(1, 3)
    colours = [plt.get_cmap("tab10")(k) for k in range(n)]
    panels = [(axes[0], [100 * a for a in accuracy], "test accuracy (%)", "{:.0f}%"),
              (axes[1], list(seconds), "training time (s)", "{:.0f} s"),
              (axes[2], list(trainable), "trainable weights (log scale)", "{:,}")]
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
        axes[0].axhline(100 * chance, color="black", ls="--", lw=1.5, label=f"chance ({chance:.0%})")
        axes[0].legend(loc="upper right", fontsize=11)
    axes[2].set_yscale("log")
    axes[2].set_ylim(min(trainable) / 3, max(trainable) * 20)
    fig.suptitle(title)
    return fig


# ---- 09: named entities: 09_ner ------------------------------------------------------------------------------
ENTITY_COLOURS = {"PER": "#fbb4ae", "ORG": "#b3cde3", "LOC": "#ccebc5", "MISC": "#decbe4"}  # CoNLL-2003's types
OTHER_ENTITY_COLOUR = "#fed9a6"   # any other type a user's data brings
MISTAKE_COLOUR = "#d62728"


def entity_colour(kind: str) -> str:
    """One colour per entity type, the same in every NER figure and table."""
    return ENTITY_COLOURS.get(kind, OTHER_ENTITY_COLOUR)


def _tag_colour(tag: str) -> str:
    return "white" if tag == "O" else entity_colour(tag[2:])


@plt.rc_context(PROJECTOR)
def label_alignment(words: Sequence[str], tags: Sequence[str], tokens: Sequence[str],
                    word_ids: Sequence[int | None], labels: Sequence[int]) -> Figure:
    """How word tags become token labels: the words (with their tags) on top, the WordPiece tokens
    below, an arrow from each word to its first sub-token, and under every token its training label:
    the word's tag on the first sub-token, -100 (ignored by the loss) on the rest and on [CLS]/[SEP].
    Pass what `encode_words` and `align_labels` returned, so the picture shows the package's own rule."""
    from .tasks.ner import TAGS

    T = len(tokens)
    if not len(word_ids) == len(labels) == T:
        raise ValueError(f"{T} tokens, {len(word_ids)} word ids and {len(labels)} labels: pass one word id and "
                         "one label per token (encode_words' word_ids and align_labels' output)")
    if len(words) != len(tags) or sorted({w for w in word_ids if w is not None}) != list(range(len(words))):
        raise ValueError(f"{len(words)} words with {len(tags)} tags, but the word ids cover "
                         f"{len({w for w in word_ids if w is not None})} words: pass one tag per word and the "
                         "word_ids encode_words gave for these very words")
    fig = Figure(figsize=(min(22.0, 1.6 + 0.8 * T), 3.2), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    box = {"boxstyle": "round,pad=0.25", "edgecolor": "#555555"}
    for w, (word, tag) in enumerate(zip(words, tags)):
        span = [k for k, i in enumerate(word_ids) if i == w]                 # the word's sub-token positions
        ax.add_patch(Rectangle((span[0] - 0.45, 1.1), len(span) - 0.1, 0.9, facecolor=_tag_colour(tag),
                               edgecolor="#555555", lw=1.2, gid=f"word-box-{w}"))
        ax.text((span[0] + span[-1]) / 2, 1.7, word, ha="center", va="center", fontsize=13, gid=f"word-{w}")
        ax.text((span[0] + span[-1]) / 2, 1.33, tag, ha="center", va="center", fontsize=11, color="#333333")
        ax.annotate("", (span[0], 0.3), (span[0], 1.08), arrowprops={"arrowstyle": "-|>", "color": "#333333"})
    for k, (token, label) in enumerate(zip(tokens, labels)):
        special = word_ids[k] is None
        ax.text(k, 0, token, ha="center", va="center", fontsize=12, rotation=90 if len(token) > 9 else 0,
                gid=f"token-{k}", bbox={**box, "facecolor": "#dddddd" if special else "white"})
        ignored = label == IGNORE
        ax.text(k, -0.75, str(IGNORE) if ignored else TAGS[label], ha="center", va="center", gid=f"label-{k}",
                fontsize=11, color="#999999" if ignored else "black", fontstyle="italic" if ignored else "normal",
                bbox=None if ignored else {**box, "facecolor": _tag_colour(TAGS[label])})
    for y, name in ((1.55, "words\n(+ tag)"), (0.0, "WordPiece\ntokens"), (-0.75, "training\nlabel")):
        ax.text(-0.75, y, name, ha="right", va="center", fontsize=11, fontweight="bold")
    ax.set_xlim(-2.4, T - 0.4)
    ax.set_ylim(-1.15, 2.1)
    ax.set_axis_off()
    ax.set_title("each word's tag goes on its first sub-token; -100 (ignored by the loss) everywhere else",
                 fontsize=13)
    return fig


@plt.rc_context(PROJECTOR)
def tag_probabilities(probabilities: torch.Tensor, tokens: Sequence[str], labels: Sequence[int],
                      tags: Sequence[str] | None = None) -> Figure:
    """The per-token head at work on one sentence: one row per token, the softmax of its tag logits
    (the same dense layer for every row). `labels` are the token labels of `align_labels`: rows with a
    label (first sub-tokens, black names) are what the loss and the evaluation read, with the gold tag
    dotted; the others (grey, -100) get logits too, but nobody reads them. Boxes: the argmax."""
    from .tasks.ner import TAGS

    tags = list(TAGS if tags is None else tags)
    p = torch.as_tensor(probabilities).detach().float()                      # (T, C)
    if p.dim() != 2 or p.size(1) != len(tags):
        raise ValueError(f"probabilities must be (T, {len(tags)}): one row per token, one column per tag; got "
                         f"{tuple(p.shape)} (take logits[0].softmax(-1) of one sentence)")
    tokens = _check_tokens(tokens, p.size(0), "token")
    if len(labels) != p.size(0) or any(not (label == IGNORE or 0 <= label < len(tags)) for label in labels):
        raise ValueError(f"pass one label per token ({p.size(0)}), each a tag id or {IGNORE}: align_labels' output")
    T, C = p.shape
    scored = [label != IGNORE for label in labels]
    fig = Figure(figsize=(3.2 + 0.75 * C, 1.8 + 0.32 * T), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(p.numpy(), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    for t, c in enumerate(p.argmax(-1).tolist()):
        ax.add_patch(Rectangle((c - 0.5, t - 0.5), 1, 1, fill=False, lw=2.0 if scored[t] else 1.0,
                               edgecolor="black" if scored[t] else "#999999", ls="-" if scored[t] else ":"))
    rows = [t for t in range(T) if scored[t]]
    ax.plot([labels[t] for t in rows], rows, "o", color="#ff7f0e", ms=8, mec="white", lw=0, label="gold tag",
            gid="gold")
    ax.set_xticks(range(C), tags, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(T), tokens)
    for label, counted in zip(ax.get_yticklabels(), scored):
        label.set_color("black" if counted else "#aaaaaa")
        label.set_fontweight("bold" if counted else "normal")
    for label, tag in zip(ax.get_xticklabels(), tags):
        label.set_backgroundcolor(_tag_colour(tag))
    ax.set_xlabel("tag")
    ax.set_ylabel("token (grey: label -100, ignored)")
    ax.set_title("tag probabilities per token (box: argmax)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=11, frameon=False)
    fig.colorbar(image, ax=ax, label="probability (softmax over tags)", shrink=0.8)
    return fig


@plt.rc_context(PROJECTOR)
def entity_f1_bars(runs: dict[str, dict]) -> Figure:
    """Entity F1 per type, and over all entities (micro average), one bar colour per run; under each type
    the number of gold entities it has (few entities: a noisy score). `runs` maps a name to
    `entity_scores(...)`."""
    if not runs or any("per_type" not in s or "f1" not in s for s in runs.values()):
        raise ValueError("pass {run name: entity_scores(y_true, y_pred)}, at least one run")
    kinds = sorted({k for s in runs.values() for k in s["per_type"]})
    support = {k: max(s["per_type"].get(k, {}).get("support", 0) for s in runs.values()) for k in kinds}
    groups = [*kinds, "all"]
    n = len(runs)
    width = 0.8 / n
    fig = Figure(figsize=(3.5 + 1.3 * len(groups) * max(1, n / 2), 4.6), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    for j, (name, scores) in enumerate(runs.items()):
        values = [100 * scores["per_type"].get(k, {}).get("f1", 0.0) for k in kinds] + [100 * scores["f1"]]
        xs = [g + (j - (n - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, values, width * 0.92, color=plt.get_cmap("tab10")(j), label=name, gid=f"run-{j}")
        for x, value in zip(xs, values):
            ax.annotate(f"{value:.0f}", (x, value), xytext=(0, 3), textcoords="offset points", ha="center",
                        va="bottom", fontsize=11)
    ax.set_xticks(range(len(groups)), [f"{k}\n({support[k]} gold)" for k in kinds]
                  + [f"all\n({sum(support.values())} gold)"])
    for label, kind in zip(ax.get_xticklabels(), groups):
        label.set_backgroundcolor(entity_colour(kind) if kind != "all" else "white")
    ax.axvline(len(kinds) - 0.5, color="#999999", lw=1, ls=":")
    ax.set_ylim(0, 112)
    ax.set_ylabel("entity F1 (%)")
    ax.set_title("entity-level F1 per type (an entity counts only if its type and both ends are right)")
    if n > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=11)
    return fig


def _entity_line(words: Sequence[str], tags: Sequence[str], other: Sequence[str] | None, mistake: str) -> str:
    """One sentence as HTML: each entity a coloured box with its type; an entity absent from `other`
    gets a red border (`mistake`: 'wrong' for predictions, 'missed' for gold entities)."""
    from html import escape

    from .tasks.ner import entities

    found = entities(tags)
    elsewhere = None if other is None else set(entities(other))
    starts = {start: (kind, end) for kind, start, end in found}
    parts, i = [], 0
    while i < len(words):
        if i not in starts:
            parts.append(escape(words[i]))
            i += 1
            continue
        kind, end = starts[i]
        bad = elsewhere is not None and (kind, i, end) not in elsewhere
        border = f"2px {'solid' if mistake == 'wrong' else 'dashed'} {MISTAKE_COLOUR}" if bad else "1px solid #888"
        parts.append(f'<span class="entity{" " + mistake if bad else ""}" data-type="{escape(kind)}" '
                     f'style="background:{entity_colour(kind)}; border:{border}; border-radius:4px; '
                     f'padding:1px 4px; line-height:2">{escape(" ".join(words[i:end]))} '
                     f'<sub style="font-size:70%; font-weight:bold">{escape(kind)}</sub></span>')
        i = end
    return " ".join(parts)


def tagged_sentences(words: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                     gold: Sequence[Sequence[str]] | None = None):
    """Sentences with their entities highlighted, one colour per type; with `gold`, the gold line above
    the predicted one, a red solid border on a predicted entity that is wrong (type or ends) and a red
    dashed border on a gold entity the model missed. Returns an IPython HTML object (`.data`: the HTML)."""
    from IPython.display import HTML

    if len(predicted) != len(words) or (gold is not None and len(gold) != len(words)):
        raise ValueError(f"{len(words)} sentences but {len(predicted)} predicted"
                         + ("" if gold is None else f" and {len(gold)} gold") + " tag sequences: pass one per sentence")
    for i, sentence in enumerate(words):
        if len(predicted[i]) != len(sentence) or (gold is not None and len(gold[i]) != len(sentence)):
            raise ValueError(f"sentence {i} has {len(sentence)} words but not as many tags: one tag per word")
    legend = " ".join(f'<span style="background:{c}; border-radius:4px; padding:1px 6px">{k}</span>'
                      for k, c in ENTITY_COLOURS.items())
    if gold is not None:
        legend += (f' &nbsp; <span style="border:2px solid {MISTAKE_COLOUR}; padding:1px 4px">wrong prediction</span>'
                   f' <span style="border:2px dashed {MISTAKE_COLOUR}; padding:1px 4px">missed gold entity</span>')
    rows = []
    for i, sentence in enumerate(words):
        if gold is not None:
            rows.append(f'<tr><td style="color:#666; text-align:right">gold</td>'
                        f'<td style="text-align:left">{_entity_line(sentence, gold[i], predicted[i], "missed")}</td></tr>')
        rows.append(f'<tr style="border-bottom:1px solid #ddd"><td style="color:#666; text-align:right">'
                    f'{"predicted" if gold is not None else ""}</td><td style="text-align:left">'
                    f'{_entity_line(sentence, predicted[i], None if gold is None else gold[i], "wrong")}</td></tr>')
    return HTML(f'<div style="font-size:15px">{legend}<table style="border-collapse:collapse; margin-top:6px">'
                + "".join(rows) + "</table></div>")


# ---- 06/07/11: pretraining and semantic similarity: 06_next_sentence, 07_pretraining, 11_semantic_similarity --
# Crisp (not antialiased) text, and lines where a curve is noisy: the PNGs come out 3-6x smaller, under the
# notebooks' 100 kB per output, and still read well on a projector.
CRISP = {**PROJECTOR, "text.antialiased": False}

def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over the last `window` values (fewer at the start): per-batch numbers are noisy."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def _check_history(history, keys: Sequence[str], part: str) -> None:
    table = getattr(history, part, None)
    missing = [k for k in keys if not isinstance(table, dict) or k not in table]
    if missing:
        raise ValueError(f"history.{part} has no {missing}: pass the History of a Trainer run that had "
                         "eval_data, and the metrics function that computes them")


@plt.rc_context({**CRISP, "lines.antialiased": False})
def pretraining_curves(history, baselines: dict[str, float], window: int = 10) -> Figure:
    """MLM + NSP pretraining, one panel per number: loss, MLM accuracy, NSP accuracy against the step.
    Training is per batch (thin) with a moving average (thick); held-out is drawn with markers; each
    accuracy gets the baseline it must beat (dashed): always guessing the most frequent token (MLM),
    always guessing the more frequent class (NSP)."""
    names = {"loss": "loss (MLM + NSP)", "mlm_accuracy": "MLM accuracy (%)", "nsp_accuracy": "NSP accuracy (%)"}
    baseline_names = {"loss": "uniform guess", "mlm_accuracy": "most frequent token", "nsp_accuracy": "majority class"}
    _check_history(history, ["step", *names], "train")
    _check_history(history, ["step", *names], "eval")
    fig = Figure(figsize=(13, 4), dpi=80, layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (key, label) in zip(axes, names.items()):
        scale = 1 if key == "loss" else 100
        train = [scale * v for v in history.train[key]]
        ax.plot(history.train["step"], train, color="#b5cfe6", lw=0.8)
        ax.plot(history.train["step"], moving_average(train, window), color="tab:blue", lw=2.5,
                label=f"train (mean of {window} batches)")
        ax.plot(history.eval["step"], [scale * v for v in history.eval[key]], "o-", color="tab:red", lw=2,
                ms=7, label="held-out")
        if key in baselines:
            ax.axhline(scale * baselines[key], color="black", ls="--", lw=1.5, label=f"{baseline_names[key]} "
                       f"({scale * baselines[key]:.1f}{'' if key == 'loss' else '%'})")
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
        ax.legend(fontsize=10)
    axes[0].set_title("loss")
    axes[1].set_title("masked LM: chosen tokens right")
    axes[2].set_title("next sentence: pairs right")
    return fig


@plt.rc_context(CRISP)
def learning_curves(runs: dict[str, object], metric: str | None = "accuracy", window: int = 5,
                    chance: float | None = None) -> Figure:
    """Several fine-tuning runs on the same axes, one colour per run: the loss (training: moving
    average, dashed; dev: solid with markers) and, if `metric` is given, the dev metric against the step
    (with the `chance` level dashed). Whichever curve moves first converged faster; the distance between
    a run's dashed and solid loss is its train/dev gap."""
    if not runs:
        raise ValueError("pass at least one run: {name: history}")
    for history in runs.values():
        _check_history(history, ["step", "loss"], "train")
        _check_history(history, ["step", "loss"] + ([metric] if metric else []), "eval")
    fig = Figure(figsize=(13 if metric else 7, 4.6), dpi=80, layout="constrained")
    axes = fig.subplots(1, 2 if metric else 1, squeeze=False)[0]
    for k, (name, history) in enumerate(runs.items()):
        colour = plt.get_cmap("tab10")(k)
        axes[0].plot(history.train["step"], moving_average(history.train["loss"], window), "--", color=colour,
                     lw=2, label=f"{name}: train")
        axes[0].plot(history.eval["step"], history.eval["loss"], "o-", color=colour, lw=2.5, ms=6,
                     label=f"{name}: dev")
        if metric:
            axes[1].plot(history.eval["step"], [100 * v for v in history.eval[metric]], "o-", color=colour,
                         lw=2.5, ms=6, label=name)
    axes[0].set_ylabel("loss")
    axes[0].set_title(f"loss (train: mean of {window} batches)")
    if metric:
        if chance is not None:
            axes[1].axhline(100 * chance, color="black", ls="--", lw=1.5, label=f"chance ({chance:.0%})")
        axes[1].set_ylabel(f"dev {metric} (%)")
        axes[1].set_title(f"dev {metric}")
    for ax in axes:
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=10)
    return fig


@plt.rc_context(CRISP)
def split_gap(scores: dict[str, dict[str, float]], metric: str = "accuracy",
              splits: tuple[str, str] = ("train", "dev")) -> Figure:
    """Per run, the metric on the training split beside a held-out split (grouped bars, in %), the gap
    written above each pair: how much of what was learned does not carry over (overfitting)."""
    missing = [(run, s) for run, by_split in scores.items() for s in splits
               if s not in by_split or metric not in by_split[s]]
    if not scores or missing:
        raise ValueError(f"need {metric} on the splits {list(splits)} for every run; missing {missing}: "
                         f"call finetune(..., splits={tuple(splits)})")
    runs = list(scores)
    fig = Figure(figsize=(3 + 2.6 * len(runs), 4.6), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    width = 0.38
    for j, (split, colour) in enumerate(zip(splits, ("tab:gray", "tab:green"))):
        values = [100 * scores[run][split][metric] for run in runs]
        ax.bar([i + (j - 0.5) * width for i in range(len(runs))], values, width, color=colour, label=split)
        for i, value in enumerate(values):
            ax.annotate(f"{value:.1f}", (i + (j - 0.5) * width, value), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=11)
    for i, run in enumerate(runs):
        gap = 100 * (scores[run][splits[0]][metric] - scores[run][splits[1]][metric])
        ax.annotate(f"gap {gap:+.1f} points", (i, 113), ha="center", fontsize=12, fontweight="bold")
    ax.set_xticks(range(len(runs)), runs)
    ax.set_ylim(0, 122)
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(f"{metric}: {splits[0]} vs {splits[1]}")
    ax.legend(loc="lower right", fontsize=11)
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
    fig = Figure(figsize=(5.5 + 0.62 * N, 3.5 + 0.55 * N), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(sim.numpy(), cmap="viridis", vmin=min(0.0, float(sim.min())), vmax=1.0)
    for i in range(N):
        for j in range(N):
            ax.text(j, i, f"{sim[i, j]:.2f}", ha="center", va="center", fontsize=10,
                    color="black" if sim[i, j] > 0.6 else "white")
    ax.set_xticks(range(N), labels, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(N), labels)
    ax.set_title("cosine similarity of the sentence embeddings")
    fig.colorbar(image, ax=ax, label="cosine similarity", shrink=0.8)
    return fig


@plt.rc_context(CRISP)
def score_scatter(gold: torch.Tensor, predictions: dict[str, torch.Tensor],
                  ylabels: dict[str, str] | None = None) -> Figure:
    """One panel per method: its score for each sentence pair against the gold similarity (0-5), with
    Pearson's r (linear fit) and Spearman's rho (same order) in the title, as STS-B reports them."""
    from .tasks.classification import pearson, spearman

    gold = torch.as_tensor(gold).float().flatten()                                # (N,)
    if not predictions:
        raise ValueError("pass at least one method: {name: predicted scores}")
    for name, values in predictions.items():
        if torch.as_tensor(values).numel() != len(gold):
            raise ValueError(f"{name!r}: {torch.as_tensor(values).numel()} predictions for {len(gold)} gold scores")
    fig = Figure(figsize=(5.2 * len(predictions), 4.8), dpi=80, layout="constrained")
    axes = fig.subplots(1, len(predictions), squeeze=False)[0]
    for k, (ax, (name, values)) in enumerate(zip(axes, predictions.items())):
        values = torch.as_tensor(values).detach().float().flatten()               # (N,)
        ax.scatter(gold.numpy(), values.numpy(), s=36, alpha=0.75, color=plt.get_cmap("tab10")(k))
        ax.set_xlabel("gold similarity (0-5)")
        ax.set_ylabel((ylabels or {}).get(name, "predicted score"))
        ax.set_title(f"{name}\nPearson r = {pearson(values, gold):.3f}, Spearman ρ = {spearman(values, gold):.3f}",
                     fontsize=13)
        ax.grid(alpha=0.3)
    return fig


@plt.rc_context(CRISP)
def score_histograms(scores: dict[str, torch.Tensor], threshold: float | None = None,
                     xlabel: str = "score", title: str | None = None, bins: int = 30) -> Figure:
    """Overlaid histograms of one score for each class (e.g. IsNext vs NotNext), with the cut that
    separates them best: how far apart the classes lie is what a one-threshold classifier can use."""
    if not scores or any(torch.as_tensor(v).numel() == 0 for v in scores.values()):
        raise ValueError("pass {class name: its scores}, each with at least one score")
    values = {name: torch.as_tensor(v).detach().float().flatten() for name, v in scores.items()}
    every = torch.cat(list(values.values()))
    edges = torch.linspace(float(every.min()), float(every.max()), bins + 1).numpy()
    fig = Figure(figsize=(8.5, 4.6), dpi=80, layout="constrained")
    ax = fig.subplots()
    for k, (name, v) in enumerate(values.items()):
        ax.hist(v.numpy(), bins=edges, alpha=0.55, color=plt.get_cmap("tab10")(k), label=f"{name} ({len(v)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=2, label=f"threshold {threshold:.2f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("number of examples")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=11)
    ax.grid(alpha=0.3)
    return fig


# ---- 10: question answering: 10_question_answering ---------------------------------------------------------
SPAN_COLOURS = {"gold": "tab:green", "predicted": "tab:orange"}


def span_probabilities(start_probs: torch.Tensor, end_probs: torch.Tensor, tokens: Sequence[str],
                       gold: tuple[int, int] | None = None, predicted: tuple[int, int] | None = None,
                       title: str | None = None) -> Figure:
    """P(start = i) and P(end = i) as bars over the tokens, gold and predicted spans shaded behind them:
    the answer is read off where the two peaks sit, so both plots share one token axis."""
    start_probs, end_probs = torch.as_tensor(start_probs).float(), torch.as_tensor(end_probs).float()
    if start_probs.dim() != 1 or start_probs.shape != end_probs.shape:
        raise ValueError(f"start_probs {tuple(start_probs.shape)} and end_probs {tuple(end_probs.shape)} must both "
                         "be (T,): the probabilities of one window")
    tokens = _check_tokens(tokens, len(start_probs), "start_probs")
    for name, span in (("gold", gold), ("predicted", predicted)):
        if span is not None and not 0 <= span[0] <= span[1] < len(tokens):
            raise ValueError(f"{name} span {span} must be (first, last) token indices with first <= last < {len(tokens)}")
    fig, axes = plt.subplots(2, 1, figsize=(min(14.0, max(8.0, 0.1 * len(tokens))), 5.5), dpi=80, sharex=True)
    for ax, probs, name in zip(axes, (start_probs, end_probs), ("start", "end")):
        ax.bar(range(len(tokens)), probs.tolist(), color="tab:blue", width=0.8)
        for kind, span in (("gold", gold), ("predicted", predicted)):
            if span is not None:
                ax.axvspan(span[0] - 0.5, span[1] + 0.5, color=SPAN_COLOURS[kind], alpha=0.25, label=f"{kind} span")
        ax.set_ylabel(f"P({name} = i)", fontsize=13)
        ax.set_ylim(0, 1)
        if gold is not None or predicted is not None:
            ax.legend(loc="upper right", fontsize=11)
    axes[1].set_xticks(range(len(tokens)))
    axes[1].set_xticklabels(tokens, rotation=90, fontsize=9 if len(tokens) <= 80 else 7)
    axes[1].set_xlabel("token i of the input ([CLS] question [SEP] passage [SEP])", fontsize=12)
    if title:
        axes[0].set_title(title, fontsize=13)
    fig.tight_layout()
    return fig
