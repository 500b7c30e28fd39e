"""The QA explorer (10_question_answering): every window of a long passage (doc stride shown), the n-best
answers with their scores, the gold answer when known, P(start)/P(end) bars and the start x end score grid
of the chosen window. Windows come from tasks.qa.make_windows and answers from tasks.qa.decode_spans: the
explorer only runs the model and draws. A new question is answered one window at a time, each an update
of its own: the window on screen first (so the student sees it change at once), then each other window,
which refines the n-best (benchmarks/widget_latency.py times the first step and the longest of the others).
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import NamedTuple

import ipywidgets as widgets
import torch

from ..tasks.common import MODEL_INPUTS, pad_batch
from ..tasks.qa import (MAX_ANSWER_LENGTH, Span, Window, decode_spans, make_windows, merge_nbest,
                        normalize_answer, squad_scores)
from ..tokenizer import BertTokenizer
from ..viz.qa import SPAN_COLOURS, SPAN_NAMES
from .common import colour_legend, error_html, grid_html
from .threads import widget_threads

FOCUS_TOKENS = 64  # tokens the bar chart shows at most: with more, their labels are too small to read
GRID_TOKENS = 24   # tokens per side of the start x end grid (24 x 24 cells stay readable)
N_BEST = 5
WINDOW_TOKENS = 128  # the classroom qa model's windows: it was trained and is scored on 128-token windows


class QAView(NamedTuple):
    tokens: list[str]             # [CLS] question [SEP] passage window [SEP]
    start_probs: torch.Tensor     # (T,): softmax of the start logits over the window
    end_probs: torch.Tensor       # (T,)
    best: Span | None             # the best span of this window (None if no valid span)
    best_tokens: tuple[int, int] | None  # its first and last token in the window
    windows: int                  # how many windows the passage needs at this max_length


class Answers(NamedTuple):
    """One question about one passage: every window, and the logits of those the model has run on."""
    windows: list[Window]
    start_logits: list[torch.Tensor | None]   # per window (T_w,); None until the model has run on it
    end_logits: list[torch.Tensor | None]     # per window (T_w,)
    window_nbest: list[list[Span] | None]     # per window: its own n best spans (None until run)
    nbest: list[Span]                         # over the windows run so far, best first

    @property
    def pending(self) -> int:
        """Windows the model has not run on yet."""
        return sum(s is None for s in self.start_logits)


@torch.no_grad()
def run_windows(model: torch.nn.Module, windows: Sequence[Window]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Start and end logits of each window, all in one batch: (T_w,) each, the padding cut off."""
    model.eval()
    device = next(model.parameters()).device
    batch = pad_batch([{"input_ids": w.input_ids, "token_type_ids": w.token_type_ids,
                        "attention_mask": [1] * len(w.input_ids)} for w in windows])
    out = model(**{k: batch[k].to(device) for k in MODEL_INPUTS})
    start, end = out.start_logits.float().cpu(), out.end_logits.float().cpu()        # (W, T) each
    lengths = [len(w.input_ids) for w in windows]
    return [s[:n] for s, n in zip(start, lengths)], [e[:n] for e, n in zip(end, lengths)]


def collect(windows: list[Window], start: list[torch.Tensor | None], end: list[torch.Tensor | None],
            context: str, n_best: int = N_BEST, max_answer_length: int = MAX_ANSWER_LENGTH,
            known: Answers | None = None) -> Answers:
    """The n best spans over the windows that have logits: each window decoded alone (or taken from
    `known`, the same question a window earlier), then merged, which equals decode_spans over them all."""
    own = [None if s is None else known.window_nbest[w] if known and known.window_nbest[w] is not None
           else decode_spans(s[None], end[w][None], [windows[w].offsets], context, max_answer_length, n_best)
           for w, s in enumerate(start)]
    return Answers(windows, start, end, own, merge_nbest([o for o in own if o is not None], n_best))


def answer_windows(model: torch.nn.Module, tokenizer: BertTokenizer, question: str, context: str,
                   max_length: int = WINDOW_TOKENS, doc_stride: int | None = None, n_best: int = N_BEST,
                   max_answer_length: int = MAX_ANSWER_LENGTH) -> Answers:
    """All windows of the passage in one batch, and the n best spans over all of them."""
    windows = make_windows(tokenizer, question, context, max_length=max_length, doc_stride=doc_stride)
    start, end = run_windows(model, windows)
    return collect(windows, start, end, context, n_best, max_answer_length)


def window_view(answers: Answers, tokenizer: BertTokenizer, w: int) -> QAView:
    """What the explorer draws for window w: its probabilities and its own best span."""
    window, start, end = answers.windows[w], answers.start_logits[w], answers.end_logits[w]
    best = answers.window_nbest[w][0] if answers.window_nbest[w] else None
    return QAView(tokenizer.convert_ids_to_tokens(window.input_ids), start.softmax(-1), end.softmax(-1),
                  best, span_tokens(window.offsets, best) if best else None, len(answers.windows))


def qa_view(model: torch.nn.Module, tokenizer: BertTokenizer, question: str, context: str,
            max_length: int = WINDOW_TOKENS) -> QAView:
    """The start/end probabilities of the first window and its best span, as the explorer draws them."""
    with widget_threads():
        answers = answer_windows(model, tokenizer, question, context, max_length)
    return window_view(answers, tokenizer, 0)


def span_tokens(offsets: Sequence[tuple[int, int] | None], span: Span) -> tuple[int, int]:
    """First and last token of a window whose characters lie inside the span."""
    inside = [t for t, o in enumerate(offsets) if o is not None and o[0] >= span.start_char and o[1] <= span.end_char]
    if not inside:
        raise ValueError(f"the span {span.text!r} covers no token of this window")
    return inside[0], inside[-1]


def focus_range(n_tokens: int, span: tuple[int, int] | None, width: int = FOCUS_TOKENS) -> tuple[int, int]:
    """[lo, hi): at most `width` tokens, centred on the span (from the start when there is none)."""
    if n_tokens <= width:
        return 0, n_tokens
    centre = (span[0] + span[1]) // 2 if span else 0
    lo = min(max(0, centre - width // 2), n_tokens - width)
    return lo, lo + width


def span_scores(start: torch.Tensor, end: torch.Tensor, offsets: Sequence[tuple[int, int] | None],
                max_answer_length: int = MAX_ANSWER_LENGTH) -> torch.Tensor:
    """(T, T) score s_i + e_j of the span from token i to token j; NaN where decode_spans never looks:
    outside the passage, end before start, or longer than max_answer_length tokens."""
    T = len(start)
    inside = torch.tensor([o is not None for o in offsets[:T]] + [False] * (T - len(offsets)))  # (T,)
    length = torch.arange(T)[None, :] - torch.arange(T)[:, None] + 1                          # (T, T)
    valid = inside[:, None] & inside[None, :] & (length >= 1) & (length <= max_answer_length)
    return (start[:, None] + end[None, :]).masked_fill(~valid, float("nan"))                  # (T, T)


def score_grid_html(scores: torch.Tensor, tokens: Sequence[str], lo: int, hi: int) -> str:
    """The [lo, hi) corner of the grid, coloured by each span's probability (softmax over the valid
    spans of the window) relative to the best one; hovering a cell gives s + e."""
    valid = ~scores.isnan()
    probs = torch.full_like(scores, float("nan"))
    probs[valid] = scores[valid].softmax(0)
    shown, part = scores[lo:hi, lo:hi], probs[lo:hi, lo:hi]                  # (n, n)
    colour = part / probs[valid].max() if valid.any() else part
    return grid_html(colour, tokens[lo:hi], tokens[lo:hi], shown, "起点 {row} → 终点 {column}：s + e = {value:.2f}",
                     "起点词元 ↓ · 终点词元 →（灰色：不可能是答案）",
                     colour_legend("0", "最好", "P(区间) 相对最好的区间："), cell_px=16,
                     masked_tip="起点 {row} → 终点 {column}：不是有效的区间")


BAR_PX = 90  # height of a probability of 1
CSS_COLOURS = {"tab:green": "#2ca02c", "tab:orange": "#ff7f0e"}


def bars_html(start_probs: torch.Tensor, end_probs: torch.Tensor, tokens: Sequence[str],
              gold: tuple[int, int] | None, predicted: tuple[int, int] | None, title: str | None) -> str:
    """P(start = i) and P(end = i) as HTML bars over the tokens, with the gold and predicted spans shaded:
    viz.qa.span_probabilities' picture, drawn in milliseconds instead of a second of matplotlib."""
    def shade(i: int) -> str:
        for kind, span in (("predicted", predicted), ("gold", gold)):
            if span and span[0] <= i <= span[1]:
                return f"background:{CSS_COLOURS[SPAN_COLOURS[kind]]}33"   # 20% opaque
        return ""
    rows = ""
    for name, probs in (("start", start_probs), ("end", end_probs)):
        cells = "".join(f"<td style='vertical-align:bottom;padding:0 1px;{shade(i)}' "
                        f"title=\"{html.escape(tokens[i])}: P({name})={p:.3f}\"><div style='height:{BAR_PX * p:.0f}px;"
                        "background:#1f77b4'></div></td>" for i, p in enumerate(probs.tolist()))
        rows += f"<tr style='height:{BAR_PX}px'><th>P({name} = i)</th>{cells}</tr>"
    labels = "".join(f"<th class=k><div>{html.escape(t)}</div></th>" for t in tokens)
    legend = " ".join(f"<span style='background:{CSS_COLOURS[SPAN_COLOURS[k]]}33;padding:0 6px'>"
                      f"{html.escape(SPAN_NAMES[k])}</span>"
                      for k, span in (("gold", gold), ("predicted", predicted)) if span)
    return ("<style>.bc-bars td{width:14px} .bc-bars th.k div{writing-mode:vertical-rl;transform:rotate(180deg)}"
            " .bc-bars th{font-weight:normal;white-space:nowrap}</style>"
            f"<div style='font-size:13px'>{html.escape(title or '')} {legend}"
            f"<table class=bc-bars style='border-collapse:collapse'>{rows}<tr><th></th>{labels}</tr></table></div>")


def stride_text(answers: Answers, w: int, context: str, doc_stride: int) -> str:
    """Where window w sits in the passage and how much it shares with the window before it."""
    spans = [[o for o in win.offsets if o is not None] for win in answers.windows]
    mine = spans[w]
    shared = len(set(mine) & set(spans[w - 1])) if w else 0
    first = html.escape(context[mine[0][0]:mine[0][1]])
    return (f"第 {w + 1} 个窗口（共 {len(answers.windows)} 个）：描述文本的 {len(mine)} 个词元，字符 "
            f"{mine[0][0]}–{mine[-1][1]}（共 {len(context)} 个），从「{first}」开始；相邻窗口的起点相隔 {doc_stride} "
            f"个词元（文档步幅 (doc stride)），所以这个窗口和前一个共有 {shared} 个词元")


class QAExplorer(widgets.VBox):
    """A passage and a question the student edits (and the gold answer, when known): the model runs on
    every window once per text change; moving the window slider only redraws."""

    def __init__(self, model: torch.nn.Module, tokenizer: BertTokenizer, question: str, context: str,
                 gold: str = "", max_length: int = WINDOW_TOKENS, doc_stride: int | None = None,
                 n_best: int = N_BEST):
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length
        self.doc_stride, self.n_best = doc_stride or max_length // 2, n_best
        self.context = widgets.Textarea(context, description="描述文本", continuous_update=False,
                                        layout=widgets.Layout(width="95%", height="110px"))
        self.question = widgets.Text(question, description="问题", continuous_update=False,
                                     layout=widgets.Layout(width="95%"))
        self.gold = widgets.Text(gold, description="正确答案", placeholder="（可选）",
                                 continuous_update=False, layout=widgets.Layout(width="60%"))
        self.window = widgets.IntSlider(0, min=0, max=0, description="窗口", continuous_update=False)
        self.answer = widgets.HTML(layout=widgets.Layout(min_height="40px"))
        self.nbest_view = widgets.HTML(layout=widgets.Layout(height="170px", overflow="auto"))
        self.stride = widgets.HTML()
        self.chart = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.grid = widgets.HTML(layout=widgets.Layout(height="520px", overflow="auto"))
        self.answers: Answers | None = None
        self.result: QAView | None = None
        self.shown = (0, 0)                       # the tokens [lo, hi) of the window that the chart draws
        for control in (self.context, self.question):
            control.observe(self.update, "value")
        self.gold.observe(self.show_answers, "value")
        self.window.observe(self.draw, "value")
        super().__init__([self.context, self.question, self.gold, self.answer, self.nbest_view,
                          widgets.HBox([self.window, self.stride]),
                          self.chart, self.grid])
        self.update()

    def update(self, change: dict | None = None) -> QAView | None:
        """Answer the current question one window at a time, each step one update on screen: the window
        on screen first (drawn at once), then every other window, each of which refines the n-best; when
        all have run, the view moves to the best answer's window. Returns what is shown (None when the
        text is unusable)."""
        try:
            windows = make_windows(self.tokenizer, self.question.value, self.context.value,
                                   max_length=self.max_length, doc_stride=self.doc_stride)
        except (ValueError, TypeError) as error:
            self.answer.value = error_html(error)
            self.answers = self.result = None
            return None
        first = min(self.window.value, len(windows) - 1)
        self.answers = None                                             # a new question: nothing known yet
        start: list[torch.Tensor | None] = [None] * len(windows)
        end: list[torch.Tensor | None] = [None] * len(windows)
        for w in [first, *(w for w in range(len(windows)) if w != first)]:
            with widget_threads():
                (start[w],), (end[w],) = run_windows(self.model, [windows[w]])
                self.answers = collect(windows, start, end, self.context.value, self.n_best, known=self.answers)
            self.show_answers()
            if w == first:
                self.show_window(first)
        if (home := self.best_window()) != first:                      # move the view to the best answer
            self.show_window(home)
        return self.result

    def best_window(self) -> int:
        """The window that holds the best answer's first character (0 without an answer)."""
        best = self.answers.nbest[0] if self.answers.nbest else None
        return next((w for w, win in enumerate(self.answers.windows) if best and best.start_char in
                     {o[0] for o in win.offsets if o}), 0)

    def show_window(self, w: int) -> None:
        """Point the slider at window w and draw it once (a changed slider draws through its observer)."""
        before = self.window.value
        with self.window.hold_trait_notifications():                     # one redraw, not one per trait
            self.window.max = len(self.answers.windows) - 1
            self.window.value = w
        if self.window.value == before:                                  # unchanged: nothing observed it
            self.draw()

    def show_answers(self, change: dict | None = None) -> str:
        """The n-best list; with a gold answer, its matches in bold and the best answer's EM/F1."""
        if self.answers is None:
            return self.answer.value
        gold = self.gold.value.strip()
        nbest = self.answers.nbest
        def cell(text: str) -> str:                                      # a match of the gold answer in bold
            shown = html.escape(text)
            return f"<b>{shown}</b>" if gold and normalize_answer(text) == normalize_answer(gold) else shown
        rows = "".join(f"<tr><td>{k + 1}</td><td>{cell(s.text)}</td><td>{s.score:.2f}</td></tr>"
                       for k, s in enumerate(nbest))
        self.nbest_view.value = ("<table style='font-size:14px'><tr><th>#</th><th>答案</th><th>得分 s+e</th></tr>"
                                 f"{rows}</table>")
        best = nbest[0].text if nbest else ""
        line = f"答案：<b>{html.escape(best)}</b>" if nbest else "没有有效的区间"
        if gold:
            score = squad_scores([best], [[gold]])
            line += f" · 正确答案：<b>{html.escape(gold)}</b>（EM {score['exact_match']:.0f}，F1 {score['f1']:.0f}）"
        done, pending = len(self.answers.windows) - self.answers.pending, self.answers.pending
        pending = ("" if not pending else f"（这是屏幕上这个窗口的答案；其余 {pending} 个窗口计算中…）" if done == 1
                   else f"（{done} 个窗口里最好的答案；其余 {pending} 个窗口计算中…）")
        self.answer.value = (f"<div style='font-size:15px'>{line}{pending} · {len(self.answers.windows)} 个窗口，每个最多 "
                             f"{self.max_length} 个词元，文档步幅 (doc stride) {self.doc_stride}</div>")
        return self.answer.value

    def draw(self, change: dict | None = None) -> QAView | None:
        """Redraw the chosen window from the cached logits: bars around its best span, and its score grid."""
        if self.answers is None:
            return None
        with widget_threads():
            return self._draw()

    def _draw(self) -> QAView:
        w = self.window.value
        view = self.result = window_view(self.answers, self.tokenizer, w)
        self.stride.value = stride_text(self.answers, w, self.context.value, self.doc_stride)
        lo, hi = self.shown = focus_range(len(view.tokens), view.best_tokens)
        gold = self.gold_tokens(w)
        within = (lambda s: (s[0] - lo, s[1] - lo) if s and lo <= s[0] and s[1] < hi else None)
        title = None if hi - lo == len(view.tokens) else (
            f"第 {lo}–{hi - 1} 个词元（共 {len(view.tokens)} 个），围绕答案；其余词元占 P(start) 的 "
            f"{1 - view.start_probs[lo:hi].sum().item():.0%}")
        self.chart.value = bars_html(view.start_probs[lo:hi], view.end_probs[lo:hi], view.tokens[lo:hi],
                                     within(gold), within(view.best_tokens), title)
        scores = span_scores(self.answers.start_logits[w], self.answers.end_logits[w], self.answers.windows[w].offsets)
        g_lo, g_hi = focus_range(len(view.tokens), view.best_tokens, GRID_TOKENS)
        self.grid.value = score_grid_html(scores, view.tokens, g_lo, g_hi)
        return view

    def gold_tokens(self, w: int) -> tuple[int, int] | None:
        """The gold answer's tokens in window w (its first occurrence in the passage), if it lies there."""
        gold, context = self.gold.value.strip(), self.context.value
        at = context.find(gold) if gold else -1
        if at < 0:
            return None
        try:
            return span_tokens(self.answers.windows[w].offsets, Span(gold, at, at + len(gold), 0.0))
        except ValueError:
            return None


def qa_explorer(model: torch.nn.Module, tokenizer: BertTokenizer,
                question: str = "Where did the fox jump?",
                context: str = "The quick brown fox jumped over the lazy dog near the riverbank in the morning.",
                gold: str = "", max_length: int = WINDOW_TOKENS, doc_stride: int | None = None) -> QAExplorer:
    """The QA explorer for a fine-tuned BertForQuestionAnswering (the classroom "qa" model)."""
    return QAExplorer(model, tokenizer, question, context, gold, max_length, doc_stride)
