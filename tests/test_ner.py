"""NER: data loaders (shipped, CoNLL-2003 columns, the download), sub-word label alignment against
transformers' word_ids, entity scores against seqeval, and batched evaluation and prediction."""
import hashlib
import http.server
import io
import json
import random
import threading
import warnings
import zipfile
from functools import partial
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from bertcourse import BertConfig, BertForTokenClassification, BertTokenizer, data
from bertcourse.tasks import get_task
from bertcourse.tasks.ner import (NER, TAG_IDS, TAGS, align_labels, encode_words, entities, entity_scores,
                                  featurize, load, predict, predict_tags, reading_windows, split_words, to_iob2,
                                  word_predictions)

# The shared task's description of its own files: IOB1, so an entity starts with I- and B- only
# separates two adjacent entities of the same type ("Berlin Paris").
CONLL_IOB1 = """-DOCSTART- -X- O O

U.N. NNP I-NP I-ORG
official NN I-NP O
Ekeus NNP I-NP I-PER
heads VBZ I-VP O
for IN I-PP O
Baghdad NNP I-NP I-LOC
. . O O

-DOCSTART- -X- O O

Flights NNS I-NP O
link VBP I-VP O
Berlin NNP I-NP I-LOC
Paris NNP I-NP B-LOC
and CC O O
West NNP I-NP I-LOC
Ham NNP I-NP I-ORG
United NNP I-NP I-ORG
"""
IOB1_EXPECTED = [
    {"tokens": ["U.N.", "official", "Ekeus", "heads", "for", "Baghdad", "."],
     "tags": ["B-ORG", "O", "B-PER", "O", "O", "B-LOC", "O"]},
    {"tokens": ["Flights", "link", "Berlin", "Paris", "and", "West", "Ham", "United"],
     "tags": ["O", "O", "B-LOC", "B-LOC", "O", "B-LOC", "B-ORG", "I-ORG"]},
]
# The layout of data.deepai.org/conll2003.zip (the copy Hugging Face datasets reads): IOB2 already.
CONLL_IOB2 = {
    "train.txt": "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n"
                 "call NN I-NP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n",
    "valid.txt": "-DOCSTART- -X- -X- O\n\nCRICKET NNP B-NP O\n- : O O\nLEICESTERSHIRE NNP B-NP B-ORG\n"
                 "TAKE NNP I-NP O\nOVER IN B-PP O\nAT NNP B-NP O\nTOP NNP I-NP O\n\nLONDON NNP B-NP B-LOC\n"
                 "1996-08-30 CD I-NP O\n\n",
    "test.txt": "-DOCSTART- -X- -X- O\n\nJAPAN NNP B-NP B-LOC\nGET VB B-VP O\nLUCKY NNP B-NP O\n\n",
}
# Words WordPiece cuts into many pieces, or that the basic tokenizer splits further.
LONG_WORDS = ["Llanfairpwllgwyngyll", "antidisestablishmentarianism", "U.S.-based", "Zürich's", "naïveté",
              "3,000,000", "Wojciechowski-Brzęczyszczykiewicz", "x" * 150]


@pytest.fixture(scope="module")
def tok():
    return BertTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def shipped():
    return {split: load(split) for split in ("train", "dev", "test")}


def random_tags(rng: random.Random, n: int, types=("PER", "ORG", "LOC", "MISC")) -> list[str]:
    """Tags drawn independently, so I- without B- and type changes inside an entity are common."""
    return [rng.choice(["O", "O", "O", f"B-{rng.choice(types)}", f"I-{rng.choice(types)}"]) for _ in range(n)]


# ---- data ----------------------------------------------------------------------------------------
def test_task_is_registered():
    assert get_task("ner") is NER
    assert NER.model_cls is BertForTokenClassification and NER.num_labels == len(TAGS) == 9
    assert NER.labels == TAGS and TAGS[0] == "O" and NER.metric == "f1"


def test_shipped_splits_load(shipped):
    assert {k: len(v) for k, v in shipped.items()} == {"train": 340, "dev": 70, "test": 69}
    assert shipped["train"][0]["tokens"][:2] == ["Angela", "Merkel"]
    assert all(set(ex["tags"]) <= set(TAGS) for split in shipped.values() for ex in split)


def test_conll_columns_are_read_and_iob1_becomes_iob2(tmp_path):
    for name in ("train.txt", "valid.txt", "test.txt"):
        (tmp_path / name).write_text(CONLL_IOB1)
    assert load("dev", tmp_path) == IOB1_EXPECTED
    (tmp_path / "valid.txt").write_text(CONLL_IOB2["valid.txt"])  # IOB2 is read unchanged
    assert load("dev", tmp_path)[0]["tags"] == ["O", "O", "B-ORG", "O", "O", "O", "O"]
    with pytest.raises(FileNotFoundError, match=r"missing is neither a file nor a directory; pass a directory "
                                                r"holding dev.jsonl .* valid.txt or eng.testa, one such file"):
        load("dev", tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load("valid", tmp_path)


def test_conll_files_load_under_every_name_and_alone(tmp_path, monkeypatch):
    """The shared task's own eng.testb (IOB1), a folder holding test.txt alone, and the file itself."""
    (tmp_path / "eng.testb").write_text(CONLL_IOB1)
    assert load("test", tmp_path) == IOB1_EXPECTED
    assert load("test", tmp_path / "eng.testb") == IOB1_EXPECTED
    alone = tmp_path / "conll2003"
    alone.mkdir()
    (alone / "test.txt").write_text(CONLL_IOB2["test.txt"])
    monkeypatch.chdir(tmp_path)  # a folder named like the benchmark is read, not downloaded
    assert load("test", alone) == load("test", alone / "test.txt") == load("test", "conll2003") == [
        {"tokens": ["JAPAN", "GET", "LUCKY"], "tags": ["B-LOC", "O", "O"]}]
    with pytest.raises(FileNotFoundError, match=r"conll2003 holds no dev.jsonl or valid.txt or eng.testa"):
        load("dev", alone)
    (alone / "dev.jsonl").write_text(json.dumps({"tokens": ["Paris"], "tags": ["B-LOC"]}) + "\n")
    assert load("dev", alone / "dev.jsonl") == [{"tokens": ["Paris"], "tags": ["B-LOC"]}]


def test_iob1_to_iob2_keeps_the_entities_conlleval_reads():
    """conlleval (and seqeval's default mode) reads IOB1 as it is, so the conversion must not change
    a single entity; its output is well-formed IOB2, and converting IOB2 again changes nothing."""
    rng = random.Random(0)
    for _ in range(3000):
        iob1 = random_tags(rng, rng.randint(0, 12))
        iob2 = to_iob2(iob1)
        assert get_entities(iob2) == get_entities(iob1)
        starts = [i for i, t in enumerate(iob2) if t.startswith("I-") and (i == 0 or iob2[i - 1][2:] != t[2:])]
        assert starts == [], iob2  # every I-X continues an X entity
        assert to_iob2(iob2) == iob2


@pytest.fixture
def conll_server(tmp_path, monkeypatch):
    """data.deepai.org/conll2003.zip, as a local HTTP server serves it, with an empty cache."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in CONLL_IOB2.items():
            archive.writestr(name, text)
    body = buffer.getvalue()
    www = tmp_path / "www"
    www.mkdir()
    (www / "conll2003.zip").write_bytes(body)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/conll2003.zip"
    monkeypatch.setitem(data.REMOTES, "conll2003",
                        data.Remote("conll2003.zip", (url,), hashlib.sha256(body).hexdigest(), len(body)))
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    yield
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_conll2003_by_name_downloads_and_reads_the_zip(conll_server, tmp_path):
    train = load("train", "conll2003")
    assert train == [{"tokens": ["EU", "rejects", "German", "call"], "tags": ["B-ORG", "O", "B-MISC", "O"]},
                     {"tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"]}]
    dev = load("dev", "conll2003")  # dev is valid.txt
    assert [ex["tokens"][0] for ex in dev] == ["CRICKET", "LONDON"] and dev[1]["tags"] == ["B-LOC", "O"]
    assert load("test", "conll2003")[0]["tags"] == ["B-LOC", "O", "O"]
    assert (tmp_path / "cache" / "conll2003.zip").is_file()


def test_unknown_tags_and_broken_lines_are_named(tmp_path, tok):
    good = {"tokens": ["Paris", "is", "big"], "tags": ["B-LOC", "O", "O"]}
    bad = {"tokens": ["On", "Monday", "morning"], "tags": ["O", "B-DATE", "I-DATE"]}
    (tmp_path / "train.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ValueError, match=r"unknown tag 'B-DATE' in sentence 1 of .*train.jsonl "
                                         r"\('On Monday morning'\); allowed tags: O, B-PER, I-PER"):
        load("train", tmp_path)
    (tmp_path / "test.txt").write_text("Paris NNP B-NP B-LOC\n\nOn IN B-PP O\nMonday NNP B-NP I-DATE\n")
    with pytest.raises(ValueError, match=r"unknown tag 'I-DATE' in sentence 1 of .*test.txt.*allowed tags"):
        load("test", tmp_path)
    (tmp_path / "test.txt").write_text("Paris NNP B-NP B-LOC\nBerlin\n")
    with pytest.raises(ValueError, match=r"test.txt, line 2: 'Berlin' has no NER column"):
        load("test", tmp_path)
    with pytest.raises(ValueError, match="unknown tag 'B-DATE' in sentence 1"):
        featurize([good, bad], tok)
    with pytest.raises(ValueError, match="sentence 0 needs non-empty lists 'tokens' and 'tags' of equal length"):
        featurize([{"tokens": ["Paris", "is"], "tags": ["B-LOC"]}], tok)


# ---- features ------------------------------------------------------------------------------------
def test_features_equal_transformers_word_alignment(shipped, tok, hf_tokenizer):
    """Token ids and word ids as transformers' is_split_into_words gives them, and labels as its
    run_ner example aligns them (label_all_tokens=False)."""
    for examples in shipped.values():
        features = featurize(examples, tok, max_length=128)
        for ex, feature in zip(examples, features):
            ref = hf_tokenizer(ex["tokens"], is_split_into_words=True)
            ids, word_ids = encode_words(tok, ex["tokens"], 128)
            assert feature["input_ids"] == ids == ref["input_ids"]
            assert word_ids == ref.word_ids()
            expected = [-100 if w is None or (k > 0 and ref.word_ids()[k - 1] == w) else TAG_IDS[ex["tags"][w]]
                        for k, w in enumerate(ref.word_ids())]
            assert feature["labels"] == expected
            assert feature["token_type_ids"] == [0] * len(ids) and feature["attention_mask"] == [1] * len(ids)


def test_alignment_round_trips_word_labels(shipped, tok, hf_tokenizer):
    rng = random.Random(0)
    sentences = [ex["tokens"] for split in shipped.values() for ex in split]
    sentences += [rng.sample(LONG_WORDS, len(LONG_WORDS)) for _ in range(20)]
    pieces = [len(hf_tokenizer(w, add_special_tokens=False)["input_ids"]) for w in LONG_WORDS]
    assert max(pieces) >= 8 and sum(p > 1 for p in pieces) >= 6  # really many sub-tokens
    for words in sentences:
        _, word_ids = encode_words(tok, words, 512)
        assert word_ids == hf_tokenizer(words, is_split_into_words=True).word_ids()
        word_labels = [rng.randrange(len(TAGS)) for _ in words]
        labels = align_labels(word_ids, word_labels)
        assert word_predictions(word_ids, labels) == word_labels
        assert sum(label != -100 for label in labels) == len(words)


def test_a_word_without_sub_tokens_still_gets_a_prediction(tok):
    words = ["Hello", "\u200b", "world"]  # a zero-width space: the cleaner drops it, leaving nothing
    ids, word_ids = encode_words(tok, words, 16)
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "hello", "[UNK]", "world", "[SEP]"]
    assert word_ids == [None, 0, 1, 2, None]
    assert word_predictions(word_ids, align_labels(word_ids, [5, 6, 7])) == [5, 6, 7]


def test_bad_alignment_input_is_explained(tok):
    short = {"tokens": ["Paris"], "tags": ["B-LOC"]}
    long = {"tokens": LONG_WORDS, "tags": ["O"] * len(LONG_WORDS)}
    n = len(encode_words(tok, LONG_WORDS, 512)[0])
    with pytest.raises(ValueError, match=rf"sentence 1 has {n} tokens with \[CLS\] and \[SEP\], more than "
                                         r"max_length=16; raise max_length"):
        featurize([short, long], tok, max_length=16)
    with pytest.raises(ValueError, match="the tokens cover 2 words but 3 word labels were given"):
        align_labels([None, 0, 0, 1, None], [1, 2, 3])


def test_collate_pads_labels_with_the_ignored_index(shipped, tok):
    features = featurize(shipped["dev"][:4], tok)
    batch = NER.collate(features)
    lengths = [len(f["input_ids"]) for f in features]
    assert batch["labels"].shape == batch["input_ids"].shape == (4, max(lengths))
    for row, n in enumerate(lengths):
        assert (batch["labels"][row, n:] == -100).all() and (batch["attention_mask"][row, n:] == 0).all()


# ---- entities and scores -------------------------------------------------------------------------
def test_entities_equal_seqeval_on_random_and_ill_formed_tags():
    rng = random.Random(0)
    cases = [["I-PER", "I-PER", "O"], ["B-PER", "I-LOC", "I-LOC"], ["O", "I-ORG", "B-ORG", "I-ORG"], []]
    cases += [random_tags(rng, rng.randint(1, 15)) for _ in range(5000)]
    for tags in cases:
        assert entities(tags) == [(kind, start, end + 1) for kind, start, end in get_entities(tags)], tags
    assert entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5)]
    with pytest.raises(ValueError, match="'E-PER' is not a BIO tag"):
        entities(["B-PER", "E-PER"])


def test_entity_scores_equal_seqeval():
    rng = random.Random(1)
    checked = 0
    for _ in range(300):
        lengths = [rng.randint(0, 12) for _ in range(rng.randint(1, 12))]
        types = ("PER", "ORG", "LOC", "MISC", "DATE")[: rng.randint(1, 5)]
        y_true = [random_tags(rng, n, types) for n in lengths]
        # predictions: the truth with some tags changed, so scores spread over the whole 0-1 range
        noise = rng.random()
        y_pred = [[t if rng.random() > noise else rng.choice(random_tags(rng, 1, types)) for t in s] for s in y_true]
        ours = entity_scores(y_true, y_pred)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # seqeval warns where a score is 0/0 (and sets it to 0, as we do)
            assert ours["precision"] == pytest.approx(precision_score(y_true, y_pred), abs=1e-12)
            assert ours["recall"] == pytest.approx(recall_score(y_true, y_pred), abs=1e-12)
            assert ours["f1"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
            if not ours["per_type"]:
                continue
            report = classification_report(y_true, y_pred, output_dict=True)
        assert set(ours["per_type"]) == {k for k in report if not k.endswith(" avg")}
        for kind, scores in ours["per_type"].items():
            ref = report[kind]
            assert scores == pytest.approx({"precision": ref["precision"], "recall": ref["recall"],
                                            "f1": ref["f1-score"], "support": ref["support"]}, abs=1e-12)
        checked += 1
    assert checked > 250


def test_entity_scores_reject_mismatched_input():
    with pytest.raises(ValueError, match="y_true has 2 sentences but y_pred has 1"):
        entity_scores([["O"], ["B-PER"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 1 has 2 true tags but 1 predicted"):
        entity_scores([["O"], ["B-PER", "I-PER"]], [["O"], ["B-PER"]])
    assert entity_scores([["O", "O"]], [["O", "O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "per_type": {}}


# ---- evaluation and prediction -------------------------------------------------------------------
def test_batched_evaluation_equals_one_sentence_at_a_time(shipped, tok, hf_tokenizer):
    """Padding, batching and the first-sub-token rule must not change a single prediction."""
    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig.tiny(num_labels=len(TAGS))).eval()
    examples = shipped["dev"]
    y_pred = []
    with torch.no_grad():
        for ex in examples:
            enc = hf_tokenizer(ex["tokens"], is_split_into_words=True, return_tensors="pt")
            predicted = model(enc["input_ids"]).logits[0].argmax(-1).tolist()
            word_ids = enc.word_ids()
            y_pred.append([TAGS[predicted[k]] for k, w in enumerate(word_ids)
                           if w is not None and word_ids[k - 1] != w])
    assert sum(len(get_entities(p)) for p in y_pred) > 50  # a random model tags plenty of entities
    model.train()
    assert predict_tags(model, tok, examples, 7) == y_pred
    assert not model.training
    y_true = [ex["tags"] for ex in examples]
    result = NER.evaluate(model, tok, examples, 128, 64)
    assert result == entity_scores(y_true, y_pred) and set(result["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert result["f1"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
    with pytest.raises(ValueError, match="no examples to tag"):
        NER.evaluate(model, tok, [], 128, 8)


def test_a_sentence_longer_than_max_length_is_tagged_whole(shipped, tok):
    """CoNLL-2003's test sentence 33 has 122 tokens; training at max_length 96 refuses it (a cut would leave
    words untagged), scoring reads it whole: the same tags as the model gives it alone, unbatched."""
    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig.tiny(num_labels=len(TAGS))).eval()
    words = [w for ex in shipped["dev"][:12] for w in ex["tokens"]]
    long = {"tokens": words, "tags": ["O"] * len(words)}
    ids, word_ids = encode_words(tok, words, 512)
    assert 122 < len(ids) < 512
    with pytest.raises(ValueError, match="more than max_length=96"):
        featurize([long], tok, 96)
    alone = model(torch.tensor([ids])).logits[0].argmax(-1).tolist()
    assert predict_tags(model, tok, [shipped["dev"][0], long], 8)[1] == [TAGS[t] for t in word_predictions(word_ids, alone)]
    assert NER.evaluate(model, tok, [long], 96, 8)["precision"] >= 0  # scored, not refused


def test_beyond_the_positions_a_sentence_is_read_in_windows_of_whole_words(tok):
    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig.tiny(num_labels=len(TAGS), max_position_embeddings=32)).eval()
    words = ["Angela", "Merkel", "visited", "Llanfairpwllgwyngyll", "on", "Monday", "."] * 9
    windows = reading_windows(tok, words, 32)
    assert len(windows) > 2 and all(len(ids) <= 32 for ids, _ in windows) and spans_of(windows)[-1][1] == len(words)
    assert [tok.convert_ids_to_tokens(ids[1:-1]) for ids, _ in windows] == \
        [tok.convert_ids_to_tokens(ids[1:-1]) for ids, _ in [encode_words(tok, words[s:e], 512) for s, e in
                                                              spans_of(windows)]]
    tags = predict_tags(model, tok, [{"tokens": words}], 4)[0]
    assert len(tags) == len(words)
    assert tags == [t for s, e in spans_of(windows) for t in predict_tags(model, tok, [{"tokens": words[s:e]}])[0]]


def spans_of(windows) -> list[tuple[int, int]]:
    """Consecutive word ranges of reading_windows' windows (their word ids count from 0 in each)."""
    spans, start = [], 0
    for _, word_ids in windows:
        n = max(w for w in word_ids if w is not None) + 1
        spans.append((start, start + n))
        start += n
    return spans


class IdEchoModel(torch.nn.Module):
    """A stand-in tagger whose tag for a token is its id modulo 9, so every word's tag is known."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))
        self.config = SimpleNamespace(max_position_embeddings=512)

    def forward(self, input_ids, **kw):
        return SimpleNamespace(logits=F.one_hot(input_ids % len(TAGS), len(TAGS)).float())  # (B, T, 9)


def test_predict_tags_each_word_of_raw_text(tok, hf_tokenizer):
    text = "Angela Merkel met Zürich's mayor at the U.N. headquarters, didn't she?"
    words = [w for w, _ in hf_tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text)]
    assert split_words(tok, text) == words and "Zürich" in words  # basic tokenizer's words, case kept
    enc = hf_tokenizer(words, is_split_into_words=True)
    firsts = [k for k, w in enumerate(enc.word_ids()) if w is not None and enc.word_ids()[k - 1] != w]
    tags = [TAGS[enc["input_ids"][k] % len(TAGS)] for k in firsts]
    result = predict(IdEchoModel(), tok, text)
    assert result.words == list(zip(words, tags))
    assert result.entities == [(k, " ".join(words[s:e + 1])) for k, s, e in get_entities(tags)]
    assert result.entities  # the example is only useful if some entity shows up
    with pytest.raises(ValueError, match="single sentence; pass no pair"):
        predict(IdEchoModel(), tok, text, "a pair")
    with pytest.raises(ValueError, match="no words to tag"):
        predict(IdEchoModel(), tok, "  \u200b ")


@pytest.mark.slow  # about 5 s of CPU: 80 optimiser steps
def test_trainer_fits_a_few_sentences_through_the_task(shipped, tok):
    """The whole path (featurize -> NER.collate -> Trainer -> evaluate) can learn: a tiny model memorises
    eight sentences. Generalisation from the pretrained MiniLM is measured in the README, not here."""
    from bertcourse.training import Trainer, TrainingConfig

    examples = [ex for ex in shipped["train"] if len(ex["tokens"]) <= 14][:8]
    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig.tiny(num_labels=len(TAGS), hidden_size=64, intermediate_size=128,
                                                       hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    assert NER.evaluate(model, tok, examples, 64, 8)["f1"] < 0.2
    config = TrainingConfig(steps=80, batch_size=8, learning_rate=3e-3, warmup=0.1, progress=False)
    Trainer(model, featurize(examples, tok, 64), NER.collate, config).fit()
    assert NER.evaluate(model, tok, examples, 64, 8)["f1"] == 1.0
