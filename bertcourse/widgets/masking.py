"""The masking playground (05_masked_lm): one draw of mask_tokens on a sentence, token by token, the rates
over many draws against what the rule promises, and what a model with trained heads guesses at the chosen
positions. The rule itself is only ever mask_tokens: the sliders are its parameters.
"""
from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import torch

from ..pretraining import IGNORE, expected_masking_rates, mask_tokens, masking_rates, outcome_names
from ..tokenizer import BertTokenizer
from ..viz.inputs import OUTCOME_COLOURS, OUTCOME_LABELS
from .common import error_html, probability_text
from .threads import widget_threads


class Guess(NamedTuple):
    position: int                       # index in [CLS] ... [SEP]
    true_token: str                     # what stood there before masking (the label)
    seen: str                           # what the model read there: [MASK], a random token, or the same one
    top: list[tuple[str, float]]        # the model's best guesses, best first
    p_true: float                       # the probability it gives the true token


@torch.no_grad()
def mlm_guesses(model: torch.nn.Module, tokenizer: BertTokenizer, masked_ids: torch.Tensor, labels: torch.Tensor,
                top_k: int = 3) -> tuple[list[Guess], float]:
    """A BertForPreTraining reads one masked sentence (1, T); for each chosen position (labels != -100) its
    top_k guesses and P(true token), and the MLM loss, which counts the chosen positions only."""
    model.eval()
    device = next(model.parameters()).device
    out = model(masked_ids.to(device), labels=labels.to(device))
    chosen = (labels[0] != IGNORE).nonzero().flatten().tolist()           # reading order = rows of mlm_logits
    if not chosen:
        return [], float("nan")
    probs = out.mlm_logits.float().softmax(-1).cpu()                      # (N, V)
    targets = labels[0, chosen]                                           # (N,)
    top_p, top_ids = probs.topk(top_k, dim=-1)                            # (N, k)
    p_true = probs.gather(1, targets[:, None])[:, 0]                      # (N,)
    total, count = out.loss_terms["mlm"]
    seen = tokenizer.convert_ids_to_tokens(masked_ids[0, chosen])
    guesses = [Guess(pos, tokenizer.convert_ids_to_tokens(int(t)), s,
                     list(zip(tokenizer.convert_ids_to_tokens(ids), ps)), float(p))
               for pos, t, s, ids, ps, p in zip(chosen, targets, seen, top_ids.tolist(), top_p.tolist(), p_true)]
    return guesses, float(total / count)


def guesses_html(guesses: list[Guess], loss: float) -> str:
    if not guesses:
        return "<i>这次一个位置也没选中：换一个种子 (seed) 或调高选中概率</i>"
    rows = "".join(
        f"<tr><td>{g.position}</td><td><b>{html.escape(g.true_token)}</b></td><td>{html.escape(g.seen)}</td><td>"
        + ", ".join(f"{'<b>' if t == g.true_token else ''}{html.escape(t)}{'</b>' if t == g.true_token else ''} "
                    f"{probability_text(p)}" for t, p in g.top)
        + f"</td><td>{probability_text(g.p_true)}</td></tr>" for g in guesses)
    return ("<table style='font-size:14px'><tr><th>位置</th><th>原词元</th><th>模型读到</th>"
            f"<th>前 {len(guesses[0].top)} 个猜测</th><th>P(原词元)</th></tr>{rows}</table>"
            f"<div style='font-size:14px'>只在选中的 {len(guesses)} 个位置上算的 MLM 损失：<b>{loss:.3f}</b>"
            "（−log P(原词元) 的平均）</div>")


RATE_ROWS = {"chosen": ("选中（占真实词元）", "#7f7f7f"), "mask": ("→ [MASK]（占选中的）", OUTCOME_COLOURS["mask"]),
             "random": ("→ 随机词元（占选中的）", OUTCOME_COLOURS["random"]),
             "kept": ("保持不变（占选中的）", OUTCOME_COLOURS["kept"])}


def rates_html(measured: dict[str, float], expected: dict[str, float], n_tokens: int) -> str:
    """The measured rates as horizontal bars with the rule's expected value as a black tick: an HTML table
    redraws in well under a millisecond, where the same matplotlib chart cost ~400 ms per update."""
    rows = "".join(
        f"<tr><td style='padding-right:8px'>{label}</td><td><div style='position:relative;width:360px;height:18px;"
        f"background:#f2f2f2'><div style='width:{100 * measured[k]:.2f}%;height:100%;background:{colour}'></div>"
        f"<div title='期望 {100 * expected[k]:.1f}%' style='position:absolute;top:-3px;left:{100 * expected[k]:.2f}%;"
        f"width:3px;height:24px;background:black'></div></div></td>"
        f"<td style='padding-left:8px'><b>{100 * measured[k]:.1f}%</b>（期望 {100 * expected[k]:.1f}%）</td></tr>"
        for k, (label, colour) in RATE_ROWS.items())
    return (f"<div style='font-size:14px'><b>掩码 (masking)：实测与期望，共 {n_tokens:,} 个真实词元</b>"
            f"（条 = 实测，黑线 = 期望）<table style='border-collapse:separate;border-spacing:0 6px'>{rows}</table></div>")


class MaskingDraw(NamedTuple):
    tokens: list[str]              # the sentence as the tokenizer cut it, [CLS] ... [SEP]
    became: list[str]              # what the model sees at each position after this draw
    outcomes: list[str]            # per position: "mask", "random", "kept" or "unchosen"
    measured: dict[str, float]     # rates over all draws (see pretraining.masking_rates)
    expected: dict[str, float]     # what the rule promises for this sentence (pretraining.expected_masking_rates)
    draws: int
    guesses: list[Guess]           # the model's guesses at the chosen positions (empty without a model)
    loss: float | None             # its MLM loss over the chosen positions (None without a model)


def _chip(token: str, was: str, outcome: str) -> str:
    below = f"原为 {html.escape(was)}" if token != was else "&nbsp;"
    return (f"<div style='display:inline-block;margin:3px;text-align:center'>"
            f"<div style='background:{OUTCOME_COLOURS[outcome]};padding:2px 7px;border-radius:5px;"
            f"font-size:15px'>{html.escape(token)}</div><div style='font-size:11px;color:#555'>{below}</div></div>")


class MaskingPlayground(widgets.VBox):
    """Sliders for mask_tokens' selection probability and its 80/10/10 split, a seed and a sentence:
    one draw shows what the rule does to each token, many draws show that it keeps its promises; with a
    model (a BertForPreTraining with trained heads), what it guesses at each chosen position."""

    def __init__(self, tokenizer: BertTokenizer, sentence: str, draws: int = 2000,
                 model: torch.nn.Module | None = None):
        if draws < 1:
            raise ValueError(f"draws must be at least 1, got {draws}")
        if model is not None and not hasattr(model, "cls"):
            raise ValueError(f"the guesses need a BertForPreTraining (with its MLM head), got {type(model).__name__}")
        self.tokenizer, self.draws, self.model = tokenizer, draws, model
        slider = {"continuous_update": False, "style": {"description_width": "150px"},
                  "layout": widgets.Layout(width="420px")}
        self.probability = widgets.FloatSlider(0.15, min=0.05, max=0.9, step=0.01, readout_format=".2f",
                                               description="选中概率", **slider)
        self.mask_ratio = widgets.FloatSlider(0.8, min=0.0, max=1.0, step=0.05, readout_format=".2f",
                                              description="选中 → [MASK]", **slider)
        self.random_ratio = widgets.FloatSlider(0.1, min=0.0, max=0.2, step=0.05, readout_format=".2f",
                                                description="选中 → 随机词元", **slider)
        self.keep = widgets.HTML()
        self.seed = widgets.BoundedIntText(0, min=0, max=10**9, description="种子 (seed)", layout=widgets.Layout(width="200px"))
        self.whole_word = widgets.Checkbox(False, description="整词掩码 (whole-word masking)", indent=False)
        self.sentence = widgets.Text(sentence, description="句子", continuous_update=False,
                                     layout=widgets.Layout(width="95%"))
        self.tokens_view = widgets.HTML(layout=widgets.Layout(height="150px", overflow="auto"))
        self.guesses_view = widgets.HTML(layout=widgets.Layout(height="190px" if model else "0px", overflow="auto"))
        self.chart = widgets.HTML()
        self.result: MaskingDraw | None = None
        self._busy = False
        for control in (self.probability, self.mask_ratio, self.random_ratio, self.seed, self.whole_word,
                        self.sentence):
            control.observe(self.update, "value")
        super().__init__([self.sentence,
                          widgets.HBox([widgets.VBox([self.probability, self.mask_ratio, self.random_ratio, self.keep]),
                                        widgets.VBox([self.seed, self.whole_word])]),
                          self.tokens_view, self.guesses_view,
                          widgets.Box([self.chart], layout=widgets.Layout(height="190px"))])
        self.update()

    def update(self, change: dict | None = None) -> MaskingDraw | None:
        """Draw again with the current settings; returns what is shown (None when the text is unusable)."""
        if self._busy:                       # the random slider's limit moved it: one redraw is enough
            return self.result
        self._busy = True
        try:
            self.random_ratio.max = round(1.0 - self.mask_ratio.value, 2)   # the three shares sum to 1
            p, m, r = self.probability.value, self.mask_ratio.value, self.random_ratio.value
            self.keep.value = f"<div style='margin-left:155px'>选中，保持不变：<b>{1 - m - r:.2f}</b></div>"
            with widget_threads():
                self.result = self._draw(p, m, r)
            return self.result
        finally:
            self._busy = False

    def _draw(self, p: float, m: float, r: float) -> MaskingDraw | None:
        tok = self.tokenizer
        try:
            enc = tok.encode(self.sentence.value, max_length=64)
        except ValueError as error:
            self.tokens_view.value = error_html(error)
            return None
        ids = torch.tensor([enc.input_ids])                                     # (1, T)
        special = torch.tensor(sorted(tok.all_special_ids))
        if torch.isin(ids, special).all():
            self.tokens_view.value = error_html("每个词元都是特殊词元或 [UNK]，它们从不被选中：请输入一些英文单词")
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
                                  f"<div style='font-size:13px'>这一次抽取（种子 {self.seed.value}）：选中 "
                                  f"{sum(n.values())} 个：{n['mask']} 个 → [MASK]，{n['random']} 个 → 随机词元，"
                                  f"{n['kept']} 个保持不变</div>")
        self.chart.value = (f"<div style='font-size:13px'>这句话抽了 {self.draws:,} 次</div>"
                            + rates_html(measured, expected, int((~torch.isin(many, special)).sum())))
        guesses, loss = mlm_guesses(self.model, tok, masked, labels) if self.model is not None else ([], None)
        if self.model is not None:
            self.guesses_view.value = guesses_html(guesses, loss)
        return MaskingDraw(enc.tokens, became, kinds, measured, expected, self.draws, guesses, loss)


def masking_playground(tokenizer: BertTokenizer | None = None,
                       sentence: str = "The quick brown fox jumps over the lazy dog near the riverbank.",
                       draws: int = 2000, model: torch.nn.Module | None = None) -> MaskingPlayground:
    """The masking playground with the packaged MiniLM vocabulary (or any BertTokenizer); pass the model
    whose guesses to show (the classroom "pretraining" model: heads trained on this vocabulary)."""
    return MaskingPlayground(tokenizer or BertTokenizer.from_pretrained(), sentence, draws, model)
