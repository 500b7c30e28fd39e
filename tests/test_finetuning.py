"""The fine-tuning driver: both transfer modes, saving and predicting, the command line."""
import json

import pytest
import torch

from bertcourse import BertConfig, BertForSequenceClassification, BertTokenizer
from bertcourse.__main__ import main
from bertcourse.finetuning import FinetuneConfig, finetune, freeze_encoder, load_finetuned
from bertcourse.tasks import get_task
from bertcourse.training import Trainer, TrainingConfig

QUICK = dict(epochs=0.125, batch_size=16, max_length=48, progress=False)  # 4 steps on the sentiment set


def test_frozen_encoder_keeps_its_weights_and_gives_fixed_features():
    torch.manual_seed(0)
    tok = BertTokenizer.from_pretrained()
    model = BertForSequenceClassification(BertConfig.tiny(vocab_size=len(tok)))
    trainable = freeze_encoder(model)
    assert trainable == sum(p.numel() for p in model.classifier.parameters())
    task = get_task("sentiment")
    features = task.featurize(task.load("train")[:32], tok, 32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    Trainer(model, features, task.collate, TrainingConfig(steps=3, batch_size=8, learning_rate=1e-2,
                                                          progress=False)).fit()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("bert."))
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])
    model.train()  # even in training mode the encoder's features do not change: no dropout in it
    batch = {k: v for k, v in task.collate(features[:4]).items() if k != "labels"}
    torch.testing.assert_close(model.bert(**batch).pooler_output, model.bert(**batch).pooler_output)


def test_finetune_saves_a_model_that_predicts(tmp_path):
    result = finetune("sentiment", FinetuneConfig(**QUICK), out=tmp_path / "run", splits=("dev",))
    assert len(result.history.train["loss"]) == 4 and result.history.eval["step"] == [4]
    assert 0 <= result.scores["dev"]["accuracy"] <= 1
    task, model, tok, meta = load_finetuned(tmp_path / "run")
    assert task.name == "sentiment" and meta["scores"] == result.scores
    again = task.evaluate(model, tok, task.load("dev"), meta["config"]["max_length"], 64)
    assert again == pytest.approx(result.scores["dev"])  # the saved weights are the trained ones
    probs = task.predict(model, tok, "What a wonderful, warm little film.", max_length=48)
    assert set(probs) == {"negative", "positive"} and sum(probs.values()) == pytest.approx(1)


def test_bad_settings_are_explained(tmp_path):
    with pytest.raises(ValueError, match="exceeds the model's 512 positions"):
        finetune("sentiment", FinetuneConfig(max_length=600, progress=False))
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        finetune("sentiment", FinetuneConfig(init=str(tmp_path / "nowhere"), progress=False))
    with pytest.raises(FileNotFoundError, match="no finetune.json"):
        load_finetuned(tmp_path)


def test_command_line_finetunes_and_predicts(tmp_path, capsys):
    out = tmp_path / "sim"
    main(["finetune", "--task", "similarity", "--epochs", "0.1", "--batch-size", "16", "--max-length", "48",
          "--freeze", "--pooling", "mean", "--out", str(out)])
    table = capsys.readouterr().out
    assert "feature extraction (frozen encoder)" in table and "pearson" in table and "spearman" in table
    settings = json.loads((out / "finetune.json").read_text())["config"]
    assert settings["freeze"] is True and settings["pooling"] == "mean"
    main(["predict", "--model", str(out), "A plane is taking off.", "An aeroplane is departing."])
    score = float(capsys.readouterr().out)
    _, model, tok, _ = load_finetuned(out)
    assert score == pytest.approx(get_task("similarity").predict(model, tok, "A plane is taking off.",
                                                                  "An aeroplane is departing.", 48))


# ---- added for 07_pretraining: dev accuracy curves and a small labelled set ---------------------------------
def test_label_accuracy_counts_the_labelled_items_only():
    from types import SimpleNamespace

    from bertcourse.tasks.common import label_accuracy

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, -1.0]])                  # predicts 0, 1, 0
    assert label_accuracy(SimpleNamespace(logits=logits), {"labels": torch.tensor([0, 0, 0])}) == \
        {"accuracy": (2, 3)}
    tokens = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]])                  # (1, T=3, C=2): 0, 1, 1
    assert label_accuracy(SimpleNamespace(logits=tokens), {"labels": torch.tensor([[0, -100, 0]])}) == \
        {"accuracy": (1, 2)}                                                        # the -100 token is not counted
    assert label_accuracy(SimpleNamespace(logits=torch.randn(4, 1)), {"labels": torch.rand(4)}) == {}  # regression
    assert label_accuracy(SimpleNamespace(logits=None), {}) == {}                  # question answering


def test_train_size_trains_and_scores_on_the_first_examples():
    task = get_task("sentiment")
    result = finetune(task, FinetuneConfig(train_size=32, epochs=0.5, batch_size=16, max_length=32,
                                           eval_every=1, progress=False), splits=("train",))
    assert len(result.history.train["loss"]) == 1                                  # 0.5 epoch of 32 = one step
    assert result.history.eval["step"] == [1] and 0 <= result.history.eval["accuracy"][0] <= 1
    assert 0 <= result.history.train["accuracy"][0] <= 1                           # the batch's accuracy
    first = task.load("train")[:32]
    assert result.scores["train"] == pytest.approx(task.evaluate(result.model, result.tokenizer, first, 32, 64))
    with pytest.raises(ValueError, match="train_size 9999: the training split has 533 examples"):
        finetune(task, FinetuneConfig(train_size=9999, progress=False))


def test_the_new_head_starts_the_same_whatever_the_random_state():
    """A fine-tuning result must not depend on what the caller drew before (a notebook's earlier cells)."""
    from bertcourse.finetuning import build_model

    task = get_task("similarity")
    heads = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        with pytest.warns(UserWarning, match="newly initialised"):
            model, _ = build_model(task, "pretrained")
        heads.append(model.classifier.weight)
    torch.testing.assert_close(heads[0], heads[1])
    assert heads[0].std() > 0                                                  # initialised, not zeros


def test_build_model_leaves_the_callers_random_stream_alone():
    from bertcourse.finetuning import build_model

    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    with pytest.warns(UserWarning, match="newly initialised"):
        build_model(get_task("sentiment"), "pretrained")
    torch.testing.assert_close(torch.rand(3), expected)   # the head's draws came from a forked generator


def test_mean_pooled_features_round_trip_and_apply_to_sentence_tasks_only(tmp_path):
    result = finetune("sentiment", FinetuneConfig(freeze=True, pooling="mean", **QUICK), out=tmp_path / "mean",
                      splits=("dev",))
    assert result.model.config.classifier_pooling == "mean"
    task, model, tok, _ = load_finetuned(tmp_path / "mean")
    assert model.config.classifier_pooling == "mean"                       # saved in config.json, read back
    assert task.evaluate(model, tok, task.load("dev"), QUICK["max_length"], 64) == pytest.approx(result.scores["dev"])
    with pytest.raises(ValueError, match="pooling='mean': only the sentence\\(-pair\\) tasks"):
        finetune("ner", FinetuneConfig(pooling="mean", **QUICK))


def test_frozen_bi_encoder_trains_its_small_head_round_trips_and_predicts(tmp_path):
    """Feature extraction on pairs: each sentence encoded alone; for similarity the head is a*cos(u, v) + b."""
    result = finetune("similarity", FinetuneConfig(freeze=True, pooling="bi-encoder", **QUICK), out=tmp_path / "bi",
                      splits=("test",))
    assert result.trainable_parameters == 2 and result.model.config.classifier_pooling == "bi-encoder"
    task, model, tok, _ = load_finetuned(tmp_path / "bi")
    assert model.config.classifier_pooling == "bi-encoder"                 # saved in config.json, read back
    test = task.load("test")
    assert task.evaluate(model, tok, test, QUICK["max_length"], 64) == pytest.approx(result.scores["test"])
    assert result.scores["test"]["pearson"] > 0.6   # the frozen MiniLM's cosine already tracks human scores
    a, b = "A man is playing a guitar.", "Someone plays the guitar."
    assert task.predict(model, tok, a, b) > task.predict(model, tok, a, "The stock market fell on Monday.")
    with pytest.raises(ValueError, match="pooling='bi-encoder' encodes the two sentences of a pair"):
        finetune("sentiment", FinetuneConfig(pooling="bi-encoder", **QUICK))
    entailment = get_task("entailment")
    features = entailment.featurize(entailment.load("dev")[:2], tok, 32, bi_encoder=True)
    assert set(features[0]) == {"input_ids", "attention_mask", "pair_input_ids", "pair_attention_mask", "labels"}
    assert features[0]["input_ids"] == tok.encode(entailment.load("dev")[0].text, max_length=32).input_ids
    with pytest.raises(ValueError, match="a bi-encoder reads sentence pairs"):
        get_task("sentiment").featurize(get_task("sentiment").load("dev")[:2], tok, 32, bi_encoder=True)
