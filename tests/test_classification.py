"""Sentence(-pair) classification and similarity: readers of the shipped and GLUE formats, features,
metrics against scipy, and clear errors."""
import hashlib
import io
import zipfile

import pytest
import scipy.stats
import torch

from bertcourse import BertConfig, BertForSequenceClassification, BertTokenizer
from bertcourse import data as datasets
from bertcourse.tasks import get_task
from bertcourse.tasks.classification import (PairExample, confusion_accuracy, confusion_counts, logits_of, pearson,
                                             spearman)

# The exact GLUE layouts (tab-separated, header row, no quoting; MNLI and STS-B carry extra columns).
SST2 = "sentence\tlabel\nit 's a charming and often affecting journey . \t1\nunflinchingly bleak and desperate \t0\n"
MNLI = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
        "sentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n"
        "0\t31193\t31193n\tgovernment\t( ( x ) )\t( ( y ) )\t(ROOT x)\t(ROOT y)\tConceptually cream skimming has "
        "two basic dimensions - product and geography.\tProduct and geography are what make cream skimming work. "
        "\tneutral\tneutral\n"
        "1\t101457\t101457e\ttelephone\t( x )\t( y )\t(ROOT x)\t(ROOT y)\tyou know during the season and i guess "
        "at at your level uh you lose them to the next level\tYou lose the things to the following level if the "
        "people recall.\tentailment\tentailment\n")
RTE = ("index\tsentence1\tsentence2\tlabel\n0\tNo Weapons of Mass Destruction Found in Iraq Yet.\t"
       "Weapons of Mass Destruction Found in Iraq.\tnot_entailment\n")
STSB = ("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\tAn air plane is taking off."
        "\t5.000\n1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\tA man is playing a large flute.\t"
        "A man is playing a flute.\t3.800\n")


def glue_zip(folder: str, files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{folder}/{name}", text)
    return buffer.getvalue()


@pytest.fixture
def glue_server(server, tmp_path, monkeypatch):
    """The four GLUE zips served on localhost in place of the official URLs, with an empty cache."""
    root, base, requests = server
    zips = {"sst-2": glue_zip("SST-2", {"train.tsv": SST2, "dev.tsv": SST2}),
            "mnli": glue_zip("MNLI", {"train.tsv": MNLI, "dev_matched.tsv": MNLI, "dev_mismatched.tsv": MNLI}),
            "rte": glue_zip("RTE", {"train.tsv": RTE, "dev.tsv": RTE}),
            "sts-b": glue_zip("STS-B", {"train.tsv": STSB, "dev.tsv": STSB})}
    for name, body in zips.items():
        filename = datasets.REMOTES[name].filename
        (root / filename).write_bytes(body)
        monkeypatch.setitem(datasets.REMOTES, name, datasets.Remote(
            filename, (f"{base}/{filename}",), hashlib.sha256(body).hexdigest(), len(body)))
    monkeypatch.setattr(datasets, "CACHE_DIR", tmp_path / "cache")
    return requests


@pytest.fixture(scope="module")
def tok():
    return BertTokenizer.from_pretrained()


def test_shipped_sets_load_with_known_labels(tok):
    for name, size in (("sentiment", 600), ("entailment", 400), ("similarity", 300)):
        task = get_task(name)
        splits = {s: task.load(s) for s in ("train", "dev", "test")}
        assert sum(map(len, splits.values())) >= size
        features = task.featurize(splits["dev"], tok, 64)  # every label is known, every text encodes
        assert len(features) == len(splits["dev"]) and max(len(f["input_ids"]) for f in features) <= 64
        assert (splits["train"][0].pair is None) == (name == "sentiment")


def test_glue_benchmarks_download_and_read(glue_server):
    sst = get_task("sentiment").load("train", "sst-2")
    assert [e.label for e in sst] == ["positive", "negative"] and sst[0].text.startswith("it 's a charming")
    mnli = get_task("entailment").load("test", "mnli")
    assert [e.label for e in mnli] == ["neutral", "entailment"]
    assert mnli[0].pair == "Product and geography are what make cream skimming work. "
    rte = get_task("rte").load("dev")  # RTE has no shipped set: its default is the benchmark
    assert rte[0].label == "not_entailment" and get_task("rte").num_labels == 2
    sts = get_task("similarity").load("dev", "sts-b")
    assert [e.label for e in sts] == [5.0, 3.8] and sts[1].pair == "A man is playing a flute."
    assert len(glue_server) == 4  # one download per benchmark, then the cache


def test_glue_directory_of_tsv_files(tmp_path):
    (tmp_path / "train.tsv").write_text(STSB)
    (tmp_path / "dev.tsv").write_text(STSB)
    assert [e.label for e in get_task("similarity").load("test", tmp_path)] == [5.0, 3.8]


def test_glue_dev_file_alone_in_a_folder_or_by_itself_maps_its_labels(tmp_path):
    """As downloaded: GLUE's dev.tsv (MNLI's dev_matched.tsv) alone is enough, raw labels become names."""
    for folder, text in (("SST-2", SST2), ("MNLI", MNLI), ("RTE", RTE), ("STS-B", STSB)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / ("dev_matched.tsv" if folder == "MNLI" else "dev.tsv")).write_text(text)
    sst = get_task("sentiment")
    expected = ["positive", "negative"]
    assert [e.label for e in sst.load("dev", tmp_path / "SST-2")] == expected
    assert [e.label for e in sst.load("test", tmp_path / "SST-2")] == expected  # GLUE's dev is our test
    assert [e.label for e in sst.load("dev", tmp_path / "SST-2" / "dev.tsv")] == expected
    assert sst.featurize(sst.load("dev", tmp_path / "SST-2"), BertTokenizer.from_pretrained(), 32)[0]["labels"] == 1
    assert [e.label for e in get_task("entailment").load("dev", tmp_path / "MNLI")] == ["neutral", "entailment"]
    assert get_task("rte").load("dev", tmp_path / "RTE" / "dev.tsv")[0].label == "not_entailment"
    assert [e.label for e in get_task("similarity").load("test", tmp_path / "STS-B")] == [5.0, 3.8]
    with pytest.raises(FileNotFoundError, match=r"MNLI holds no test.jsonl or dev_mismatched.tsv; pass a "
                                                r"directory holding test.jsonl or MNLI's dev_mismatched.tsv"):
        get_task("entailment").load("test", tmp_path / "MNLI")
    with pytest.raises(FileNotFoundError, match="SST-2 holds no train.jsonl or train.tsv"):
        sst.load("train", tmp_path / "SST-2")
    (tmp_path / "SST-2" / "test.tsv").write_text("index\tsentence\n0\tuneasy mishmash of styles and genres .\n")
    with pytest.raises(ValueError, match=r"no column \['label'\].*test.tsv files hold no labels: score on dev.tsv"):
        sst.load("test", tmp_path / "SST-2" / "test.tsv")
    (tmp_path / "dev.jsonl").write_text('{"text": "Lovely.", "label": "positive"}\n')
    assert sst.load("dev", tmp_path / "dev.jsonl") == [PairExample("Lovely.", None, "positive")]


def test_wrong_benchmark_or_split_or_folder_is_explained(tmp_path):
    with pytest.raises(ValueError, match="not a sentiment dataset"):
        get_task("sentiment").load("train", "mnli")
    with pytest.raises(ValueError, match="unknown split"):
        get_task("sentiment").load("validation")
    with pytest.raises(FileNotFoundError, match="no train.jsonl or train.tsv"):
        get_task("sentiment").load("train", tmp_path)
    with pytest.raises(FileNotFoundError, match="sst2 is neither a file nor a directory; .*names \\['sst-2'\\]"):
        get_task("sentiment").load("train", "sst2")
    (tmp_path / "train.tsv").write_text("text\tgold\nhi\t1\n")
    with pytest.raises(ValueError, match="no column"):
        get_task("sentiment").load("train", tmp_path)
    with pytest.raises(ValueError, match="unknown task"):
        get_task("sentiment-analysis")


def test_unknown_label_and_empty_text_are_named(tok):
    task = get_task("entailment")
    with pytest.raises(ValueError, match=r"unknown label 'maybe'.*entailment.*neutral.*contradiction"):
        task.featurize([PairExample("A man sleeps.", "He rests.", "maybe")], tok, 32)
    with pytest.raises(ValueError, match="empty"):
        task.featurize([PairExample("   ", "He rests.", "neutral")], tok, 32)


def test_correlations_equal_scipy():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.randint(0, 6, (50,), generator=g).double()  # many ties, as rounded scores have
        y = x + torch.randn(50, generator=g, dtype=torch.float64)
        assert pearson(x, y) == pytest.approx(scipy.stats.pearsonr(x, y)[0], abs=1e-10)
        assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y)[0], abs=1e-10)


def test_evaluate_and_predict_agree_with_the_logits(tok):
    torch.manual_seed(0)
    task = get_task("entailment")
    model = BertForSequenceClassification(BertConfig.tiny(vocab_size=len(tok), num_labels=3)).eval()
    examples = task.load("dev")[:20]
    logits = logits_of(model, tok, examples, 64, batch_size=7)  # batches of unequal padding
    one_by_one = torch.cat([logits_of(model, tok, [e], 64) for e in examples])
    torch.testing.assert_close(logits, one_by_one, atol=1e-5, rtol=1e-5)  # padding changes nothing
    gold = torch.tensor([task.labels.index(e.label) for e in examples])
    accuracy = task.evaluate(model, tok, examples, 64, 8)["accuracy"]
    assert accuracy == pytest.approx(float((logits.argmax(-1) == gold).float().mean()))
    probs = task.predict(model, tok, examples[0].text, examples[0].pair, max_length=64)
    assert list(probs) == sorted(probs, key=probs.get, reverse=True) and sum(probs.values()) == pytest.approx(1)
    assert max(probs, key=probs.get) == task.labels[int(logits[0].argmax())]
    with pytest.raises(ValueError, match="pass the second one"):
        task.predict(model, tok, "only one sentence")
    with pytest.raises(ValueError, match="single sentence"):
        get_task("sentiment").predict(model, tok, "one", "two")


def test_confusion_counts_tally_gold_rows_against_predicted_columns():
    g = torch.Generator().manual_seed(0)
    gold, predicted = torch.randint(0, 3, (200,), generator=g), torch.randint(0, 3, (200,), generator=g)
    counts = confusion_counts(gold, predicted, 3)
    expected = [[sum(1 for a, b in zip(gold.tolist(), predicted.tolist()) if (a, b) == (i, j)) for j in range(3)]
                for i in range(3)]
    assert counts.tolist() == expected and int(counts.sum()) == 200
    assert confusion_counts([1, 1, 0], [1, 0, 0], 2).tolist() == [[1, 0], [1, 1]]  # a gold 1 read as 0
    assert confusion_accuracy(counts) == pytest.approx(float((gold == predicted).float().mean()))


def test_confusion_counts_and_accuracy_explain_bad_input():
    with pytest.raises(ValueError, match="3 gold labels but 2 predictions"):
        confusion_counts([0, 1, 1], [0, 1], 2)
    with pytest.raises(ValueError, match=r"0..1 \(num_labels=2\), found \[2\]"):
        confusion_counts([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="square"):
        confusion_accuracy(torch.ones(2, 3))
    with pytest.raises(ValueError, match="no examples"):
        confusion_accuracy(torch.zeros(2, 2))
