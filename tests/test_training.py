"""The shared training loop: optimiser groups, schedule, NaN guard, and bit-identical resume."""
import random

import pytest
import torch

from bertcourse import BertConfig, BertForPreTraining, BertForSequenceClassification, BertTokenizer
from bertcourse.pretraining import PretrainingCollate, make_nsp_pairs, pretraining_metrics
from bertcourse.training import Trainer, TrainingConfig, latest_checkpoint, lr_at, moving_average, parameter_groups

SENTENCES = ("The river rose after a week of rain. Farmers moved their sheep to higher fields. "
             "By Friday the water had reached the old bridge. Children watched from the hill. "
             "The baker opened early and gave away bread. Nobody in the village had seen such a flood.")


@pytest.fixture(scope="module")
def tok():
    return BertTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def pairs(tok):
    rng = random.Random(0)
    sentences = [s.strip() + "." for s in SENTENCES.split(".") if s.strip()]
    docs = [rng.sample(sentences, len(sentences)) for _ in range(12)]
    return make_nsp_pairs(docs, tok, max_length=32, rng=random.Random(0), dupe_factor=2)


def tiny_pretraining_model(tok):
    torch.manual_seed(0)
    return BertForPreTraining(BertConfig.tiny(vocab_size=len(tok), hidden_size=32, num_attention_heads=2,
                                              intermediate_size=64, max_position_embeddings=32))


def run(tok, pairs, tmp_path, steps=10, until=None, resume_from=None, **kw):
    cfg = TrainingConfig(steps=steps, batch_size=8, learning_rate=1e-3, checkpoint_every=4, eval_every=5,
                         progress=False, **kw)
    trainer = Trainer(tiny_pretraining_model(tok), pairs, PretrainingCollate(tok), cfg, eval_data=pairs[:16],
                      metrics=pretraining_metrics, out_dir=tmp_path)
    if resume_from:
        trainer.resume(resume_from)
    trainer.fit(until)
    return trainer


def test_interrupted_and_resumed_run_is_bit_identical(tok, pairs, tmp_path):
    straight = run(tok, pairs, tmp_path / "a")
    run(tok, pairs, tmp_path / "b", until=6)                 # "interrupted" after step 6 ...
    ckpt = latest_checkpoint(tmp_path / "b")
    assert ckpt.name == "checkpoint-4.pt"                    # ... its last checkpoint is step 4
    resumed = run(tok, pairs, tmp_path / "c", resume_from=ckpt)
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert straight.history.train["loss"] == resumed.history.train["loss"]
    assert straight.history.eval == resumed.history.eval
    assert not list((tmp_path / "b").glob("*.tmp"))


def test_history_is_ready_to_plot(tok, pairs, tmp_path):
    h = run(tok, pairs, tmp_path).history
    assert h.train["step"] == list(range(1, 11))
    assert set(h.train) >= {"loss", "lr", "mlm_accuracy", "nsp_accuracy"}
    assert h.eval["step"] == [5, 10] and 0 <= h.eval["nsp_accuracy"][-1] <= 1
    assert 0 < h.train["seconds"][0] and all(a < b for a, b in zip(h.train["seconds"], h.train["seconds"][1:]))


def test_warmup_then_linear_decay():
    cfg = TrainingConfig(steps=100, learning_rate=1e-3, warmup=0.1)
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)   # linear warm-up over 10 steps
    assert max(lrs) == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-3 / 90)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))                    # then only down, to ~0


def test_no_weight_decay_on_biases_and_layernorm():
    model = BertForSequenceClassification(BertConfig.tiny(vocab_size=40))
    decay, no_decay = parameter_groups(model, TrainingConfig(steps=1, weight_decay=0.01))
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert all("LayerNorm" in names[id(p)] or names[id(p)].endswith("bias") for p in no_decay["params"])
    assert all(names[id(p)].endswith("weight") and "LayerNorm" not in names[id(p)] for p in decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_gradients_are_clipped(tok, pairs, tmp_path, monkeypatch):
    seen = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm):
        seen.append(max_norm)
        return original(params, max_norm)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    run(tok, pairs, tmp_path, steps=2)
    assert seen == [1.0, 1.0]


def test_the_loop_learns(tok):
    """A task only a working loop can learn: is token 2000 in the sentence?"""
    g = torch.Generator().manual_seed(0)
    data = []
    for i in range(256):
        ids = torch.randint(1000, 1100, (10,))
        ids[int(torch.randint(10, (1,), generator=g))] = 2000 if i % 2 else 1001
        data.append((ids, i % 2))

    def collate(examples, generator):
        return {"input_ids": torch.stack([e[0] for e in examples]), "labels": torch.tensor([e[1] for e in examples])}

    def accuracy(out, batch):
        return {"accuracy": ((out.logits.argmax(-1) == batch["labels"]).sum().item(), len(batch["labels"]))}

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig.tiny(vocab_size=2048, hidden_size=32, num_attention_heads=2,
                                                          intermediate_size=64))
    trainer = Trainer(model, data[:192], collate, TrainingConfig(steps=120, batch_size=32, learning_rate=3e-3,
                                                                 progress=False), data[192:], accuracy)
    history = trainer.fit()
    assert history.eval["accuracy"][-1] > 0.95 and history.train["loss"][-1] < history.train["loss"][0] / 4


def test_nan_loss_stops_with_the_step(tok, pairs, tmp_path):
    trainer = Trainer(tiny_pretraining_model(tok), pairs, PretrainingCollate(tok),
                      TrainingConfig(steps=10, batch_size=8, learning_rate=1e-3, progress=False))
    trainer.fit(until=3)
    with torch.no_grad():
        trainer.model.cls.predictions.bias.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="at step 4"):
        trainer.fit()


def test_bad_setups_are_explained(tok, pairs, tmp_path):
    with pytest.raises(ValueError, match="empty"):
        Trainer(tiny_pretraining_model(tok), [], PretrainingCollate(tok), TrainingConfig(steps=1))
    with pytest.raises(ValueError, match="out_dir"):
        Trainer(tiny_pretraining_model(tok), pairs, PretrainingCollate(tok), TrainingConfig(steps=1, checkpoint_every=1))
    run(tok, pairs, tmp_path, steps=4)
    with pytest.raises(ValueError, match="4 steps.*this one has 8"):
        run(tok, pairs, tmp_path / "x", steps=8, resume_from=tmp_path / "checkpoint-4.pt")


def test_moving_average_is_the_trailing_mean():
    assert moving_average([1, 2, 3, 4, 5], 2) == [1, 1.5, 2.5, 3.5, 4.5]
    assert moving_average([3, 1], 10) == [3, 2]
    values = torch.rand(50).tolist()
    assert moving_average(values, 7)[-1] == pytest.approx(sum(values[-7:]) / 7)
    with pytest.raises(ValueError, match="at least 1"):
        moving_average(values, 0)


def test_fresh_heads_learn_at_their_own_rate_and_the_schedule_scales_both(tok, pairs, tmp_path):
    """Continued pretraining: the new heads (cls.*) at 1e-2, the rest at 1e-3, both warmed up and decayed alike."""
    config = TrainingConfig(steps=10, fresh_parameters=("cls.",), fresh_learning_rate=1e-2)
    model = tiny_pretraining_model(tok)
    groups = parameter_groups(model, config)
    names = {id(p): n for n, p in model.named_parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    for group in groups:
        fresh = {names[id(p)].startswith("cls.") for p in group["params"]}
        assert fresh in ({True}, {False}) and group["lr"] == (1e-2 if fresh == {True} else 1e-4)
    trainer = run(tok, pairs, tmp_path, steps=10, until=3, fresh_parameters=("cls.",), fresh_learning_rate=1e-2)
    multiplier = lr_at(3, trainer.config) / trainer.config.learning_rate
    assert 0 < multiplier < 1
    assert sorted({g["lr"] for g in trainer.optimizer.param_groups}) == pytest.approx([1e-3 * multiplier,
                                                                                      1e-2 * multiplier])


def test_the_optimizer_is_fused_and_trains_as_the_per_tensor_adamw(tok, pairs, tmp_path, monkeypatch):
    """One fused kernel for every weight (a tenth of the per-tensor loop's time on CPU), the same updates."""
    fused = run(tok, pairs, tmp_path / "fused", steps=6)
    per_tensor = torch.optim.AdamW
    monkeypatch.setattr(torch.optim, "AdamW", lambda *args, fused, **kw: per_tensor(*args, fused=False, **kw))
    loop = run(tok, pairs, tmp_path / "loop", steps=6)
    assert fused.optimizer.defaults["fused"] and not loop.optimizer.defaults["fused"]
    assert fused.history.train["loss"] == pytest.approx(loop.history.train["loss"], rel=1e-4)
    for (name, a), b in zip(fused.model.state_dict().items(), loop.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name
