"""The shipped teaching sets are well formed: answer spans match their contexts, BIO tags are valid,
labels are known, sizes are what the datasheets promise, and no text leaks between splits."""
import json

import pytest

from bertcourse.data import DATA_DIR, read_documents

SPLITS = ("train", "dev", "test")


def jsonl(name, split):
    return [json.loads(line) for line in (DATA_DIR / name / f"{split}.jsonl").read_text().splitlines() if line]


def test_qa_answer_spans_match_their_contexts():
    ids, contexts = set(), {}
    for split in SPLITS:
        squad = json.loads((DATA_DIR / "qa" / f"{split}.json").read_text())
        assert squad["version"] == "1.1"
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                assert context not in contexts or contexts[context] == split, "a passage is in two splits"
                contexts[context] = split
                for qa in paragraph["qas"]:
                    assert qa["id"] not in ids and qa["question"].strip()
                    ids.add(qa["id"])
                    assert (len(qa["answers"]) == 1) if split == "train" else (1 <= len(qa["answers"]) <= 3)
                    for answer in qa["answers"]:
                        start = answer["answer_start"]
                        assert context[start:start + len(answer["text"])] == answer["text"], qa["id"]
    assert len(contexts) >= 170 and len(ids) >= 900


def valid_bio(tags):
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def test_ner_tags_are_valid_bio_with_all_types():
    total = 0
    for split in SPLITS:
        rows = jsonl("ner", split)
        total += len(rows)
        types = set()
        for row in rows:
            assert len(row["tokens"]) == len(row["tags"]) and all(t.strip() for t in row["tokens"])
            assert set(row["tags"]) <= {"O"} | {f"{p}-{t}" for p in "BI" for t in ("PER", "ORG", "LOC", "MISC")}
            assert valid_bio(row["tags"]), row["tokens"]
            types |= {t[2:] for t in row["tags"] if t != "O"}
        assert types == {"PER", "ORG", "LOC", "MISC"}, split
    assert total >= 400


@pytest.mark.parametrize("name, labels, minimum, keys", [
    ("sentiment", {"positive", "negative"}, 600, ("text",)),
    ("entailment", {"entailment", "neutral", "contradiction"}, 400, ("premise", "hypothesis")),
])
def test_classification_sets(name, labels, minimum, keys):
    seen = {}
    for split in SPLITS:
        rows = jsonl(name, split)
        assert {r["label"] for r in rows} == labels
        counts = [sum(r["label"] == label for r in rows) for label in labels]
        assert max(counts) - min(counts) <= 0.1 * len(rows), f"{split} is unbalanced: {counts}"
        for r in rows:
            text = tuple(r[k] for k in keys)
            assert seen.setdefault(text, split) == split, f"{text} leaks between splits"
    assert len(seen) >= minimum


def test_similarity_scores_cover_the_scale():
    rows = [r for split in SPLITS for r in jsonl("similarity", split)]
    scores = [r["score"] for r in rows]
    assert len(rows) >= 300 and all(0.0 <= s <= 5.0 for s in scores)
    assert all(sum(lo <= s < lo + 1 for s in scores) >= 0.1 * len(rows) for lo in range(5))


def test_pretraining_corpus():
    train, heldout = read_documents(DATA_DIR / "pretraining" / "train.txt"), read_documents(DATA_DIR / "pretraining" / "heldout.txt")
    assert len(train) >= 3000 and len(heldout) >= 180
    assert sum(len(s.split()) for d in train for s in d) >= 350_000
    assert not {s for d in train for s in d} & {s for d in heldout for s in d}


def test_cloze_sentences_are_answerable_and_unseen():
    """data/pretraining/cloze.tsv: one [MASK] each, a one-token sensible answer, not in the training corpus."""
    from bertcourse import BertTokenizer
    from bertcourse.pretrain_run import cloze_sentences

    tok = BertTokenizer.from_pretrained()
    rows = cloze_sentences()
    train = set((DATA_DIR / "pretraining" / "train.txt").read_text(encoding="utf-8").lower().splitlines())
    assert len(rows) >= 40 and len({s for s, _ in rows}) == len(rows)
    for sentence, answers in rows:
        assert tok.tokenize(sentence).count("[MASK]") == 1, sentence
        assert any(len(tok.tokenize(a)) == 1 for a in answers), f"no one-token answer for {sentence!r}"
        assert not {sentence.lower().replace("[mask]", a) for a in answers} & train, f"{sentence!r} is in train.txt"
