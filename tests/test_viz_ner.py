"""The NER figures show the package's own alignment, probabilities and entity scores."""
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from bertcourse.viz.ner import (ENTITY_COLOURS, MISTAKE_COLOUR, entity_f1_bars, label_alignment, tag_probabilities,
                                tagged_sentences)
from viz_helpers import assert_readable, tick_texts


@pytest.fixture(scope="module")
def tok():
    from bertcourse import BertTokenizer

    return BertTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def ner_sentence(tok):
    """A shipped sentence with three entity types and three words cut into several WordPieces, aligned
    by the package: (words, tags, tokens, word_ids, labels)."""
    from bertcourse.tasks.ner import TAG_IDS, align_labels, encode_words, load

    example = next(ex for ex in load("train") if ex["tokens"][:4] == ["Spanish", "tennis", "star", "Carlos"])
    ids, word_ids = encode_words(tok, example["tokens"], 128)
    labels = align_labels(word_ids, [TAG_IDS[t] for t in example["tags"]])
    return example["tokens"], example["tags"], tok.convert_ids_to_tokens(ids), word_ids, labels


def texts_by_gid(ax, prefix: str) -> list:
    return sorted((t for t in ax.texts if (t.get_gid() or "").startswith(prefix)), key=lambda t: int(t.get_gid()
                  .rsplit("-", 1)[1]))


def test_label_alignment_shows_the_packages_labels_under_the_tokens(ner_sentence):
    from bertcourse.tasks.ner import TAGS

    words, tags, tokens, word_ids, labels = ner_sentence
    assert sum(word_ids.count(w) > 1 for w in range(len(words))) >= 3           # really several sub-tokens
    ax = label_alignment(words, tags, tokens, word_ids, labels).axes[0]
    assert_readable(ax.figure)
    assert [t.get_text() for t in texts_by_gid(ax, "token-")] == tokens
    assert [t.get_text() for t in texts_by_gid(ax, "word-")] == words
    shown = [t.get_text() for t in texts_by_gid(ax, "label-")]
    assert shown == ["-100" if label == -100 else TAGS[label] for label in labels]
    assert shown[0] == shown[-1] == "-100" and shown.count("-100") == len(tokens) - len(words)
    boxes = sorted((p for p in ax.patches if (p.get_gid() or "").startswith("word-box-")),
                   key=lambda p: int(p.get_gid().rsplit("-", 1)[1]))
    for w, (box, tag) in enumerate(zip(boxes, tags)):
        span = [k for k, i in enumerate(word_ids) if i == w]
        assert box.get_x() < span[0] and box.get_x() + box.get_width() > span[-1]     # the box covers its pieces
        expected = "white" if tag == "O" else ENTITY_COLOURS[tag[2:]]
        assert box.get_facecolor() == to_rgba(expected)
    with pytest.raises(ValueError, match="one word id and one label per token"):
        label_alignment(words, tags, tokens, word_ids, labels[:-1])
    with pytest.raises(ValueError, match="one tag per word"):
        label_alignment(words[:-1], tags[:-1], tokens, word_ids, labels)


def test_tag_probabilities_image_is_the_softmax_with_gold_dots_on_the_read_rows(ner_sentence):
    from bertcourse.tasks.ner import TAGS

    _, _, tokens, _, labels = ner_sentence
    probabilities = (3 * torch.randn(len(tokens), len(TAGS))).softmax(-1)         # (T, 9)
    ax = tag_probabilities(probabilities, tokens, labels).axes[0]
    assert_readable(ax.figure)
    np.testing.assert_allclose(ax.images[0].get_array(), probabilities.numpy())
    assert tick_texts(ax.get_yticklabels()) == tokens and tick_texts(ax.get_xticklabels()) == list(TAGS)
    greys = [to_rgba(label.get_color()) != to_rgba("black") for label in ax.get_yticklabels()]
    assert greys == [label == -100 for label in labels]
    gold = next(line for line in ax.lines if line.get_gid() == "gold")
    read = [t for t, label in enumerate(labels) if label != -100]
    assert list(gold.get_ydata()) == read and list(gold.get_xdata()) == [labels[t] for t in read]
    argmax = sorted((round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in ax.patches)
    assert argmax == list(enumerate(probabilities.argmax(-1).tolist()))
    with pytest.raises(ValueError, match=r"\(T, 9\)"):
        tag_probabilities(probabilities[:, :5], tokens, labels)
    with pytest.raises(ValueError, match="one label per token"):
        tag_probabilities(probabilities, tokens, labels[1:])


def test_entity_f1_bars_are_the_scores_per_type_and_overall():
    import random

    from bertcourse.tasks.ner import entity_scores, load

    rng = random.Random(0)
    gold = [ex["tags"] for ex in load("test")]
    noisy = [[t if rng.random() > p else rng.choice(["O", "B-PER", "I-ORG", "B-LOC"]) for t in s]
             for p in (0.1, 0.4) for s in gold]
    runs = {"good": entity_scores(gold, noisy[:len(gold)]), "bad": entity_scores(gold, noisy[len(gold):])}
    ax = entity_f1_bars(runs).axes[0]
    assert_readable(ax.figure)
    kinds = sorted(runs["good"]["per_type"])
    assert kinds == ["LOC", "MISC", "ORG", "PER"]
    for j, scores in enumerate(runs.values()):
        bars = [p for p in ax.patches if p.get_gid() == f"run-{j}"]
        expected = [100 * scores["per_type"][k]["f1"] for k in kinds] + [100 * scores["f1"]]
        assert [b.get_height() for b in bars] == pytest.approx(expected)
    assert runs["good"]["f1"] > runs["bad"]["f1"]
    support = {k: runs["good"]["per_type"][k]["support"] for k in kinds}
    assert tick_texts(ax.get_xticklabels()) == [f"{k}\n({support[k]} 个)" for k in kinds] + \
        [f"全部\n({sum(support.values())} 个)"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["good", "bad"]
    with pytest.raises(ValueError, match="entity_scores"):
        entity_f1_bars({"run": {"f1": 0.5}})


class SpanReader(HTMLParser):
    """The entity spans of tagged_sentences' HTML: (row, class, data-type, style, text)."""

    def __init__(self):
        super().__init__()
        self.rows, self.spans, self.open = -1, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows += 1
        elif tag == "span" and "entity" in attrs.get("class", ""):
            self.open = [self.rows, attrs["class"], attrs["data-type"], attrs["style"], ""]
        elif tag == "sub" and self.open:
            self.spans.append(tuple(self.open))
            self.open = None

    def handle_data(self, data):
        if self.open:
            self.open[4] += data


def test_tagged_sentences_colour_entities_and_mark_wrong_and_missed_ones():
    words = [["Ana", "Lopez", "left", "Banco", "Sol", "for", "<Lima>"], ["Rome", "is", "big"]]
    gold = [["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O", "B-LOC"], ["B-LOC", "O", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG", "O", "O", "B-LOC"], ["B-LOC", "O", "B-MISC"]]
    reader = SpanReader()
    reader.feed(tagged_sentences(words, predicted, gold).data)
    spans = [(row, cls, kind, text.strip()) for row, cls, kind, _, text in reader.spans]
    assert spans == [(0, "entity", "PER", "Ana Lopez"), (0, "entity missed", "ORG", "Banco Sol"),
                     (0, "entity", "LOC", "<Lima>"),
                     (1, "entity", "PER", "Ana Lopez"), (1, "entity wrong", "ORG", "Banco"),
                     (1, "entity", "LOC", "<Lima>"),
                     (2, "entity", "LOC", "Rome"), (3, "entity", "LOC", "Rome"), (3, "entity wrong", "MISC", "big")]
    for _, cls, kind, style, _ in reader.spans:
        assert f"background:{ENTITY_COLOURS[kind]}" in style
        assert (MISTAKE_COLOUR in style) == (cls != "entity")
        assert ("dashed" in style) == (cls == "entity missed")
    assert "&lt;Lima&gt;" in tagged_sentences(words, predicted, gold).data      # words are escaped
    alone = SpanReader()
    alone.feed(tagged_sentences(words, predicted).data)                          # no gold: no verdicts
    assert [(row, cls, text.strip()) for row, cls, _, _, text in alone.spans] == [
        (0, "entity", "Ana Lopez"), (0, "entity", "Banco"), (0, "entity", "<Lima>"), (1, "entity", "Rome"),
        (1, "entity", "big")]
    with pytest.raises(ValueError, match="2 sentences but 1 predicted"):
        tagged_sentences(words, predicted[:1])
    with pytest.raises(ValueError, match="sentence 1 has 3 words"):
        tagged_sentences(words, [predicted[0], ["O"]], gold)
