"""Interactive apps for the notebooks (ipywidgets 8, JupyterLab 4). Each callback returns what it drew,
so the apps are tested by setting `.value` without a browser."""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import NamedTuple

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from matplotlib import colormaps
from PIL import Image

from .pretraining import expected_masking_rates, mask_tokens, masking_rates, outcome_names
from .tokenizer import SPECIAL_TOKENS, BertTokenizer
from .tasks.qa import Span, decode_spans, make_windows
from .viz.attention import attention_stack
from .viz.inputs import OUTCOME_COLOURS, OUTCOME_LABELS, masking_frequencies
from .viz.qa import span_probabilities


# ---- attention explorer: 01_self_attention, 04_bert_architecture ---------------------------------------
# The picture is HTML (a table of coloured cells, token names as headers) rather than a matplotlib PNG:
# 64 tick labels alone cost matplotlib ~200 ms a redraw, the table costs a few ms and gives exact
# weights on hover. The colours are the same viridis scale, 0..1, as the figures in viz/attention.py.

ALL_HEADS = "all"
VIRIDIS = colormaps["viridis"]


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


def _hex_colours(weights: torch.Tensor) -> list[list[str]]:
    rgb = VIRIDIS(weights.clamp(0, 1).numpy(), bytes=True)[..., :3]        # (Tq, Tk, 3) uint8
    return [["#%02x%02x%02x" % tuple(px) for px in row] for row in rgb.tolist()]


def heatmap_html(weights: torch.Tensor, query_tokens: Sequence[str], key_tokens: Sequence[str],
                 cell_px: int = 20) -> str:
    """One head as an HTML table: rows are queries, columns keys; hovering a cell shows its weight."""
    weights = weights.detach().float()                                      # (Tq, Tk)
    q = [html.escape(t) for t in query_tokens]
    k = [html.escape(t) for t in key_tokens]
    colours = _hex_colours(weights)
    head = "".join(f"<th class=k><div>{t}</div></th>" for t in k)
    rows = "".join(
        f"<tr><th class=q>{q[i]}</th>"
        + "".join(f'<td style="background:{c}" title="{q[i]} → {k[j]}: {w:.3f}"></td>'
                  for j, (c, w) in enumerate(zip(colours[i], weights[i].tolist())))
        + "</tr>" for i in range(len(q)))
    return (f"<style>.bc-att td{{width:{cell_px}px;height:{cell_px}px;padding:0}} .bc-att th{{font-weight:normal;"
            "padding:0 4px;white-space:nowrap}} .bc-att th.k{padding:4px 0;vertical-align:bottom}"
            " .bc-att th.k div{writing-mode:vertical-rl;transform:rotate(180deg);line-height:1}"
            " .bc-att th.q{text-align:right}</style>"
            "<div style='font-size:14px'><b>query (attending) ↓ · key (attended to) →</b>"
            f"<table class=bc-att style='border-collapse:collapse'><tr><th></th>{head}</tr>{rows}</table>"
            f"{_colour_legend()}</div>")


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
        pictures.append(f"<figure style='margin:4px'><figcaption>head {h}</figcaption>"
                        f"<img src='data:image/png;base64,{data}' alt='head {h}'></figure>")
    order = html.escape(" ".join(tokens))
    return (f"<div style='font-size:14px'><div style='display:grid;grid-template-columns:repeat({columns},auto);"
            f"justify-content:start'>{''.join(pictures)}</div>"
            f"<div>rows: query, columns: key, both in the order <i>{order}</i></div>{_colour_legend()}</div>")


def _colour_legend() -> str:
    stops = ",".join("#%02x%02x%02x" % tuple(VIRIDIS(x / 4, bytes=True)[:3]) for x in range(5))
    return ("<div style='display:flex;align-items:center;gap:6px;margin-top:6px'>attention weight 0"
            f"<span style='display:inline-block;width:160px;height:12px;background:linear-gradient(to right,{stops})'>"
            "</span>1</div>")


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
        self.text = widgets.Text(text, description="sentence A", continuous_update=False, layout=box)
        self.pair = widgets.Text(pair, description="sentence B", placeholder="(optional)",
                                 continuous_update=False, layout=box)
        self.layer = widgets.IntSlider(0, min=0, max=cfg.num_hidden_layers - 1, description="layer",
                                       continuous_update=False)
        self.head = widgets.Dropdown(options=[("all heads", ALL_HEADS)] + [(f"head {h}", h) for h in
                                                                          range(cfg.num_attention_heads)],
                                     value=ALL_HEADS, description="head")  # start from the overview
        self.hide_special = widgets.Checkbox(True, description="links: skip [CLS]/[SEP]", indent=False)
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
            self.status.value = f"<span style='color:#b00'>⚠ {html.escape(str(error))}</span>"
            return self.status.value
        with torch.no_grad():
            out = self.model(input_ids=torch.tensor([enc.input_ids]),
                             token_type_ids=torch.tensor([enc.token_type_ids]), output_attentions=True)
        self.model_runs += 1
        self.tokens, self.attentions = enc.tokens, attention_stack(out.attentions)  # (L, nh, T, T)
        self.status.value = f"{len(enc.tokens)} tokens" + (" (cut to 128)" if len(enc.tokens) == 128 else "")
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
        lines = [f"{w:.2f}  {'' if head != ALL_HEADS else f'h{h:<2} '}{self.tokens[q]} → {self.tokens[k]}"
                 for h, q, k, w in found]
        where = f"layer {layer}, " + ("all heads" if head == ALL_HEADS else f"head {head}")
        self.links.value = (f"<b>strongest links ({where})</b><pre style='font-size:14px'>"
                            + html.escape("\n".join(lines)) + "</pre>")
        return self.picture.value


def attention_explorer(model: torch.nn.Module | None = None, tokenizer: BertTokenizer | None = None,
                       text: str = "The animal didn't cross the street because it was too tired.",
                       pair: str = "") -> AttentionExplorer:
    """The attention explorer on the packaged MiniLM (or any BERT of this package and its tokenizer)."""
    if (model is None) != (tokenizer is None):
        raise ValueError("pass both a model and its tokenizer, or neither (for the packaged MiniLM)")
    if model is None:
        from .checkpoints import load_pretrained
        model, tokenizer = load_pretrained(), BertTokenizer.from_pretrained()
    return AttentionExplorer(model, tokenizer, text, pair)


# ---- masking playground: 05_masked_lm --------------------------------------------------------------------
# One draw of mask_tokens on the sentence, token by token, and the rates over many draws of it against
# the expected values. The rule itself is only ever mask_tokens: the sliders are its parameters.

class MaskingDraw(NamedTuple):
    tokens: list[str]              # the sentence as the tokenizer cut it, [CLS] ... [SEP]
    became: list[str]              # what the model sees at each position after this draw
    outcomes: list[str]            # per position: "mask", "random", "kept" or "unchosen"
    measured: dict[str, float]     # rates over all draws (see pretraining.masking_rates)
    expected: dict[str, float]     # what the rule promises for this sentence (pretraining.expected_masking_rates)
    draws: int


def _chip(token: str, was: str, outcome: str) -> str:
    below = f"was {html.escape(was)}" if token != was else "&nbsp;"
    return (f"<div style='display:inline-block;margin:3px;text-align:center'>"
            f"<div style='background:{OUTCOME_COLOURS[outcome]};padding:2px 7px;border-radius:5px;"
            f"font-size:15px'>{html.escape(token)}</div><div style='font-size:11px;color:#555'>{below}</div></div>")


class MaskingPlayground(widgets.VBox):
    """Sliders for mask_tokens' selection probability and its 80/10/10 split, a seed and a sentence:
    one draw shows what the rule does to each token, many draws show that it keeps its promises."""

    def __init__(self, tokenizer: BertTokenizer, sentence: str, draws: int = 2000):
        if draws < 1:
            raise ValueError(f"draws must be at least 1, got {draws}")
        self.tokenizer, self.draws = tokenizer, draws
        slider = {"continuous_update": False, "style": {"description_width": "150px"},
                  "layout": widgets.Layout(width="420px")}
        self.probability = widgets.FloatSlider(0.15, min=0.05, max=0.9, step=0.01, readout_format=".2f",
                                               description="select probability", **slider)
        self.mask_ratio = widgets.FloatSlider(0.8, min=0.0, max=1.0, step=0.05, readout_format=".2f",
                                              description="chosen → [MASK]", **slider)
        self.random_ratio = widgets.FloatSlider(0.1, min=0.0, max=0.2, step=0.05, readout_format=".2f",
                                                description="chosen → random", **slider)
        self.keep = widgets.HTML()
        self.seed = widgets.BoundedIntText(0, min=0, max=10**9, description="seed", layout=widgets.Layout(width="200px"))
        self.whole_word = widgets.Checkbox(False, description="whole-word masking", indent=False)
        self.sentence = widgets.Text(sentence, description="sentence", continuous_update=False,
                                     layout=widgets.Layout(width="95%"))
        self.tokens_view = widgets.HTML(layout=widgets.Layout(height="150px", overflow="auto"))
        self.chart = widgets.Image(format="png")
        self.result: MaskingDraw | None = None
        self._busy = False
        for control in (self.probability, self.mask_ratio, self.random_ratio, self.seed, self.whole_word,
                        self.sentence):
            control.observe(self.update, "value")
        super().__init__([self.sentence,
                          widgets.HBox([widgets.VBox([self.probability, self.mask_ratio, self.random_ratio, self.keep]),
                                        widgets.VBox([self.seed, self.whole_word])]),
                          self.tokens_view,
                          widgets.Box([self.chart], layout=widgets.Layout(height="300px"))])
        self.update()

    def update(self, change: dict | None = None) -> MaskingDraw | None:
        """Draw again with the current settings; returns what is shown (None when the text is unusable)."""
        if self._busy:                       # the random slider's limit moved it: one redraw is enough
            return self.result
        self._busy = True
        try:
            self.random_ratio.max = round(1.0 - self.mask_ratio.value, 2)   # the three shares sum to 1
            p, m, r = self.probability.value, self.mask_ratio.value, self.random_ratio.value
            self.keep.value = f"<div style='margin-left:155px'>chosen, kept: <b>{1 - m - r:.2f}</b></div>"
            self.result = self._draw(p, m, r)
            return self.result
        finally:
            self._busy = False

    def _draw(self, p: float, m: float, r: float) -> MaskingDraw | None:
        tok = self.tokenizer
        try:
            enc = tok.encode(self.sentence.value, max_length=64)
        except ValueError as error:
            self.tokens_view.value = f"<span style='color:#b00'>⚠ {html.escape(str(error))}</span>"
            return None
        ids = torch.tensor([enc.input_ids])                                     # (1, T)
        special = torch.tensor(sorted(tok.all_special_ids))
        if torch.isin(ids, special).all():
            self.tokens_view.value = ("<span style='color:#b00'>⚠ every token is special or [UNK], and those are "
                                      "never chosen: type some English words</span>")
            return None
        g = torch.Generator().manual_seed(self.seed.value)
        settings = {"mlm_probability": p, "mask_ratio": m, "random_ratio": r, "whole_word": self.whole_word.value}
        masked, labels = mask_tokens(ids, tok, generator=g, **settings)       # the draw shown
        many = ids.expand(self.draws, -1)                                      # (draws, T)
        many_masked, many_labels = mask_tokens(many, tok, generator=g, **settings)
        measured = masking_rates(many, many_masked, many_labels, tok)
        expected = expected_masking_rates(ids, tok, **settings)
        kinds = outcome_names(ids[0], masked[0], labels[0], tok.mask_token_id)
        became = tok.convert_ids_to_tokens(masked[0])
        n = {k: kinds.count(k) for k in ("mask", "random", "kept")}
        legend = " ".join(f"<span style='background:{OUTCOME_COLOURS[k]};padding:0 6px;border-radius:4px'>"
                          f"{html.escape(v)}</span>" for k, v in OUTCOME_LABELS.items())
        self.tokens_view.value = (f"<div style='font-size:13px'>{legend}</div>"
                                  f"<div>{''.join(map(_chip, became, enc.tokens, kinds))}</div>"
                                  f"<div style='font-size:13px'>this draw (seed {self.seed.value}): "
                                  f"{sum(n.values())} chosen: {n['mask']} → [MASK], {n['random']} → random, "
                                  f"{n['kept']} kept</div>")
        figure = masking_frequencies(measured, expected, int((~torch.isin(many, special)).sum()))
        figure.suptitle(f"这句话抽了 {self.draws:,} 次", fontsize=12)
        png = io.BytesIO()
        figure.savefig(png, format="png")                     # at the figures' own dpi
        self.chart.value = png.getvalue()
        return MaskingDraw(enc.tokens, became, kinds, measured, expected, self.draws)


def masking_playground(tokenizer: BertTokenizer | None = None,
                       sentence: str = "The quick brown fox jumps over the lazy dog near the riverbank.",
                       draws: int = 2000) -> MaskingPlayground:
    """The masking playground with the packaged MiniLM vocabulary (or any BertTokenizer)."""
    return MaskingPlayground(tokenizer or BertTokenizer.from_pretrained(), sentence, draws)


# ---- 10 QA explorer: 10_question_answering ------------------------------------------------------------------
# Edit the passage or the question: the model's P(start = i) and P(end = i) over the first window and
# the best span in it are drawn again, so students see the two peaks move with the question.

class QAView(NamedTuple):
    tokens: list[str]             # [CLS] question [SEP] passage window [SEP]
    start_probs: torch.Tensor     # (T,): softmax of the start logits over the window
    end_probs: torch.Tensor       # (T,)
    best: Span | None             # the best span of this window (None if no valid span)
    best_tokens: tuple[int, int] | None  # its first and last token in the window
    windows: int                  # how many windows the passage needs at this max_length


@torch.no_grad()
def qa_view(model: torch.nn.Module, tokenizer: BertTokenizer, question: str, context: str,
            max_length: int = 192) -> QAView:
    """The start/end probabilities of the first window and its best span, as the explorer draws them."""
    windows = make_windows(tokenizer, question, context, max_length=max_length)
    window = windows[0]
    model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([window.input_ids], device=device)                 # (1, T)
    out = model(ids, torch.tensor([window.token_type_ids], device=device))
    start, end = out.start_logits[0].float().cpu(), out.end_logits[0].float().cpu()  # (T,) each
    spans = decode_spans(start[None], end[None], [window.offsets], context, n_best=1)
    best = spans[0] if spans else None
    return QAView(tokenizer.convert_ids_to_tokens(window.input_ids), start.softmax(-1), end.softmax(-1),
                  best, span_tokens(window.offsets, best) if best else None, len(windows))


def span_tokens(offsets: Sequence[tuple[int, int] | None], span: Span) -> tuple[int, int]:
    """First and last token of a window whose characters lie inside the span."""
    inside = [t for t, o in enumerate(offsets) if o is not None and o[0] >= span.start_char and o[1] <= span.end_char]
    if not inside:
        raise ValueError(f"the span {span.text!r} covers no token of this window")
    return inside[0], inside[-1]


FOCUS_TOKENS = 64  # tokens the explorer's chart shows at most: with more, their labels are too small to read


def focus_range(n_tokens: int, span: tuple[int, int] | None, width: int = FOCUS_TOKENS) -> tuple[int, int]:
    """[lo, hi): at most `width` tokens, centred on the span (from the start when there is none)."""
    if n_tokens <= width:
        return 0, n_tokens
    centre = (span[0] + span[1]) // 2 if span else 0
    lo = min(max(0, centre - width // 2), n_tokens - width)
    return lo, lo + width


class QAExplorer(widgets.VBox):
    """A passage and a question the student edits; the model's start/end probability bars and answer follow."""

    def __init__(self, model: torch.nn.Module, tokenizer: BertTokenizer, question: str, context: str,
                 max_length: int = 192):
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length
        self.context = widgets.Textarea(context, description="passage", continuous_update=False,
                                        layout=widgets.Layout(width="95%", height="110px"))
        self.question = widgets.Text(question, description="question", continuous_update=False,
                                     layout=widgets.Layout(width="95%"))
        self.answer = widgets.HTML(layout=widgets.Layout(height="40px"))
        self.chart = widgets.Image(format="png")
        self.result: QAView | None = None
        self.shown = (0, 0)                       # the tokens [lo, hi) of the window that the chart draws
        for control in (self.context, self.question):
            control.observe(self.update, "value")
        super().__init__([self.context, self.question, self.answer,
                          widgets.Box([self.chart], layout=widgets.Layout(height="480px", overflow="auto"))])
        self.update()

    def update(self, change: dict | None = None) -> QAView | None:
        """Answer the current question; returns what is shown (None when the text is unusable)."""
        try:
            view = qa_view(self.model, self.tokenizer, self.question.value, self.context.value, self.max_length)
        except (ValueError, TypeError) as error:
            self.answer.value = f"<span style='color:#b00'>⚠ {html.escape(str(error))}</span>"
            self.result = None
            return None
        cut = f" (first of {view.windows} windows)" if view.windows > 1 else ""
        best = (f"<b>{html.escape(view.best.text)}</b> (score s+e = {view.best.score:.2f})" if view.best
                else "no valid span")
        self.answer.value = f"<div style='font-size:15px'>answer{cut}: {best}</div>"
        lo, hi = self.shown = focus_range(len(view.tokens), view.best_tokens)
        predicted = (view.best_tokens[0] - lo, view.best_tokens[1] - lo) if view.best_tokens else None
        title = None if hi - lo == len(view.tokens) else (
            f"tokens {lo}-{hi - 1} of {len(view.tokens)}, around the answer; the others hold "
            f"{1 - view.start_probs[lo:hi].sum().item():.0%} of P(start)")
        figure = span_probabilities(view.start_probs[lo:hi], view.end_probs[lo:hi], view.tokens[lo:hi],
                                    predicted=predicted, title=title)
        png = io.BytesIO()
        figure.savefig(png, format="png")
        plt.close(figure)
        self.chart.value = png.getvalue()
        self.result = view
        return view


def qa_explorer(model: torch.nn.Module, tokenizer: BertTokenizer,
                question: str = "Where did the fox jump?",
                context: str = "The quick brown fox jumped over the lazy dog near the riverbank in the morning.",
                max_length: int = 192) -> QAExplorer:
    """The QA explorer for a fine-tuned BertForQuestionAnswering (any model with start/end logits)."""
    return QAExplorer(model, tokenizer, question, context, max_length)
