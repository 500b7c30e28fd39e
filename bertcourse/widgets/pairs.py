"""The sentence-pair playground (03_bert_inputs, 06_next_sentence): type sentences A and B, or pick a pair
as pretraining builds them (make_nsp_pairs on held-out documents: B the true continuation, or B from
another document); see [CLS] A [SEP] B [SEP] with its segment and position ids, the three input embeddings
and their sum, and P(IsNext) from a model whose NSP head was trained.
"""
from __future__ import annotations

import base64
import html
import io
import random

import ipywidgets as widgets
import torch
from matplotlib import colormaps
from PIL import Image

from ..pretraining import NspPair, make_nsp_pairs, next_sentence_probability
from ..tokenizer import BertTokenizer
from ..viz.style import SEGMENT_COLOURS
from .common import error_html
from .threads import widget_threads

DIMS = 16       # embedding dimensions pictured (of H)
PIXELS = 12     # size of one value in the picture
PARTS = ("token", "segment", "position", "sum")
PART_NAMES = {"token": "词元嵌入", "segment": "片段嵌入", "position": "位置嵌入", "sum": "总和"}
RDBU = colormaps["RdBu_r"]
PICK_DOCUMENTS = 40  # held-out documents the pairs are made from: tokenizing all 200 costs seconds


def embedding_parts(embeddings: torch.nn.Module, input_ids: list[int], token_type_ids: list[int]) -> torch.Tensor:
    """(4, T, H): token, segment and position embeddings and their sum, what the embeddings' LayerNorm reads."""
    ids, segments = torch.tensor(input_ids), torch.tensor(token_type_ids)          # (T,)
    with torch.no_grad():
        parts = [embeddings.word_embeddings(ids), embeddings.token_type_embeddings(segments),
                 embeddings.position_embeddings(torch.arange(len(ids)))]        # 3 x (T, H)
    return torch.stack([*parts, sum(parts)])


def embeddings_html(parts: torch.Tensor, tokens: list[str], segments: list[int]) -> str:
    """Four strips (token, segment, position, sum), one column per token, the first DIMS dimensions on a
    red-white-blue scale symmetric around 0 (each strip its own scale)."""
    strips = []
    for name, values in zip(PARTS, parts[:, :, :DIMS]):                        # (T, DIMS) each
        limit = max(values.abs().max().item(), 1e-6)
        rgb = RDBU(((values.T / limit + 1) / 2).numpy(), bytes=True)[..., :3]  # (DIMS, T, 3)
        png = io.BytesIO()
        image = Image.fromarray(rgb)
        image.resize((image.width * PIXELS, image.height * 4), Image.NEAREST).save(png, format="png")
        data = base64.b64encode(png.getvalue()).decode()
        sign = "=" if name == "sum" else ("+" if name != "token" else "")
        strips.append(f"<div style='display:flex;align-items:center'><span style='width:90px'>{sign} "
                      f"{PART_NAMES[name]}</span><img src='data:image/png;base64,{data}' alt='{PART_NAMES[name]}'></div>")
    labels = "".join(f"<span style='display:inline-block;width:{PIXELS}px;writing-mode:vertical-rl;"
                     f"transform:rotate(180deg);color:{SEGMENT_COLOURS[s]}'>{html.escape(t)}</span>"
                     for t, s in zip(tokens, segments))
    return (f"<div style='font-size:13px'>{''.join(strips)}<div style='margin-left:90px'>{labels}</div>"
            f"<div>前 {DIMS} 维（共 {parts.shape[-1]} 维）；红 &gt; 0 &gt; 蓝</div></div>")


def ids_table(tokens: list[str], segments: list[int]) -> str:
    """Token, segment id and position id of every input position."""
    cells = "".join(f"<td style='color:{SEGMENT_COLOURS[s]};padding:0 4px'>{html.escape(t)}</td>"
                    for t, s in zip(tokens, segments))
    return ("<style>.bc-ids th{white-space:nowrap;text-align:right;padding-right:6px}</style>"
            "<table class=bc-ids style='font-size:13px;border-collapse:collapse'>"
            f"<tr><th>词元</th>{cells}</tr>"
            f"<tr><th>片段编号 (segment id)</th>{''.join(f'<td>{s}</td>' for s in segments)}</tr>"
            f"<tr><th>位置编号 (position id)</th>{''.join(f'<td>{i}</td>' for i in range(len(tokens)))}</tr></table>")


class SentencePairPlayground(widgets.VBox):
    """Sentences A and B (typed or picked), the model's input built from them, and P(IsNext)."""

    def __init__(self, model: torch.nn.Module, tokenizer: BertTokenizer, documents: list[list[str]],
                 a: str, b: str, seed: int = 0, max_length: int = 64):
        if not hasattr(model, "cls"):
            raise ValueError(f"P(IsNext) needs a BertForPreTraining (with its NSP head), got {type(model).__name__}")
        self.model, self.tokenizer = model, tokenizer
        pairs = make_nsp_pairs(documents, tokenizer, max_length=max_length, rng=random.Random(seed))
        self.pool = {kind: [p for p in pairs if p.is_next == kind] for kind in (True, False)}
        self.picked = {True: 0, False: 0}
        box = widgets.Layout(width="95%")
        self.a = widgets.Text(a, description="句子 A", continuous_update=False, layout=box)
        self.b = widgets.Text(b, description="句子 B", continuous_update=False, layout=box)
        self.true_next = widgets.Button(description="B = 真正接在 A 后面的文本", layout=widgets.Layout(width="220px"))
        self.random_next = widgets.Button(description="B = 另一篇文档的文本", layout=widgets.Layout(width="220px"))
        self.true_next.on_click(lambda _: self.pick(True))
        self.random_next.on_click(lambda _: self.pick(False))
        self.ids = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.picture = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.verdict = widgets.HTML()
        self.p_is_next: float | None = None
        for control in (self.a, self.b):
            control.observe(self.update, "value")
        super().__init__([self.a, self.b, widgets.HBox([self.true_next, self.random_next]), self.verdict,
                          self.ids, self.picture])
        self.update()

    def pick(self, is_next: bool) -> NspPair:
        """The next held-out pair of that kind (as pretraining made it) into A and B: one update, not two."""
        pool = self.pool[is_next]
        pair = pool[self.picked[is_next] % len(pool)]
        self.picked[is_next] += 1
        text = lambda tokens: self.tokenizer.decode(self.tokenizer.convert_tokens_to_ids(tokens))  # noqa: E731
        with self.hold_trait_notifications():
            self.a.unobserve(self.update, "value")
            self.a.value = text(pair.tokens_a)
            self.a.observe(self.update, "value")
            self.b.value = text(pair.tokens_b)                         # observed: one update for the pair
        return pair

    def update(self, change: dict | None = None) -> float | None:
        """Encode [CLS] A [SEP] B [SEP], picture its embeddings, and ask the NSP head; returns P(IsNext)."""
        try:
            enc = self.tokenizer.encode(self.a.value, self.b.value, max_length=128)
        except (TypeError, ValueError) as error:
            self.verdict.value = error_html(error)
            self.p_is_next = None
            return None
        with widget_threads():
            p = next_sentence_probability(self.model, self.tokenizer, self.a.value, self.b.value)
            parts = embedding_parts(self.model.bert.embeddings, enc.input_ids, enc.token_type_ids)
        self.p_is_next = p
        self.ids.value = ids_table(enc.tokens, enc.token_type_ids)
        self.picture.value = embeddings_html(parts, enc.tokens, enc.token_type_ids)
        bar = f"<span style='display:inline-block;width:{200 * p:.0f}px;height:12px;background:#2ca02c'></span>"
        self.verdict.value = (f"<div style='font-size:16px'>P(IsNext) = <b>{p:.3f}</b> {bar} → "
                              f"{'B 接在 A 后面' if p >= 0.5 else 'B 来自另一篇文档'}</div>")
        return p


def sentence_pair_playground(model: torch.nn.Module, tokenizer: BertTokenizer,
                             documents: list[list[str]] | None = None,
                             a: str = "this movie is great", b: str = "i like it") -> SentencePairPlayground:
    """The playground on a BertForPreTraining with trained heads (the classroom "pretraining" model);
    pairs are picked from `documents` (default: the course's held-out documents, never trained on)."""
    if documents is None:
        from ..data import load_corpus
        documents = load_corpus("course-heldout")[:PICK_DOCUMENTS]
    return SentencePairPlayground(model, tokenizer, documents, a, b)
