"""The WordPiece step-through (03_bert_inputs): type a word or a sentence and watch the model's own
tokenizer cut it, one vocabulary lookup at a time. Stage 1 is `BertTokenizer.basic_tokenize` (clean,
lower-case, split at spaces and punctuation, CJK characters apart); stage 2 is `wordpiece.wordpiece_spans`
with its trace switched on, so every step shown is a lookup the real tokenizer makes.
"""
from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets

from ..tokenizer import SPECIAL_TOKENS, BertTokenizer
from ..wordpiece import MAX_CHARS_PER_WORD, Candidate, wordpiece_spans
from .common import error_html


class WordSteps(NamedTuple):
    word: str                      # one word of stage 1
    candidates: list[Candidate]    # every lookup, in order (empty for special tokens and overlong words)
    pieces: list[str]              # what WordPiece made of it
    why: str                       # one line: how the word ended


def walk_through(tokenizer: BertTokenizer, text: str) -> list[WordSteps]:
    """Both stages on `text`, keeping each candidate WordPiece tried; the pieces equal tokenizer.tokenize(text)."""
    steps = []
    for word in tokenizer.basic_tokenize(text):
        if word in SPECIAL_TOKENS:                       # typed "[MASK]" stays whole, as in the tokenizer
            steps.append(WordSteps(word, [], [word], "特殊词元：整个保留"))
            continue
        trace: list[Candidate] = []
        pieces = [p for p, _, _ in wordpiece_spans(word, tokenizer.vocab, tokenizer.unk_token, trace=trace)]
        if len(word) > MAX_CHARS_PER_WORD:
            why = f"{len(word)} 个字符 > {MAX_CHARS_PER_WORD}：整个词变成 {tokenizer.unk_token}"
        elif pieces == [tokenizer.unk_token] and not trace[-1].found:
            why = (f"词表里没有哪个词元是「{html.escape(word[trace[-1].start:])}」的开头："
                   f"整个词变成 {tokenizer.unk_token}")
        else:
            why = f"得到 {len(pieces)} 个词元，查了 {len(trace)} 次词表，每次先试最长的候选"
        steps.append(WordSteps(word, trace, pieces, why))
    return steps


def _candidate_html(word: str, c: Candidate, latest: bool) -> str:
    """The word with the candidate underlined, and whether the vocabulary has it."""
    mark = "✓ 在词表里" if c.found else "✗ 不在词表里"
    shown = (f"{html.escape(word[:c.start])}<u style='background:#ffe08a'>{html.escape(word[c.start:c.end])}</u>"
             f"{html.escape(word[c.end:])}")
    style = "font-weight:bold" if latest else "color:#444"
    return f"<div style='{style}'>{shown} → 试 <code>{html.escape(c.piece)}</code> {mark}</div>"


class WordPieceSteps(widgets.VBox):
    """A text box and a step slider (with a play button): step k shows the first k lookups of all words."""

    def __init__(self, tokenizer: BertTokenizer, text: str):
        self.tokenizer = tokenizer
        self.steps: list[WordSteps] = []
        self.text = widgets.Text(text, description="文本", continuous_update=False, layout=widgets.Layout(width="95%"))
        self.step = widgets.IntSlider(0, min=0, max=0, description="步骤", continuous_update=True)
        self.play = widgets.Play(interval=600, min=0, max=0, description="播放")
        widgets.jslink((self.play, "value"), (self.step, "value"))
        self.words = widgets.HTML()
        self.view = widgets.HTML(layout=widgets.Layout(height="320px", overflow="auto"))
        self.text.observe(self.cut, "value")
        self.step.observe(self.draw, "value")
        super().__init__([self.text, self.words, widgets.HBox([self.play, self.step]), self.view])
        self.cut()

    def cut(self, change: dict | None = None) -> list[WordSteps]:
        """Run both stages on the new text; start the step-through at its last step (the result)."""
        try:
            self.steps = walk_through(self.tokenizer, self.text.value)
        except (TypeError, ValueError) as error:
            self.words.value = error_html(error)
            return self.steps
        words = " ".join(f"<code style='background:#eef'>{html.escape(s.word)}</code>" for s in self.steps)
        self.words.value = f"<div>第 1 阶段，基本分词器 (basic tokenizer) 切出的词：{words or '<i>（无）</i>'}</div>"
        total = sum(max(1, len(s.candidates)) for s in self.steps)      # a word without lookups is one step
        with self.step.hold_trait_notifications():
            self.play.max = self.step.max = total
            self.step.value = total
        self.draw()
        return self.steps

    def draw(self, change: dict | None = None) -> str:
        """The lookups up to the current step, word by word, and the pieces made so far."""
        left, parts, pieces = self.step.value, [], []
        for s in self.steps:
            if left <= 0:
                break
            shown = s.candidates[:left]
            left -= max(1, len(s.candidates))
            done = left >= 0
            lines = "".join(_candidate_html(s.word, c, not done and k == len(shown) - 1) for k, c in enumerate(shown))
            ending = (f"<div>→ <b>{html.escape(' '.join(s.pieces))}</b>（{s.why}）</div>" if done else "")
            parts.append(f"<div style='margin:6px 0'><b>{html.escape(s.word)}</b>{lines}{ending}</div>")
            if done:
                pieces += s.pieces
        result = html.escape(" ".join(pieces))
        self.view.value = (f"<div style='font-size:14px'><div>目前的词元：<code>{result}</code></div>"
                           f"{''.join(parts)}</div>")
        return self.view.value


def wordpiece_steps(tokenizer: BertTokenizer | None = None, text: str = "Unaffable tokenizers love 北京!") -> WordPieceSteps:
    """The step-through on a model's own tokenizer (default: the packaged MiniLM's vocabulary)."""
    return WordPieceSteps(tokenizer or BertTokenizer.from_pretrained(), text)
