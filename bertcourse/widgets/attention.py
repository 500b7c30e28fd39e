"""The attention explorer (01_self_attention, 04_bert_architecture): type a sentence (or a pair), pick a
layer and a head, see who attends to whom.

The picture is HTML (a table of coloured cells, token names as headers) rather than a matplotlib PNG:
64 tick labels alone cost matplotlib ~200 ms a redraw, the table costs a few ms and gives exact
weights on hover. The colours are the same viridis scale, 0..1, as the figures in viz/attention.py.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import NamedTuple

import ipywidgets as widgets
import torch
from PIL import Image

from ..tokenizer import SPECIAL_TOKENS, BertTokenizer
from ..viz.attention import KEY_LABEL, QUERY_LABEL, attention_stack
from .common import VIRIDIS, colour_legend, error_html, grid_html
from .threads import widget_threads

ALL_HEADS = "all"


class Link(NamedTuple):
    head: int
    query: int
    key: int
    weight: float


def strongest_links(weights: torch.Tensor, k: int = 8, skip: Sequence[int] = ()) -> list[Link]:
    """The k largest weights of (nh, T, T) attention as (head, query, key, weight), largest first;
    positions in `skip` (e.g. [CLS]/[SEP], where many heads park their attention) are left out."""
    if weights.dim() != 3:
        raise ValueError(f"expected (heads, T, T) weights, got shape {tuple(weights.shape)}")
    n_heads, T, _ = weights.shape
    w = weights.detach().float().clone()
    w[:, list(skip), :] = -1.0
    w[:, :, list(skip)] = -1.0
    values, flat = w.flatten().topk(min(k, w.numel()))
    return [Link(i // (T * T), i // T % T, i % T, v) for v, i in zip(values.tolist(), flat.tolist()) if v >= 0]


def heatmap_html(weights: torch.Tensor, query_tokens: Sequence[str], key_tokens: Sequence[str],
                 cell_px: int = 20) -> str:
    """One head as an HTML table: rows are queries, columns keys; hovering a cell shows its weight."""
    return grid_html(weights, query_tokens, key_tokens, weights, "{row} → {column}: {value:.3f}",  # (Tq, Tk)
                     f"{QUERY_LABEL} ↓ · {KEY_LABEL} →", colour_legend(), cell_px)


def heads_html(weights: torch.Tensor, tokens: Sequence[str], columns: int = 4, size_px: int = 150) -> str:
    """Every head of a layer as a small picture (no labels: compare the shapes), same colour scale."""
    weights = weights.detach().float()                                      # (nh, T, T)
    n_heads, T, _ = weights.shape
    scale = max(1, size_px // T)
    pictures = []
    for h in range(n_heads):
        rgb = VIRIDIS(weights[h].clamp(0, 1).numpy(), bytes=True)[..., :3]
        png = io.BytesIO()
        Image.fromarray(rgb).resize((T * scale, T * scale), Image.NEAREST).save(png, format="png")
        data = base64.b64encode(png.getvalue()).decode()
        pictures.append(f"<figure style='margin:4px'><figcaption>头 {h}</figcaption>"
                        f"<img src='data:image/png;base64,{data}' alt='头 {h}'></figure>")
    order = html.escape(" ".join(tokens))
    return (f"<div style='font-size:14px'><div style='display:grid;grid-template-columns:repeat({columns},auto);"
            f"justify-content:start'>{''.join(pictures)}</div>"
            f"<div>行是查询 (query)，列是键 (key)，顺序都是 <i>{order}</i></div>{colour_legend()}</div>")


class AttentionExplorer(widgets.VBox):
    """Type one or two sentences, pick a layer and a head: the model runs once per text change and
    keeps the attentions, so moving between layers and heads only redraws."""

    def __init__(self, model: torch.nn.Module, tokenizer: BertTokenizer, text: str, pair: str = "",
                 top_k: int = 8):
        cfg = model.config
        self.model, self.tokenizer, self.top_k = model, tokenizer, top_k
        self.model_runs = 0                                                 # tests check the caching
        self.tokens: list[str] = []
        self.attentions = torch.empty(0)                                    # (L, nh, T, T)
        box = widgets.Layout(width="48%")
        self.text = widgets.Text(text, description="句子 A", continuous_update=False, layout=box)
        self.pair = widgets.Text(pair, description="句子 B", placeholder="（可选）",
                                 continuous_update=False, layout=box)
        self.layer = widgets.IntSlider(0, min=0, max=cfg.num_hidden_layers - 1, description="层",
                                       continuous_update=False)
        self.head = widgets.Dropdown(options=[("所有头", ALL_HEADS)] + [(f"头 {h}", h) for h in
                                                                      range(cfg.num_attention_heads)],
                                     value=ALL_HEADS, description="头")  # start from the overview
        self.hide_special = widgets.Checkbox(True, description="最强连接里不算 [CLS]/[SEP]", indent=False)
        self.status = widgets.HTML()
        self.picture = widgets.HTML(layout=widgets.Layout(height="640px", width="68%", overflow="auto"))
        self.links = widgets.HTML(layout=widgets.Layout(height="640px", width="30%", overflow="auto"))
        self.text.observe(self.encode, "value")
        self.pair.observe(self.encode, "value")
        for control in (self.layer, self.head, self.hide_special):
            control.observe(self.draw, "value")
        super().__init__([widgets.HBox([self.text, self.pair]),
                          widgets.HBox([self.layer, self.head, self.hide_special]), self.status,
                          widgets.HBox([self.picture, self.links])])
        self.encode()

    def encode(self, change: dict | None = None) -> str:
        """Tokenise the sentence(s) and run the model once; then draw. Bad input is shown, not raised."""
        try:
            enc = self.tokenizer.encode(self.text.value, self.pair.value.strip() or None, max_length=128)
        except ValueError as error:
            self.status.value = error_html(error)
            return self.status.value
        with torch.no_grad(), widget_threads():
            out = self.model(input_ids=torch.tensor([enc.input_ids]),
                             token_type_ids=torch.tensor([enc.token_type_ids]), output_attentions=True)
        self.model_runs += 1
        self.tokens, self.attentions = enc.tokens, attention_stack(out.attentions)  # (L, nh, T, T)
        self.status.value = f"{len(enc.tokens)} 个词元" + ("（截断到 128 个）" if len(enc.tokens) == 128 else "")
        return self.draw()

    def draw(self, change: dict | None = None) -> str:
        """Redraw the picture and the strongest links from the cached attentions; return the picture."""
        if not self.tokens:                                                 # no valid text yet
            return self.picture.value
        layer, head = self.layer.value, self.head.value
        weights = self.attentions[layer]                                    # (nh, T, T)
        if head == ALL_HEADS:
            self.picture.value = heads_html(weights, self.tokens)
        else:
            self.picture.value = heatmap_html(weights[head], self.tokens, self.tokens)
            weights = weights[head:head + 1]
        skip = [i for i, t in enumerate(self.tokens) if t in SPECIAL_TOKENS] if self.hide_special.value else []
        found = strongest_links(weights, self.top_k, skip)
        lines = [f"{w:.2f}  {'' if head != ALL_HEADS else f'头{h:<2} '}{self.tokens[q]} → {self.tokens[k]}"
                 for h, q, k, w in found]
        where = f"第 {layer} 层，" + ("所有头" if head == ALL_HEADS else f"头 {head}")
        self.links.value = (f"<b>最强的连接（{where}）</b><pre style='font-size:14px'>"
                            + html.escape("\n".join(lines)) + "</pre>")
        return self.picture.value


def attention_explorer(model: torch.nn.Module | None = None, tokenizer: BertTokenizer | None = None,
                       text: str = "The animal didn't cross the street because it was too tired.",
                       pair: str = "") -> AttentionExplorer:
    """The attention explorer on the packaged MiniLM (or any BERT of this package and its tokenizer)."""
    if (model is None) != (tokenizer is None):
        raise ValueError("pass both a model and its tokenizer, or neither (for the packaged MiniLM)")
    if model is None:
        from ..checkpoints import load_pretrained
        model, tokenizer = load_pretrained(), BertTokenizer.from_pretrained()
    return AttentionExplorer(model, tokenizer, text, pair)
