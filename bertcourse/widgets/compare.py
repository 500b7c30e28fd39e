"""Models side by side (01/04): the same sentence, layer and head in several models (the packaged
pretrained MiniLM, a random-init model of the same shape, a fine-tuned classroom model); and head
ablation: switch chosen heads off through the model's head_mask and watch the fill-mask guesses or the
QA answer change.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import torch
from torch import nn

from ..pretraining import fill_mask
from ..tasks.qa import predict as qa_predict
from ..tokenizer import BertTokenizer
from ..viz.attention import attention_stack
from .attention import heatmap_html
from .common import error_html, probability_text
from .threads import widget_threads

STALE = "bc-stale"  # a picture whose model has not yet run on the new text


class AttentionComparison(widgets.VBox):
    """One sentence, one layer and head, every model's attention beside the others' (same tokenizer)."""

    def __init__(self, models: dict[str, nn.Module], tokenizer: BertTokenizer, text: str):
        shapes = {(m.config.num_hidden_layers, m.config.num_attention_heads) for m in models.values()}
        if len(shapes) != 1:
            raise ValueError(f"the models must have the same layers and heads to be compared, got {sorted(shapes)}")
        (layers, heads), = shapes
        self.models, self.tokenizer = models, tokenizer
        self.tokens: list[str] = []
        self.attentions: dict[str, torch.Tensor] = {}                     # name -> (L, nh, T, T)
        self.text = widgets.Text(text, description="句子", continuous_update=False,
                                 layout=widgets.Layout(width="95%"))
        self.layer = widgets.IntSlider(layers - 1, min=0, max=layers - 1, description="层", continuous_update=False)
        self.head = widgets.Dropdown(options=[(f"头 {h}", h) for h in range(heads)], value=0, description="头")
        self.status = widgets.HTML()
        self.pictures = {name: widgets.HTML(layout=widgets.Layout(overflow="auto")) for name in models}
        self.text.observe(self.encode, "value")
        for control in (self.layer, self.head):
            control.observe(self.draw, "value")
        columns = [widgets.VBox([widgets.HTML(f"<b>{html.escape(name)}</b>"), picture],
                                layout=widgets.Layout(width=f"{100 // len(models) - 1}%"))
                   for name, picture in self.pictures.items()]
        super().__init__([widgets.HTML(f"<style>.{STALE}{{opacity:.3}}</style>"), self.text,
                          widgets.HBox([self.layer, self.head]), self.status, widgets.HBox(columns)])
        self.encode()

    @torch.no_grad()
    def encode(self, change: dict | None = None) -> dict[str, str]:
        """Run the models on the new text one at a time, each drawn as soon as it has run (an update of its
        own, as the QA explorer answers window by window): the first picture comes after one model's
        forward pass, not three. Until its model has run, a picture shows the previous text, faded."""
        try:
            enc = self.tokenizer.encode(self.text.value, max_length=64)
        except (TypeError, ValueError) as error:
            self.status.value = error_html(error)
            return self.shown()
        ids = torch.tensor([enc.input_ids])
        self.tokens, self.attentions = enc.tokens, {}
        for picture in self.pictures.values():
            picture.add_class(STALE)
        for done, (name, model) in enumerate(self.models.items(), 1):
            with widget_threads():
                model.eval()
                self.attentions[name] = attention_stack(model(ids, output_attentions=True).attentions)
            waiting = len(self.models) - done
            self.status.value = (f"{len(enc.tokens)} 个词元" + ("（截断到 64 个）" if len(enc.tokens) == 64 else "")
                                 + (f"；其余 {waiting} 个模型计算中…" if waiting else ""))
            self.draw_one(name)
        return self.shown()

    def draw(self, change: dict | None = None) -> dict[str, str]:
        """Redraw every model's heatmap of the chosen layer and head from the cached attentions."""
        for name in self.attentions:
            self.draw_one(name)
        return self.shown()

    def draw_one(self, name: str) -> None:
        """One model's heatmap of the chosen layer and head, shown at full strength again."""
        weights = self.attentions[name][self.layer.value, self.head.value]     # (T, T)
        self.pictures[name].value = heatmap_html(weights, self.tokens, self.tokens, cell_px=14)
        self.pictures[name].remove_class(STALE)

    def shown(self) -> dict[str, str]:
        return {name: picture.value for name, picture in self.pictures.items()}


class HeadMasked(nn.Module):
    """A model that always runs with `head_mask` (L, nh): so the package's own fill_mask and QA predict
    can run on the ablated model unchanged."""

    def __init__(self, model: nn.Module, head_mask: torch.Tensor):
        super().__init__()
        self.model, self.config, self.head_mask = model, model.config, head_mask

    def forward(self, *args, **kwargs):
        return self.model(*args, head_mask=self.head_mask, **kwargs)


def head_mask_of(config, switched_off: set[tuple[int, int]]) -> torch.Tensor:
    """(L, nh) of 1 with a 0 at every (layer, head) switched off."""
    mask = torch.ones(config.num_hidden_layers, config.num_attention_heads)
    for layer, head in switched_off:
        mask[layer, head] = 0.0
    return mask


class HeadAblation(widgets.VBox):
    """Pick heads to switch off; a BertForPreTraining's fill-mask guesses (text with [MASK]) or a QA model's
    answers (question + passage) with every head, and with the chosen heads off, side by side."""

    def __init__(self, model: nn.Module, tokenizer: BertTokenizer, text: str, context: str = "", top_k: int = 5):
        self.kind = "fill-mask" if hasattr(model, "cls") else "qa" if hasattr(model, "qa_outputs") else None
        if self.kind is None:
            raise ValueError(f"head ablation shows fill-mask guesses (BertForPreTraining) or QA answers "
                             f"(BertForQuestionAnswering), got {type(model).__name__}")
        cfg = model.config
        self.model, self.tokenizer, self.top_k = model, tokenizer, top_k
        self.intact: list | None = None
        self.text = widgets.Text(text, description="带 [MASK] 的句子" if self.kind == "fill-mask" else "问题",
                                 continuous_update=False, layout=widgets.Layout(width="95%"),
                                 style={"description_width": "initial"})
        self.context = widgets.Textarea(context, description="描述文本", continuous_update=False,
                                        layout=widgets.Layout(width="95%", height="90px",
                                                              display=None if self.kind == "qa" else "none"))
        self.heads = widgets.SelectMultiple(options=[(f"第 {l} 层，头 {h}", (l, h)) for l in range(cfg.num_hidden_layers)
                                                     for h in range(cfg.num_attention_heads)],
                                            rows=10, description="关掉的头")
        self.clear = widgets.Button(description="所有头都打开")
        self.clear.on_click(lambda _: setattr(self.heads, "value", ()))
        self.view = widgets.HTML()
        self.result: tuple[list, list] | None = None
        for control in (self.text, self.context):
            control.observe(self.run_intact, "value")
        self.heads.observe(self.ablate, "value")
        super().__init__([self.text, self.context, widgets.HBox([self.heads, self.clear]), self.view])
        self.run_intact()

    def answer(self, model: nn.Module) -> list:
        """Per [MASK] its top_k (token, p); or the QA model's top_k answers (text, score)."""
        if self.kind == "fill-mask":
            return fill_mask(model, self.tokenizer, self.text.value, self.top_k)
        spans = qa_predict(model, self.tokenizer, self.text.value, self.context.value, n_best=self.top_k)
        return [[(s.text, s.score) for s in spans]]

    def run_intact(self, change: dict | None = None) -> tuple[list, list] | None:
        """The model with every head, once per text; then the ablated one."""
        try:
            with widget_threads():
                self.intact = self.answer(self.model)
        except (TypeError, ValueError) as error:
            self.view.value, self.intact, self.result = error_html(error), None, None
            return None
        return self.ablate()

    def ablate(self, change: dict | None = None) -> tuple[list, list] | None:
        """Run again with the chosen heads off; show both."""
        if self.intact is None:
            return None
        off = set(self.heads.value)
        with widget_threads():
            ablated = self.answer(HeadMasked(self.model, head_mask_of(self.model.config, off))) if off else self.intact
        self.result = (self.intact, ablated)
        self.view.value = self.html(off)
        return self.result

    def html(self, off: set[tuple[int, int]]) -> str:
        number = probability_text if self.kind == "fill-mask" else (lambda score: f"{score:.2f}")
        rows = ""
        for k, (mine, theirs) in enumerate(zip(*self.result)):
            left = ", ".join(f"{html.escape(t)} {number(p)}" for t, p in mine)
            right = ", ".join(f"{html.escape(t)} {number(p)}" for t, p in theirs)
            label = f"[MASK] {k + 1}" if self.kind == "fill-mask" else "答案（得分 s+e）"
            rows += f"<tr><td>{label}</td><td>{left}</td><td>{right}</td></tr>"
        names = ", ".join(f"L{l}H{h}" for l, h in sorted(off)) + "（L 层 H 头）" if off else "无"
        return ("<table style='font-size:14px'><tr><th></th><th>所有头都在</th>"
                f"<th>关掉的头：{html.escape(names)}</th></tr>{rows}</table>")


def attention_comparison(models: dict[str, nn.Module], tokenizer: BertTokenizer,
                         text: str = "The animal didn't cross the street because it was too tired.") -> AttentionComparison:
    """Several models of the same shape side by side, e.g. pretrained / random init / fine-tuned."""
    return AttentionComparison(models, tokenizer, text)


def head_ablation(model: nn.Module, tokenizer: BertTokenizer, text: str = "The capital of France is [MASK].",
                  context: str = "") -> HeadAblation:
    """Head ablation on a BertForPreTraining (text with [MASK]) or a BertForQuestionAnswering (question + context)."""
    return HeadAblation(model, tokenizer, text, context)
