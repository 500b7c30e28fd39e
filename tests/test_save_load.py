"""Saving and loading keep what was trained: for every head and pooling mode, the weights, the raw
scores and the loss of the model in memory equal those of the model read back from disk, through the
Python API (finetune / load_finetuned, save_pretrained / load_pretrained) and the command line
(`finetune --out`, then `predict`).

Metrics are not enough: Pearson and Spearman do not change under a*cos + b with a > 0, so a saved
similarity head that is still freshly initialised scores as well as the trained one. Every test here
also shows that a fresh head would have been told apart (its scores differ from the trained ones).
Runs start from a 2-layer BERT with MiniLM's vocabulary and train a few steps: seconds, not minutes.
"""
import json
import random
import warnings
from dataclasses import asdict
from functools import partial

import pytest
import torch

from bertcourse import BertConfig, BertForPreTraining, BertModel, BertTokenizer, load_pretrained, save_pretrained
from bertcourse.__main__ import main
from bertcourse.data import DATA_DIR, load_corpus
from bertcourse.finetuning import FinetuneConfig, build_model, finetune, load_finetuned
from bertcourse.pretraining import PretrainingCollate, make_nsp_pairs
from bertcourse.tasks import get_task
from bertcourse.training import Trainer, TrainingConfig

MAX_LENGTH = 48
QUICK = dict(train_size=32, epochs=1.0, batch_size=16, max_length=MAX_LENGTH, learning_rate=1e-3, progress=False)
OUTPUTS = ("logits", "start_logits", "end_logits", "mlm_logits", "nsp_logits", "loss")
# (task, pooling, frozen encoder): every head the package trains, with each way a sentence head reads its input
CASES = [("sentiment", "cls", False), ("sentiment", "mean", True), ("entailment", "cls", False),
         ("entailment", "bi-encoder", True), ("similarity", "cls", False), ("similarity", "mean", False),
         ("similarity", "bi-encoder", True), ("ner", "cls", False), ("qa", "cls", False)]


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    """BERT-Tiny with MiniLM's vocabulary, saved as a checkpoint directory: the init of every run here."""
    tokenizer = BertTokenizer.from_pretrained()
    directory = tmp_path_factory.mktemp("tiny-encoder")
    torch.manual_seed(0)
    save_pretrained(BertModel(BertConfig.tiny(vocab_size=len(tokenizer))), directory)
    tokenizer.save_pretrained(directory)
    return directory


def raw_outputs(model, batch: dict) -> dict[str, torch.Tensor]:
    """Every score tensor and the loss the model gives on `batch`, in eval mode (no dropout)."""
    model.eval()
    with torch.no_grad():
        out = model(**batch)
    return {name: getattr(out, name) for name in OUTPUTS if getattr(out, name, None) is not None}


def probe_batch(task, tokenizer, pooling: str) -> dict[str, torch.Tensor]:
    """Eight labelled dev examples (QA: their windows), collated as in training."""
    featurize = partial(task.featurize, bi_encoder=True) if pooling == "bi-encoder" else task.featurize
    return task.collate(featurize(task.load("dev")[:8], tokenizer, MAX_LENGTH)[:8])


def assert_same_weights(trained, loaded) -> None:
    saved, read = trained.state_dict(), loaded.state_dict()
    assert saved.keys() == read.keys()
    for key in saved:
        assert torch.equal(saved[key], read[key]), f"{key} changed between save and load"


def assert_same_outputs(before: dict, after: dict) -> None:
    assert before.keys() == after.keys() and "loss" in before
    for name in before:
        torch.testing.assert_close(after[name], before[name], rtol=0, atol=1e-6, msg=lambda m: f"{name}: {m}")


def assert_told_apart(fresh: dict, trained: dict) -> None:
    """The trained scores differ from a fresh head's, so the comparisons above could have failed."""
    scores = [n for n in trained if n != "loss"]
    assert any(not torch.allclose(fresh[n], trained[n], atol=1e-4) for n in scores), \
        "training did not move the scores away from a fresh head's: this test could not tell them apart"


@pytest.mark.parametrize("task_name, pooling, freeze", CASES, ids=[f"{t}-{p}{'-frozen' * f}" for t, p, f in CASES])
def test_finetuned_model_reads_back_as_trained(tiny_encoder, tmp_path, task_name, pooling, freeze):
    config = FinetuneConfig(init=str(tiny_encoder), pooling=pooling, freeze=freeze, **QUICK)
    with pytest.warns(UserWarning, match="newly initialised"):
        result = finetune(task_name, config, out=tmp_path / "run", splits=())
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # the saved model has every head weight
        task, loaded, tokenizer, meta = load_finetuned(tmp_path / "run")
    assert task.name == task_name and meta["config"] == asdict(config)
    assert loaded.config.classifier_pooling == pooling and tokenizer.vocab == result.tokenizer.vocab
    assert_same_weights(result.model, loaded)
    batch = probe_batch(task, tokenizer, pooling)
    trained = raw_outputs(result.model, batch)
    assert_same_outputs(trained, raw_outputs(loaded, batch))
    with pytest.warns(UserWarning, match="newly initialised"):
        fresh, _ = build_model(task, str(tiny_encoder), pooling)   # the same head before training
    assert_told_apart(raw_outputs(fresh, batch), trained)


def test_pretraining_model_reads_back_as_trained(tiny_encoder, tmp_path):
    tokenizer = BertTokenizer.from_pretrained(tiny_encoder)
    pairs = make_nsp_pairs(load_corpus("course")[:40], tokenizer, 32, rng=random.Random(0))
    collate = PretrainingCollate(tokenizer)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.tiny(vocab_size=len(tokenizer)))
    fresh = BertForPreTraining(model.config)
    fresh.load_state_dict(model.state_dict())
    Trainer(model, pairs, collate, TrainingConfig(steps=3, batch_size=8, learning_rate=1e-3, progress=False)).fit()
    save_pretrained(model, tmp_path / "run")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_pretrained(tmp_path / "run", BertForPreTraining)
    assert loaded.config == model.config
    assert_same_weights(model, loaded)
    batch = collate(pairs[:8], generator=torch.Generator().manual_seed(0))
    trained = raw_outputs(model, batch)
    assert {"mlm_logits", "nsp_logits", "loss"} <= trained.keys()
    assert_same_outputs(trained, raw_outputs(loaded, batch))
    assert_told_apart(raw_outputs(fresh, batch), trained)


def same_answer(printed, expected) -> bool:
    """`predict`'s JSON equals the in-memory model's answer (floats to 1e-6: printed, then parsed)."""
    if isinstance(expected, dict):
        return isinstance(printed, dict) and printed.keys() == expected.keys() and \
            all(same_answer(printed[k], expected[k]) for k in expected)
    if isinstance(expected, (list, tuple)):
        return isinstance(printed, list) and len(printed) == len(expected) and \
            all(same_answer(p, e) for p, e in zip(printed, expected))
    if isinstance(expected, float):
        return printed == pytest.approx(expected, rel=1e-6, abs=1e-7)
    return printed == expected


def small_qa_set(directory):
    """The shipped QA set cut to its first 24 / 3 / 3 passages (train / dev / test): the command line
    featurizes and scores whole splits, which takes 20 s on the full set and proves nothing more here."""
    for split, passages in (("train", 24), ("dev", 3), ("test", 3)):
        squad = json.loads((DATA_DIR / "qa" / f"{split}.json").read_text(encoding="utf-8"))
        squad["data"] = squad["data"][:passages]
        (directory / f"{split}.json").write_text(json.dumps(squad), encoding="utf-8")
    return directory


CLI_CASES = {  # task -> (extra finetune arguments, the text, its pair)
    "sentiment": ([], "What a wonderful, warm little film.", None),
    "similarity": (["--freeze", "--pooling", "bi-encoder"], "A plane is taking off.", "An aeroplane is departing."),
    "ner": ([], "Angela Merkel visited Paris on Monday.", None),
    "qa": ([], "Where did Anna walk?", "Anna missed the bus, so she walked to the library in the rain."),
}


@pytest.mark.parametrize("task_name", CLI_CASES)
def test_command_line_predicts_with_what_finetune_trained(tiny_encoder, tmp_path, capsys, monkeypatch, task_name):
    """`predict` reads the saved model; its answer must be the one the trained model (kept in memory from
    the same `finetune` command) gives, not merely one computed from the same file twice."""
    import bertcourse.__main__ as cli

    kept = []
    monkeypatch.setattr(cli, "run_finetune", lambda *a, **kw: kept.append(finetune(*a, **kw)) or kept[-1])
    extra, text, pair = CLI_CASES[task_name]
    if task_name == "qa":
        extra = ["--data", str(small_qa_set(tmp_path))]
    out = tmp_path / task_name
    with pytest.warns(UserWarning, match="newly initialised"):
        main(["finetune", "--task", task_name, "--init", str(tiny_encoder), "--epochs", "0.1", "--batch-size", "16",
              "--max-length", str(MAX_LENGTH), "--lr", "1e-3", *extra, "--out", str(out)])
    assert f"model saved in {out}" in capsys.readouterr().out
    main(["predict", "--model", str(out), text, *([pair] if pair else [])])
    printed = json.loads(capsys.readouterr().out)
    (result,) = kept
    task = get_task(task_name)
    expected = json.loads(json.dumps(task.predict(result.model, result.tokenizer, text, *([pair] if pair else []),
                                                  max_length=MAX_LENGTH), default=str))
    assert same_answer(printed, expected), f"predict printed {printed}, the trained model answers {expected}"
