"""`python -m bertcourse evaluate`: a saved model scored on benchmark files as users download them; the
progress bar on long scoring; training time without the evaluations."""
import json
import time
from pathlib import Path

import pytest

from bertcourse import BertConfig, BertForSequenceClassification, BertTokenizer
from bertcourse.__main__ import main
from bertcourse.finetuning import FinetuneConfig, finetune, load_finetuned
from bertcourse.tasks.classification import PairExample, logits_of
from bertcourse.tasks.common import PROGRESS_FROM
from bertcourse.training import Trainer

ROOT = Path(__file__).resolve().parents[1]
# trained for one step on the few lines of the fixtures below, so a test takes seconds
QUICK = dict(epochs=1, batch_size=2, max_length=48, progress=False)

# the real layouts, a few lines each: GLUE SST-2 dev.tsv, CoNLL-2003 test.txt, SQuAD v1.1 dev-v1.1.json
SST2_DEV = ("sentence\tlabel\nit 's a charming and often affecting journey . \t1\nunflinchingly bleak and "
            "desperate \t0\nallows us to hope that nolan is poised to embark a major career . \t1\n")
CONLL_TEST = ("-DOCSTART- -X- -X- O\n\nSOCCER NN B-NP O\n- : O O\nJAPAN NNP B-NP B-LOC\nGET VB B-VP O\n\n"
              "Nadim NNP B-NP B-PER\nLadki NNP I-NP I-PER\n\n")
SQUAD_CONTEXT = "Super Bowl 50 was an American football game played at Levi's Stadium in Santa Clara, California."


@pytest.fixture(scope="module")
def sst2_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("glue") / "SST-2"
    folder.mkdir()
    (folder / "dev.tsv").write_text(SST2_DEV)
    return folder


@pytest.fixture(scope="module")
def sst2_train_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    for name in ("train.tsv", "dev.tsv"):
        (folder / name).write_text(SST2_DEV)
    return folder


@pytest.fixture(scope="module")
def sentiment_model(tmp_path_factory, sst2_train_folder):
    out = tmp_path_factory.mktemp("model")
    finetune("sentiment", FinetuneConfig(data=str(sst2_train_folder), **QUICK), out=out, splits=())
    return out


def test_evaluate_scores_a_saved_model_on_a_glue_dev_file(tmp_path, sst2_folder, sentiment_model, capsys):
    main(["evaluate", "--model", str(sentiment_model), "--data", str(sst2_folder), "--split", "dev",
          "--out", str(tmp_path / "out" / "scores.json")])
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "scores.json").read_text())
    task, model, tok, _ = load_finetuned(sentiment_model)
    examples = task.load("dev", sst2_folder / "dev.tsv")
    assert [e.label for e in examples] == ["positive", "negative", "positive"]
    assert report["scores"] == task.evaluate(model, tok, examples, 48, 64)
    assert report["examples"] == 3 and report["max_length"] == 48 and "3 examples" in printed
    assert f"accuracy     {report['scores']['accuracy']:.4f}" in printed
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_evaluate_ner_prints_every_entity_type_and_never_refuses_a_long_sentence(tmp_path, capsys):
    for name in ("train.txt", "valid.txt"):
        (tmp_path / name).write_text(CONLL_TEST)
    finetune("ner", FinetuneConfig(data=str(tmp_path), **QUICK), out=tmp_path / "model", splits=())
    long = "".join(f"word{i} NN B-NP O\n" for i in range(60)) + "Berlin NNP B-NP B-LOC\n\n"  # > 48 tokens
    (tmp_path / "test.txt").write_text(CONLL_TEST + long)
    main(["evaluate", "--model", str(tmp_path / "model"), "--data", str(tmp_path / "test.txt"),
          "--out", str(tmp_path / "s.json")])
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["examples"] == 3 and "3 examples" in printed
    assert {"LOC", "PER"} <= set(report["scores"]["per_type"])
    for kind, scores in report["scores"]["per_type"].items():
        assert f"  {kind:<6} precision {scores['precision']:.4f}" in printed
    assert report["scores"]["per_type"]["LOC"]["support"] == 2


def test_evaluate_qa_reports_squad_exact_match_and_f1(tmp_path, capsys):
    squad = {"version": "1.1", "data": [{"title": "Super_Bowl_50", "paragraphs": [{"context": SQUAD_CONTEXT, "qas": [
        {"id": "56be4db0acb8001400a502ec", "question": "Where was Super Bowl 50 played?",
         "answers": [{"text": text, "answer_start": SQUAD_CONTEXT.index(text)}
                     for text in ("Levi's Stadium", "Santa Clara, California")]}]}]}]}
    for name in ("train-v1.1.json", "dev-v1.1.json"):
        (tmp_path / name).write_text(json.dumps(squad))
    finetune("qa", FinetuneConfig(data=str(tmp_path), **QUICK), out=tmp_path / "model", splits=())
    main(["evaluate", "--model", str(tmp_path / "model"), "--data", str(tmp_path), "--out", str(tmp_path / "s.json")])
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["examples"] == 1 and set(report["scores"]) == {"exact_match", "f1"}
    assert report["scores"]["exact_match"] in (0.0, 100.0)
    assert "exact_match" in capsys.readouterr().out


def test_evaluate_explains_a_missing_split_file(tmp_path, sst2_folder, sentiment_model):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty holds no test.jsonl or dev.tsv; pass a directory"):
        main(["evaluate", "--model", str(sentiment_model), "--data", str(tmp_path / "empty")])
    with pytest.raises(FileNotFoundError, match="no finetune.json"):
        main(["evaluate", "--model", str(sst2_folder), "--data", str(sst2_folder)])


def test_long_scoring_shows_a_progress_bar(capsys):
    tok = BertTokenizer.from_pretrained()
    model = BertForSequenceClassification(BertConfig.tiny(vocab_size=len(tok), num_labels=2))
    examples = [PairExample(f"sentence number {i}", None, "positive") for i in range(PROGRESS_FROM)]
    logits_of(model, tok, examples[:-1], 16, 256)
    assert "scoring" not in capsys.readouterr().err  # the shipped sets stay quiet
    assert logits_of(model, tok, examples, 16, 256).shape == (PROGRESS_FROM, 2)
    assert "scoring" in capsys.readouterr().err


def test_training_time_leaves_the_dev_evaluations_out(monkeypatch, sst2_train_folder):
    evaluate = Trainer.evaluate

    def slow_evaluate(self, data=None):
        time.sleep(1.0)
        return evaluate(self, data)

    monkeypatch.setattr(Trainer, "evaluate", slow_evaluate)
    started = time.perf_counter()
    result = finetune("sentiment", FinetuneConfig(data=str(sst2_train_folder), eval_every=1,
                                                  **{**QUICK, "epochs": 2}), splits=())
    elapsed = time.perf_counter() - started
    assert result.history.eval["step"] == [1, 2]  # two evaluations, 2 s of sleep in all
    assert result.seconds < elapsed - 2.0


def test_real_data_table_scales_metrics_and_names_each_benchmark_once(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import realdata_results as rr

    rows = [rr.row("SST-2 dev", [0] * 872, "bertcourse, fine-tuned", "533 course sentences", {"accuracy": 0.741},
                   29.4, 50.0, {"accuracy": 0.86}),
            rr.row("SST-2 dev", [0] * 872, "transformers X", "533 course sentences", {"accuracy": 0.75}, 30.0, 40.0,
                   {"accuracy": 0.84}),
            rr.row("SQuAD v1.1 dev", [0] * 1057, "bertcourse, fine-tuned", "754 course questions",
                   {"exact_match": 27.7, "f1": 36.8}, None, 60.0, {"exact_match": 37.2, "f1": 49.4})]
    lines = rr.table({"rows": rows, "threads": 2, "squad_articles": 2}).splitlines()
    assert lines[2].startswith("| SST-2 dev (872 sentences) | accuracy | bertcourse, fine-tuned | "
                               "533 course sentences (29 s) | 74.1 | 86.0 | BERT-base")
    assert lines[3].startswith("|  |  | transformers X |") and lines[3].endswith("| 75.0 | 84.0 |  |")
    assert "| 27.7 / 36.8 | 37.2 / 49.4 |" in lines[4] and "(1,057 questions)" in lines[4]
    assert "the first 2 of its 48 articles" in lines[6] and "took 150 s" in lines[6]
    assert lines[8].endswith("SST-2 dev, bertcourse, fine-tuned: -11.9; SQuAD v1.1 dev, bertcourse, fine-tuned: -12.6.")


def test_the_readme_real_data_table_is_the_committed_results(monkeypatch):
    """README.md's real-benchmark table is rendered from benchmarks/realdata_results.json, never retyped."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import realdata_results as rr
    from common import read_between

    results = json.loads(rr.OUT.read_text())
    assert {r["benchmark"] for r in results["rows"]} == set(rr.BENCHMARKS)
    assert read_between(rr.README, rr.BEGIN, rr.END) == rr.table(results), \
        "rerun `python benchmarks/realdata_results.py --readme`"

