"""The training curves draw the History they are given: raw, smoothed and held-out values."""
import numpy as np
import pytest
import torch

from bertcourse.training import moving_average
from bertcourse.viz.curves import learning_curves, pretraining_curves, same_clock_curves, split_gap
from viz_helpers import assert_readable, tick_texts


def fake_history(steps: int, eval_every: int, keys: tuple[str, ...], seed: int = 0):
    """A History shaped like a Trainer run's: per-step train values and per-evaluation eval values."""
    from bertcourse.training import History

    g = torch.Generator().manual_seed(seed)
    history = History()
    for step in range(1, steps + 1):
        history.log("train", step=step, **{k: float(torch.rand(1, generator=g)) for k in keys})
        if step % eval_every == 0:
            history.log("eval", step=step, **{k: float(torch.rand(1, generator=g)) for k in keys})
    return history


def test_pretraining_curves_draw_train_heldout_and_baselines():
    keys = ("loss", "mlm_accuracy", "nsp_accuracy")
    history = fake_history(40, 10, keys)
    fig = pretraining_curves(history, {"mlm_accuracy": 0.07, "nsp_accuracy": 0.58}, window=5)
    assert_readable(fig)
    loss_ax, mlm_ax, nsp_ax = fig.axes
    for ax, key in zip(fig.axes, keys):
        scale = 1 if key == "loss" else 100
        raw, smooth, heldout = ax.lines[:3]
        np.testing.assert_allclose(raw.get_ydata(), [scale * v for v in history.train[key]])
        np.testing.assert_allclose(smooth.get_ydata(), moving_average([scale * v for v in history.train[key]], 5))
        np.testing.assert_array_equal(heldout.get_xdata(), [10, 20, 30, 40])
        np.testing.assert_allclose(heldout.get_ydata(), [scale * v for v in history.eval[key]])
        assert ax.get_xlabel() == "训练步数 (step)"
    assert len(loss_ax.lines) == 3                                               # no baseline given for the loss
    assert mlm_ax.lines[3].get_ydata()[0] == pytest.approx(7) and nsp_ax.lines[3].get_ydata()[0] == pytest.approx(58)
    assert mlm_ax.get_ylabel() == "MLM 准确率 (%)" and nsp_ax.get_ylabel() == "NSP 准确率 (%)"
    assert mlm_ax.lines[3].get_label() == "总猜最常见的词元 (7.0%)"
    assert nsp_ax.lines[3].get_label() == "总猜多数类 (58.0%)"
    with pytest.raises(ValueError, match=r"history.train has no \['nsp_accuracy'\]"):
        pretraining_curves(fake_history(20, 10, keys[:2]), {})


def test_learning_curves_give_each_run_one_colour_and_both_splits():
    runs = {"pretrained": fake_history(30, 5, ("loss", "accuracy"), 1),
            "random init": fake_history(30, 5, ("loss", "accuracy"), 2)}
    fig = learning_curves(runs, window=4)
    assert_readable(fig)
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["pretrained：训练", "pretrained：开发集 (dev)",
                                                            "random init：训练", "random init：开发集 (dev)"]
    np.testing.assert_allclose(loss_ax.lines[3].get_ydata(), runs["random init"].eval["loss"])
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), moving_average(runs["pretrained"].train["loss"], 4))
    np.testing.assert_allclose(acc_ax.lines[1].get_ydata(), [100 * v for v in runs["random init"].eval["accuracy"]])
    assert loss_ax.lines[0].get_color() == loss_ax.lines[1].get_color() == acc_ax.lines[0].get_color()
    assert loss_ax.lines[0].get_color() != loss_ax.lines[2].get_color()
    assert acc_ax.get_ylabel() == "开发集 准确率 (accuracy) (%)" and len(acc_ax.lines) == 2   # no chance line unless asked
    with_chance = learning_curves(runs, chance=0.5).axes[1]
    assert with_chance.lines[2].get_ydata()[0] == pytest.approx(50) and with_chance.lines[2].get_label() == "随机猜测 (50%)"
    assert len(learning_curves(runs, metric=None).axes) == 1                  # regression: loss only
    with pytest.raises(ValueError, match=r"history.eval has no \['accuracy'\]"):
        learning_curves({"x": fake_history(10, 5, ("loss",))})


def test_split_gap_bars_are_the_scores_and_the_gap_is_their_difference():
    scores = {"pretrained": {"train": {"accuracy": 0.95}, "dev": {"accuracy": 0.85}},
              "random init": {"train": {"accuracy": 0.90}, "dev": {"accuracy": 0.55}}}
    fig = split_gap(scores)
    assert_readable(fig)
    ax = fig.axes[0]
    assert [bar.get_height() for bar in ax.patches] == pytest.approx([95, 90, 85, 55])   # train bars, then dev
    gaps = [t.get_text() for t in ax.texts if t.get_text().startswith("差距")]
    assert gaps == ["差距 +10.0 个百分点", "差距 +35.0 个百分点"]
    assert tick_texts(ax.get_xticklabels()) == ["pretrained", "random init"]
    with pytest.raises(ValueError, match=r"missing \[\('random init', 'dev'\)\]"):
        split_gap({**scores, "random init": {"train": {"accuracy": 0.9}}})


def test_same_clock_curves_put_each_evaluation_at_its_training_second():
    keys = ("mlm_accuracy", "nsp_accuracy")
    slow, fast = fake_history(20, 5, keys, seed=1), fake_history(40, 10, keys, seed=2)
    slow.train["seconds"] = [3.0 * s for s in slow.train["step"]]            # 3 s a step
    fast.train["seconds"] = [0.5 * s for s in fast.train["step"]]            # 0.5 s a step
    fig = same_clock_curves({"continued": slow, "scratch": fast}, {"scratch": {"mlm_accuracy": 0.05}})
    assert_readable(fig)
    mlm_ax, nsp_ax = fig.axes
    continued, scratch, baseline = mlm_ax.lines
    np.testing.assert_allclose(continued.get_xdata(), [15, 30, 45, 60])
    np.testing.assert_allclose(scratch.get_xdata(), [5, 10, 15, 20])
    np.testing.assert_allclose(nsp_ax.lines[1].get_ydata(), [100 * v for v in fast.eval["nsp_accuracy"]])
    assert baseline.get_ydata()[0] == pytest.approx(5) and len(nsp_ax.lines) == 2
    with pytest.raises(ValueError, match="seconds"):
        same_clock_curves({"no clock": fake_history(10, 5, keys)})
