"""Extractive question answering (SQuAD v1.1): the answer is a span of the passage, found by two learned
vectors s and e that score every passage token as the answer's first and last token.

1. `load_squad` reads the SQuAD v1.1 JSON format and checks that every answer is where it claims to be;
2. `make_windows` builds `[CLS] question [SEP] context [SEP]` inputs; a context too long for one input is
   cut into overlapping windows whose starts are `doc_stride` tokens apart (google-research/bert's
   meaning; the `stride` of Hugging Face tokenizers is the *overlap* between windows instead);
3. `decode_spans` turns the start/end logits of all windows of one question into its n best answers;
4. `squad_scores` is the official SQuAD v1.1 exact match and F1.
"""
from __future__ import annotations

import functools
import json
import random
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

from ..data import DATA_DIR, fetch, split_file
from ..model import BertForQuestionAnswering
from ..tokenizer import BertTokenizer, Token
from .common import MODEL_INPUTS, Task, check_split, pad_batch, progress

# 256 tokens, the length all-MiniLM-L6-v2 was trained at: two thirds of the shipped training questions fit
# in one window. Measured on the shipped train split (MiniLM, batches of 16, one CPU thread), an epoch
# costs about 330 s at 128 or 192 tokens, 365 s at 256 and 500 s at 384 (run_squad.py's value); shorter
# windows save little because windows overlap, and more of them miss the answer: 61% at 128, 43% at 192,
# 31% at 256, 14% at 384.
MAX_LENGTH = 256
MAX_QUERY_LENGTH = 64   # longer questions are cut to this many tokens, as in run_squad.py
MAX_ANSWER_LENGTH = 30  # tokens
N_BEST = 20
# the fraction of answerless windows (label [CLS]) kept for training; see featurize. Measured with MiniLM at 128
# tokens, 191 steps of 16 (seed 1): test F1 11.2 keeping all of them, 48.5 keeping a quarter
UNANSWERED_RATE = 0.25


# ---- data ----------------------------------------------------------------------------------------
@dataclass
class SquadExample:
    """One question about one passage; building one checks it, so a bad answer offset fails here,
    loudly, instead of silently training the model on the wrong span."""
    id: str
    question: str
    context: str
    answers: list[tuple[str, int]] = field(default_factory=list)  # (text, answer_start); first = target

    def __post_init__(self) -> None:
        check_text(self.question, "question", self.id)
        check_text(self.context, "context", self.id)
        for text, start in self.answers:
            found = self.context[start:start + len(text)]
            if not text.strip() or start < 0 or found != text:
                raise ValueError(f"question {self.id!r}: answer {text!r} should start at character {start} "
                                 f"of the context, but the context has {found!r} there; fix answer_start "
                                 "(or the answer text) so that context[start:start+len(text)] == text")


def check_text(text: object, name: str, example_id: str = "") -> None:
    where = f"question {example_id!r}: " if example_id else ""
    if text is None:
        raise ValueError(f"{where}no {name} was given; question answering needs a question and the context "
                         "passage that contains its answer (on the command line: the question, then the context)")
    if not isinstance(text, str):
        raise TypeError(f"{where}the {name} must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{where}the {name} is empty ({text!r}); question answering needs a question "
                         "and a context passage that contains the answer")


def load_squad(path: str | Path) -> list[SquadExample]:
    """Every question of a SQuAD v1.1 JSON file ({"data": [{"paragraphs": [{"context", "qas"}]}]})."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no SQuAD file at {path}; pass a SQuAD v1.1 JSON file")
    raw = json.loads(path.read_text(encoding="utf-8"))
    examples = []
    try:
        for article in raw["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    answers = [(a["text"], a["answer_start"]) for a in qa["answers"]]
                    if not answers:
                        raise ValueError(f"{path}: question {qa['id']!r} has no answer; SQuAD v1.1 questions "
                                         "all have one (unanswerable SQuAD 2.0 questions are not supported)")
                    examples.append(SquadExample(qa["id"], qa["question"], paragraph["context"], answers))
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path} is not in the SQuAD v1.1 format (problem at {err}); expected "
                         '{"data": [{"paragraphs": [{"context": ..., "qas": [{"id", "question", '
                         '"answers": [{"text", "answer_start"}]}]}]}]}') from None
    if not examples:
        raise ValueError(f"{path} holds no questions")
    return examples


# SQuAD's test set is hidden, so its dev set serves as both dev and test
SQUAD_FILES = {"train": "train-v1.1.json", "dev": "dev-v1.1.json", "test": "dev-v1.1.json"}


def load(split: str, data: str | Path | None = None) -> list[SquadExample]:
    """The shipped set (data=None); "squad", the real SQuAD v1.1 (downloaded once, checksummed); a
    directory holding {split}.json or SQuAD's own train-v1.1.json / dev-v1.1.json; or one such file."""
    check_split(split)
    if data == "squad" and not Path(data).exists():  # a folder called squad is read as a folder
        return load_squad(fetch("squad-train" if split == "train" else "squad-dev"))
    return load_squad(split_file(DATA_DIR / "qa" if data is None else data, (f"{split}.json", SQUAD_FILES[split]),
                                 f"a directory holding {split}.json or {SQUAD_FILES[split]} (SQuAD v1.1 format), "
                                 "one such file, or 'squad' for the real benchmark"))


# ---- windows -------------------------------------------------------------------------------------
@dataclass
class Window:
    """One model input: the question and a slice of the context, with the map back to characters."""
    input_ids: list[int]
    token_type_ids: list[int]                 # 0: [CLS] question [SEP], 1: context slice [SEP]
    offsets: list[tuple[int, int] | None]     # (start_char, end_char) in the context; None elsewhere
    start_position: int = 0                   # the answer's first and last token; 0 ([CLS]) when the
    end_position: int = 0                     # answer is not entirely inside this window (run_squad.py)


@functools.lru_cache(maxsize=32)
def context_tokens(tokenizer: BertTokenizer, context: str) -> tuple[Token, ...]:
    """The context's tokens with their character offsets, kept for the next question on the same passage:
    a passage has many questions, and the QA explorer asks new ones about one passage."""
    return tuple(tokenizer.tokenize_with_offsets(context))


def answer_tokens(tokens: Sequence[Token], answer: tuple[str, int]) -> tuple[int, int]:
    """First and last context token that overlap the answer's characters."""
    text, start = answer
    inside = [k for k, (_, a, b, _) in enumerate(tokens) if a < start + len(text) and b > start]
    if not inside:
        raise ValueError(f"the answer {text!r} at character {start} covers no token of the context")
    return inside[0], inside[-1]


def make_windows(tokenizer: BertTokenizer, question: str, context: str, answer: tuple[str, int] | None = None,
                 max_length: int = MAX_LENGTH, doc_stride: int | None = None,
                 max_query_length: int = MAX_QUERY_LENGTH) -> list[Window]:
    """`[CLS] question [SEP] context-window [SEP]`, one per window, as run_squad.py builds them: each
    window holds max_length - len(question) - 3 context tokens and starts doc_stride tokens after the
    previous one (default: max_length // 2, so that windows overlap at any max_length; run_squad.py
    uses 128 with 384), until one reaches the end of the context."""
    check_text(question, "question")
    check_text(context, "context")
    doc_stride = max_length // 2 if doc_stride is None else doc_stride
    if doc_stride < 1:
        raise ValueError(f"doc_stride={doc_stride}: windows must move forward, use doc_stride >= 1")
    query = tokenizer.tokenize_with_offsets(question)[:max_query_length]
    doc = context_tokens(tokenizer, context)
    if not query or not doc:
        name = "question" if not query else "context"
        raise ValueError(f"the {name} has no tokens (only invisible characters); give it some words")
    room = max_length - len(query) - 3  # context tokens per window
    if room < 1:
        raise ValueError(f"the question has {len(query)} tokens, which leaves no room for the context in "
                         f"max_length={max_length} ([CLS] question [SEP] context [SEP]); raise max_length "
                         f"or shorten the question")
    first, last = answer_tokens(doc, answer) if answer is not None else (-1, -1)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    head = [cls, *tokenizer.convert_tokens_to_ids([t[0] for t in query]), sep]
    windows, start = [], 0
    while True:
        piece = doc[start:start + room]
        ids = head + tokenizer.convert_tokens_to_ids([t[0] for t in piece]) + [sep]
        types = [0] * len(head) + [1] * (len(piece) + 1)
        offsets = [None] * len(head) + [(a, b) for _, a, b, _ in piece] + [None]
        window = Window(ids, types, offsets)
        if start <= first and last < start + len(piece):
            window.start_position, window.end_position = first - start + len(head), last - start + len(head)
        windows.append(window)
        if start + len(piece) == len(doc):
            return windows
        start += min(len(piece), doc_stride)


def featurize(examples: Sequence[SquadExample], tokenizer: BertTokenizer, max_length: int = MAX_LENGTH,
              doc_stride: int | None = None, unanswered_rate: float = UNANSWERED_RATE,
              seed: int = 0) -> list[dict]:
    """Training features, one per window, labelled with the first answer ([CLS] where it is cut off).

    run_squad.py keeps every window whose answer is cut off, labelled [CLS]. With short windows those are
    most of them (61% at 128 tokens), so a short run mostly learns to point at [CLS], which decoding never
    reads. Like the `include_unknowns` rate of the Natural Questions and TyDi QA baselines, we keep each
    such window with probability `unanswered_rate` (1.0: run_squad.py; drawn from `seed`, so repeatable):
    enough for the model to learn to score spans low in windows without the answer."""
    if not 0.0 <= unanswered_rate <= 1.0:
        raise ValueError(f"unanswered_rate={unanswered_rate} is the fraction of answerless windows kept for "
                         "training: choose a value in [0, 1] (1.0 keeps all, as run_squad.py does)")
    rng = random.Random(seed)
    features = []
    for ex in examples:
        if not ex.answers:
            raise ValueError(f"question {ex.id!r} has no answer to train on")
        try:
            windows = make_windows(tokenizer, ex.question, ex.context, ex.answers[0], max_length, doc_stride)
        except ValueError as err:
            raise ValueError(f"question {ex.id!r}: {err}") from None
        windows = [w for w in windows if w.start_position > 0 or rng.random() < unanswered_rate]
        features += [{"input_ids": w.input_ids, "token_type_ids": w.token_type_ids,
                      "attention_mask": [1] * len(w.input_ids),
                      "start_positions": w.start_position, "end_positions": w.end_position} for w in windows]
    return features


# ---- decoding ------------------------------------------------------------------------------------
class Span(NamedTuple):
    text: str          # context[start_char:end_char]
    start_char: int
    end_char: int
    score: float       # start logit + end logit


def decode_spans(start_logits: Tensor, end_logits: Tensor, offsets: Sequence[Sequence[tuple[int, int] | None]],
                 context: str, max_answer_length: int = MAX_ANSWER_LENGTH, n_best: int = N_BEST) -> list[Span]:
    """The n best answers of one question over all its windows, best first, from an exact search over
    every valid (start, end) pair: both tokens in the context, start <= end, at most max_answer_length
    tokens. (run_squad.py only pairs the 20 best starts with the 20 best ends; the full search costs
    W*T*T additions, nothing next to the model.) A character span that overlapping windows both
    propose is listed once, with its best score."""
    if start_logits.dim() != 2 or start_logits.shape != end_logits.shape:
        raise ValueError(f"start_logits {tuple(start_logits.shape)} and end_logits {tuple(end_logits.shape)} "
                         "must both be (windows, tokens); for a single window use logits.unsqueeze(0)")
    W, T = start_logits.shape
    if len(offsets) != W or any(len(o) > T for o in offsets):
        raise ValueError(f"offsets must hold one list of at most {T} token offsets per window for "
                         f"{W} windows, got {len(offsets)} lists of lengths {[len(o) for o in offsets]}")
    if max_answer_length < 1 or n_best < 1:
        raise ValueError(f"max_answer_length={max_answer_length} and n_best={n_best} must be >= 1")
    padded = [list(window) + [None] * (T - len(window)) for window in offsets]
    char_start = torch.tensor([[-1 if o is None else o[0] for o in window] for window in padded])  # (W, T); -1 outside
    char_end = torch.tensor([[-1 if o is None else o[1] for o in window] for window in padded])    # (W, T)
    inside = char_start >= 0                       # (W, T)
    length = torch.arange(T)[None, :] - torch.arange(T)[:, None] + 1  # (T, T): end - start + 1
    valid = inside[:, :, None] & inside[:, None, :] & (length >= 1) & (length <= max_answer_length)  # (W, T, T)
    w, s, e = valid.nonzero(as_tuple=True)         # (N,) each: every valid span
    scores = start_logits.float()[w, s] + end_logits.float()[w, e]  # (N,)
    order = scores.argsort(descending=True, stable=True)
    ranked = zip(char_start[w, s][order].tolist(), char_end[w, e][order].tolist(), scores[order].tolist())
    return distinct_best((Span(context[a:b], a, b, score) for a, b, score in ranked), n_best)


def distinct_best(ranked: Iterable[Span], n_best: int) -> list[Span]:
    """The first n_best spans of `ranked` (best first) with distinct character ranges: a span that several
    windows propose is kept once, with its best score."""
    best, seen = [], set()
    for span in ranked:
        if (span.start_char, span.end_char) not in seen:
            seen.add((span.start_char, span.end_char))
            best.append(span)
            if len(best) == n_best:
                break
    return best


def merge_nbest(per_window: Sequence[Sequence[Span]], n_best: int = N_BEST) -> list[Span]:
    """The n best answers over several windows from each window's own n best (decode_spans of that window
    alone, in window order): the same list as decode_spans over all of them at once, because a span's best
    window ranks it among its own n best. Lets an answer be refined one window at a time."""
    ranked = sorted((span for window in per_window for span in window), key=lambda span: -span.score)  # stable
    return distinct_best(ranked, n_best)


# ---- SQuAD v1.1 metrics --------------------------------------------------------------------------
PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official v1.1 normalisation: lower case, no punctuation, no a/an/the, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, truth: str) -> float:
    """Harmonic mean of precision and recall over the bag of normalised words (0 if none shared)."""
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    shared = sum((Counter(pred) & Counter(gold)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(pred), shared / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions: list[str], references: list[list[str]]) -> dict[str, float]:
    """Exact match and F1 in percent; each question counts its best-matching ground truth."""
    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"got {len(predictions)} predictions for {len(references)} questions: give one "
                         "prediction per question, and at least one question")
    if any(not truths for truths in references):
        raise ValueError("every question needs at least one reference answer")
    exact = sum(max(normalize_answer(p) == normalize_answer(t) for t in truths)
                for p, truths in zip(predictions, references))
    f1 = sum(max(token_f1(p, t) for t in truths) for p, truths in zip(predictions, references))
    return {"exact_match": 100 * exact / len(predictions), "f1": 100 * f1 / len(predictions)}


# ---- model -> answers ----------------------------------------------------------------------------
@torch.no_grad()
def answer_questions(model: nn.Module, tokenizer: BertTokenizer, examples: Sequence[SquadExample],
           max_length: int = MAX_LENGTH, batch_size: int = 32, doc_stride: int | None = None,
           max_answer_length: int = MAX_ANSWER_LENGTH, n_best: int = N_BEST) -> list[list[Span]]:
    """The n best spans of each question: the windows of all questions go through the model in
    batches, then the windows of each question are decoded together."""
    positions = model.config.max_position_embeddings
    if max_length > positions:
        raise ValueError(f"max_length={max_length} is beyond the model's {positions} position embeddings; "
                         f"use max_length <= {positions} (long contexts are split into windows anyway)")
    model.eval()
    device = next(model.parameters()).device
    windows = []
    for ex in examples:
        try:
            windows.append(make_windows(tokenizer, ex.question, ex.context, None, max_length, doc_stride))
        except ValueError as err:
            raise ValueError(f"question {ex.id!r}: {err}" if ex.id else str(err)) from None
    flat = [w for ws in windows for w in ws]
    starts, ends = [], []  # per window: (T_window,) logits
    for i in progress(range(0, len(flat), batch_size), len(examples), "answering"):
        chunk = flat[i:i + batch_size]
        batch = pad_batch([{"input_ids": w.input_ids, "token_type_ids": w.token_type_ids,
                            "attention_mask": [1] * len(w.input_ids)} for w in chunk])
        out = model(**{k: batch[k].to(device) for k in MODEL_INPUTS})
        for row, w in enumerate(chunk):
            starts.append(out.start_logits[row, :len(w.input_ids)].float().cpu())
            ends.append(out.end_logits[row, :len(w.input_ids)].float().cpu())
    results, k = [], 0
    for ex, ws in zip(examples, windows):
        start_logits = pad_sequence(starts[k:k + len(ws)], batch_first=True)  # (W, T)
        end_logits = pad_sequence(ends[k:k + len(ws)], batch_first=True)      # (W, T)
        results.append(decode_spans(start_logits, end_logits, [w.offsets for w in ws], ex.context,
                                    max_answer_length, n_best))
        k += len(ws)
    return results


def evaluate(model: nn.Module, tokenizer: BertTokenizer, examples: Sequence[SquadExample],
             max_length: int = MAX_LENGTH, batch_size: int = 32, doc_stride: int | None = None) -> dict[str, float]:
    """SQuAD exact match and F1 of the best span of each question (an empty answer if none is valid)."""
    nbest = answer_questions(model, tokenizer, examples, max_length, batch_size, doc_stride)
    predictions = [spans[0].text if spans else "" for spans in nbest]
    return squad_scores(predictions, [[text for text, _ in ex.answers] for ex in examples])


def predict(model: nn.Module, tokenizer: BertTokenizer, question: str, context: str | None = None,
            max_length: int = MAX_LENGTH, doc_stride: int | None = None, n_best: int = N_BEST) -> list[Span]:
    """The n best answers to one question about one passage, best first. (The context is optional only
    in the signature, which all tasks share, so that leaving it out gets a clear message.)"""
    example = SquadExample("", question, context)
    return answer_questions(model, tokenizer, [example], max_length, doc_stride=doc_stride, n_best=n_best)[0]


QA = Task(name="qa", model_cls=BertForQuestionAnswering, num_labels=2, labels=(), metric="f1", load=load,
          featurize=featurize, evaluate=evaluate, predict=predict)
