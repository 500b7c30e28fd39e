"""Named-entity recognition: one tag per word, read off BERT's vector for the word's first sub-token.

data -> features -> batch -> entity F1 -> tagged sentence:

* an example is a sentence already split into words, ``{"tokens": [...], "tags": [...]}``, tagged in
  BIO (IOB2): B-X starts an entity of type X, I-X continues it, O is outside any entity;
* each word is cut into WordPiece sub-tokens on its own (transformers' ``is_split_into_words``); the
  word's label goes on its first sub-token and -100, which the loss ignores, on the others
  (`align_labels`), as the BERT paper did for CoNLL-2003;
* predictions are read back from the first sub-tokens and scored per *entity*, as seqeval and the
  shared task's conlleval script do: an entity counts only if its type and both its ends are right.
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from ..data import DATA_DIR, fetch, split_file
from ..model import BertForTokenClassification
from ..tokenizer import BertTokenizer
from .common import MODEL_INPUTS, Task, check_split, pad_batch, progress

TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
TAG_IDS = {tag: i for i, tag in enumerate(TAGS)}
IGNORE = -100  # the label cross-entropy skips: a word's later sub-tokens, [CLS], [SEP] and [PAD]
# per split: the name in the common copies (data.deepai.org's zip, Hugging Face), then the shared task's own
CONLL_FILES = {"train": ("train.txt", "eng.train"), "dev": ("valid.txt", "eng.testa"),
               "test": ("test.txt", "eng.testb")}


# ---- data ----------------------------------------------------------------------------------------
def check_example(example: dict, where: str) -> dict:
    """A sentence must have one known tag per word; say which sentence and tag when it does not."""
    words, tags = example.get("tokens"), example.get("tags")
    if not isinstance(words, list) or not isinstance(tags, list) or len(words) != len(tags) or not words:
        raise ValueError(f"{where} needs non-empty lists 'tokens' and 'tags' of equal length, one tag per "
                         f"word; got {str(example)[:80]}")
    for tag in tags:
        if tag not in TAG_IDS:
            raise ValueError(f"unknown tag {tag!r} in {where} ({' '.join(words)[:60]!r}); allowed tags: "
                             f"{', '.join(TAGS)}. Map other entity types to these (or to O) first")
    return example


def read_jsonl(path: Path) -> list[dict]:
    """The shipped format: one {"tokens": [...], "tags": [...]} object per line."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [check_example(json.loads(line), f"sentence {i} of {path}") for i, line in enumerate(lines)]


def to_iob2(tags: list[str]) -> list[str]:
    """IOB1 -> IOB2: an I-X that does not continue an X entity starts one, so it becomes B-X."""
    return [f"B-{tag[2:]}" if tag.startswith("I-") and (i == 0 or tags[i - 1][2:] != tag[2:]) else tag
            for i, tag in enumerate(tags)]


def read_conll(text: str, source: str) -> list[dict]:
    """CoNLL-2003 columns (``word POS chunk NER`` per line, a blank line after each sentence,
    ``-DOCSTART-`` lines between documents) -> sentences tagged in IOB2.

    The shared task's own files (eng.train, ...) are in IOB1: an entity starts with I-, and B- only
    marks an entity that directly follows one of the same type ("Berlin Paris" = I-LOC B-LOC). The copy
    Hugging Face datasets reads (data.deepai.org/conll2003.zip, our `fetch("conll2003")`) was converted
    to IOB2, where every entity starts with B-. `to_iob2` turns IOB1 into IOB2 and leaves IOB2 as it is,
    so both read the same."""
    sentences: list[dict] = []
    words, tags = [], []
    for number, line in enumerate([*text.splitlines(), ""], 1):
        columns = line.split()
        if columns and columns[0] != "-DOCSTART-":
            if len(columns) < 2:
                raise ValueError(f"{source}, line {number}: {line!r} has no NER column; CoNLL-2003 lines "
                                 "are 'word POS chunk NER' with the tag last")
            words.append(columns[0])
            tags.append(columns[-1])
        elif words:  # a blank or -DOCSTART- line ends the sentence
            example = check_example({"tokens": words, "tags": tags}, f"sentence {len(sentences)} of {source}")
            sentences.append({"tokens": words, "tags": to_iob2(example["tags"])})
            words, tags = [], []
    return sentences


def load(split: str, data: str | Path | None = None) -> list[dict]:
    """The sentences of a split ('train', 'dev' or 'test') of: the shipped teaching set (None);
    "conll2003" (downloaded once, then cached); a directory holding {split}.jsonl in the shipped format,
    or CoNLL-2003's train.txt / valid.txt / test.txt (dev is valid.txt; eng.train / eng.testa /
    eng.testb as the shared task named them); or one such file."""
    check_split(split)
    if data is None:
        return read_jsonl(DATA_DIR / "ner" / f"{split}.jsonl")
    if data == "conll2003" and not Path(data).exists():  # a folder called conll2003 is read as a folder
        member = CONLL_FILES[split][0]
        with zipfile.ZipFile(fetch("conll2003")) as archive:
            text = archive.read(member).decode("utf-8")
        return read_conll(text, f"conll2003.zip:{member}")
    path = split_file(data, (f"{split}.jsonl", *CONLL_FILES[split]),
                      f"a directory holding {split}.jsonl like data/ner/ or CoNLL-2003's "
                      f"{' or '.join(CONLL_FILES[split])}, one such file, or 'conll2003'")
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    return read_conll(path.read_text(encoding="utf-8"), str(path))


# ---- features: words -> sub-tokens and back --------------------------------------------------------
def word_pieces(tokenizer: BertTokenizer, words: Sequence[str]) -> list[list[int]]:
    """The sub-token ids of each word, each word tokenized alone so that sub-tokens never straddle two
    words; a word the tokenizer drops (invisible characters) becomes [UNK], so it still gets a tag."""
    return [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word) or [tokenizer.unk_token]) for word in words]


def with_specials(tokenizer: BertTokenizer, pieces: Sequence[list[int]]) -> tuple[list[int], list[int | None]]:
    """[CLS] pieces of each word [SEP]: the ids, and for each token the index of its word (None on
    [CLS] and [SEP])."""
    ids, word_ids = [tokenizer.cls_token_id], [None]
    for w, word in enumerate(pieces):
        ids += word
        word_ids += [w] * len(word)
    return ids + [tokenizer.sep_token_id], word_ids + [None]


def encode_words(tokenizer: BertTokenizer, words: Sequence[str], max_length: int,
                 index: int = 0) -> tuple[list[int], list[int | None]]:
    """A training input: `with_specials` of the words' pieces, refused beyond max_length, since cutting
    the sentence would leave words without a tag."""
    ids, word_ids = with_specials(tokenizer, word_pieces(tokenizer, words))
    if len(ids) > max_length:
        raise ValueError(f"sentence {index} has {len(ids)} tokens with [CLS] and [SEP], more than "
                         f"max_length={max_length}; raise max_length (BERT has 512 positions) or split the "
                         "sentence, since cutting it would leave words without a tag")
    return ids, word_ids


def reading_windows(tokenizer: BertTokenizer, words: Sequence[str],
                    limit: int) -> list[tuple[list[int], list[int | None]]]:
    """A sentence as inputs of at most `limit` tokens that drop no word, for tagging: the whole sentence
    when it fits (BERT's 512 positions hold any real one: CoNLL-2003's longest test sentence has 122
    tokens), else consecutive runs of whole words. Word ids count within each window."""
    pieces = word_pieces(tokenizer, words)
    windows, start, used = [], 0, 0
    for w, word in enumerate(pieces):
        if w > start and used + len(word) + 2 > limit:  # + [CLS] and [SEP]
            windows.append(with_specials(tokenizer, pieces[start:w]))
            start, used = w, 0
        used += len(word)
    return windows + [with_specials(tokenizer, pieces[start:])]


def first_subtokens(word_ids: Sequence[int | None]) -> list[int]:
    """Positions of the first sub-token of every word, in word order."""
    return [k for k, w in enumerate(word_ids) if w is not None and (k == 0 or word_ids[k - 1] != w)]


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """Word labels -> token labels: each word's label on its first sub-token, -100 on the rest and on
    special tokens, so every word is predicted once and long words do not weigh more in the loss."""
    firsts = first_subtokens(word_ids)
    if len(firsts) != len(word_labels):
        raise ValueError(f"the tokens cover {len(firsts)} words but {len(word_labels)} word labels were given; "
                         "give one label per word, and every word at least one token")
    labels = [IGNORE] * len(word_ids)
    for k, label in zip(firsts, word_labels):
        labels[k] = label
    return labels


def word_predictions(word_ids: Sequence[int | None], token_predictions: Sequence) -> list:
    """The inverse of `align_labels`: each word takes the prediction on its first sub-token."""
    return [token_predictions[k] for k in first_subtokens(word_ids)]


def featurize(examples: Sequence[dict], tokenizer: BertTokenizer, max_length: int = 128) -> list[dict]:
    """Sentences -> model inputs with token labels, ready for `NER.collate` (pads labels with -100)."""
    features = []
    for i, example in enumerate(examples):
        check_example(example, f"sentence {i}")
        ids, word_ids = encode_words(tokenizer, example["tokens"], max_length, i)
        features.append({"input_ids": ids, "token_type_ids": [0] * len(ids), "attention_mask": [1] * len(ids),
                         "labels": align_labels(word_ids, [TAG_IDS[t] for t in example["tags"]])})
    return features


# ---- entities and their scores ---------------------------------------------------------------------
def split_tag(tag: str) -> tuple[str, str]:
    """'B-PER' -> ('B', 'PER'), 'O' -> ('O', '')."""
    if tag == "O":
        return "O", ""
    if tag[:2] in ("B-", "I-") and len(tag) > 2:
        return tag[0], tag[2:]
    raise ValueError(f"{tag!r} is not a BIO tag: use 'O', or 'B-' or 'I-' followed by an entity type")


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities a BIO tag sequence spells, as (type, start, end) with words[start:end] the entity
    (seqeval's get_entities gives end - 1). Ill-formed sequences, which taggers do produce, are read
    as conlleval and seqeval's default mode read them: an I-X after O or after another type starts an
    X entity as B-X would, and a change of type always ends an entity."""
    found = []
    kind, start = None, 0  # the entity being read: its type (None: none) and first word
    for i, tag in enumerate([*tags, "O"]):  # the extra O closes an entity that runs to the end
        prefix, tag_type = split_tag(tag)
        continues = prefix == "I" and tag_type == kind
        if kind is not None and not continues:
            found.append((kind, start, i))
            kind = None
        if prefix != "O" and not continues:
            kind, start = tag_type, i
    return found


def precision_recall_f1(true: set, predicted: set) -> dict[str, float]:
    """Exact-match scores of two sets of entities; 0 where a ratio has nothing to divide (as seqeval)."""
    hits = len(true & predicted)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def entity_scores(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> dict:
    """Entity-level micro precision, recall and F1 (0-1) over all sentences, and the same per entity type
    with its support (true entities), equal to seqeval's default (conlleval-compatible) mode."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} sentences but y_pred has {len(y_pred)}; "
                         "give one predicted tag sequence per true one")
    for i, (true_tags, pred_tags) in enumerate(zip(y_true, y_pred)):
        if len(true_tags) != len(pred_tags):
            raise ValueError(f"sentence {i} has {len(true_tags)} true tags but {len(pred_tags)} predicted "
                             "ones; predict exactly one tag per word")
    true = {(i, *e) for i, tags in enumerate(y_true) for e in entities(tags)}  # (sentence, type, start, end)
    pred = {(i, *e) for i, tags in enumerate(y_pred) for e in entities(tags)}
    per_type = {}
    for kind in sorted({e[1] for e in true | pred}):
        true_k, pred_k = {e for e in true if e[1] == kind}, {e for e in pred if e[1] == kind}
        per_type[kind] = {**precision_recall_f1(true_k, pred_k), "support": len(true_k)}
    return {**precision_recall_f1(true, pred), "per_type": per_type}


# ---- evaluation and prediction ---------------------------------------------------------------------
@torch.no_grad()
def predict_tags(model: nn.Module, tokenizer: BertTokenizer, examples: Sequence[dict],
                 batch_size: int = 32) -> list[list[str]]:
    """The model's tag for every word of every sentence: the argmax on the word's first sub-token. No
    sentence is refused or cut: each is read whole up to the model's positions, in windows beyond."""
    if not examples:
        raise ValueError("no examples to tag; pass at least one sentence")
    model.eval()
    device = next(model.parameters()).device
    limit = model.config.max_position_embeddings
    windows = [(i, *window) for i, ex in enumerate(examples)
               for window in reading_windows(tokenizer, check_words(ex, i), limit)]  # (sentence, ids, word_ids)
    order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]))  # like lengths together: less padding
    window_tags: list[list[str]] = [[] for _ in windows]
    for start in progress(range(0, len(order), batch_size), len(examples), "tagging"):
        chunk = order[start:start + batch_size]
        batch = pad_batch([{"input_ids": windows[k][1], "token_type_ids": [0] * len(windows[k][1]),
                            "attention_mask": [1] * len(windows[k][1])} for k in chunk])
        predicted = model(**{key: batch[key].to(device) for key in MODEL_INPUTS}).logits.argmax(-1)  # (B, T)
        for k, row in zip(chunk, predicted.tolist()):
            window_tags[k] = [TAGS[t] for t in word_predictions(windows[k][2], row)]
    tags: list[list[str]] = [[] for _ in examples]
    for (i, _, _), found in zip(windows, window_tags):
        tags[i] += found
    return tags


def check_words(example: dict, index: int) -> list[str]:
    """The words of a sentence to tag (tags are not needed to predict, only to score)."""
    words = example.get("tokens") if isinstance(example, dict) else None
    if not isinstance(words, list) or not words:
        raise ValueError(f"sentence {index} needs a non-empty list 'tokens' of words; got {str(example)[:80]}")
    return words


def evaluate(model: nn.Module, tokenizer: BertTokenizer, examples: Sequence[dict], max_length: int = 128,
             batch_size: int = 32) -> dict:
    """Entity precision, recall and F1 of the model's word tags, overall and per type (`entity_scores`
    of `predict_tags`), as conlleval reports them. max_length, the length trained at, is no limit here:
    a scored sentence is never cut (see `predict_tags`)."""
    for i, example in enumerate(examples):
        check_example(example, f"sentence {i}")
    return entity_scores([ex["tags"] for ex in examples], predict_tags(model, tokenizer, examples, batch_size))


def split_words(tokenizer: BertTokenizer, text: str) -> list[str]:
    """Raw text -> words where BERT's basic tokenizer splits (spaces, around punctuation), cut from the
    original text so they keep their case and accents."""
    spans: dict[int, tuple[int, int]] = {}  # word index -> (start, end) in text
    for _, start, end, w in tokenizer.tokenize_with_offsets(text):
        spans[w] = (spans.get(w, (start, end))[0], end)
    if not spans:
        raise ValueError(f"the text {text[:30]!r} has no words to tag; pass a sentence")
    return [text[start:end] for start, end in spans.values()]


class Tagging(NamedTuple):
    """predict()'s answer: every word with its tag, and the entities those tags spell."""
    words: list[tuple[str, str]]      # (word, tag)
    entities: list[tuple[str, str]]   # (type, its words joined by spaces)


@torch.no_grad()
def predict(model: nn.Module, tokenizer: BertTokenizer, text: str, pair: str | None = None,
            max_length: int = 128) -> Tagging:
    """Tag a raw sentence: split it into words, tag each word, and collect the entities (max_length is
    no limit, as in `evaluate`: a long text is read whole, or in windows beyond the model's positions)."""
    if pair is not None:
        raise ValueError("NER tags a single sentence; pass no pair")
    words = split_words(tokenizer, text)
    tags = predict_tags(model, tokenizer, [{"tokens": words}])[0]
    return Tagging(list(zip(words, tags)), [(kind, " ".join(words[s:e])) for kind, s, e in entities(tags)])


NER = Task(name="ner", model_cls=BertForTokenClassification, num_labels=len(TAGS), labels=TAGS, metric="f1",
           load=load, featurize=featurize, evaluate=evaluate, predict=predict)
