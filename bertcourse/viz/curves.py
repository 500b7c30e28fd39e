"""Training curves: 07_pretraining, 09_ner, 11_semantic_similarity. A `History` of `bertcourse.training`
in, loss and metrics against the step out; the smoothing is `training.moving_average`."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..training import moving_average
from .style import CRISP

STEP_LABEL = "训练步数 (step)"
SPLIT_NAMES = {"train": "训练集 (train)", "dev": "开发集 (dev)", "test": "测试集 (test)"}
METRIC_NAMES = {"accuracy": "准确率 (accuracy)", "f1": "F1", "pearson": "皮尔逊相关 (Pearson r)"}


def metric_name(metric: str) -> str:
    """The Chinese name of a metric key, the key itself for one we have no name for."""
    return METRIC_NAMES.get(metric, metric)

def _check_history(history, keys: Sequence[str], part: str) -> None:
    table = getattr(history, part, None)
    missing = [k for k in keys if not isinstance(table, dict) or k not in table]
    if missing:
        raise ValueError(f"history.{part} has no {missing}: pass the History of a Trainer run that had "
                         "eval_data, and the metrics function that computes them")


@plt.rc_context({**CRISP, "lines.antialiased": False})
def pretraining_curves(history, baselines: dict[str, float], window: int = 10) -> Figure:
    """MLM + NSP pretraining, one panel per number: loss, MLM accuracy, NSP accuracy against the step.
    Training is per batch (thin) with a moving average (thick); held-out is drawn with markers; each
    accuracy gets the baseline it must beat (dashed): always guessing the most frequent token (MLM),
    always guessing the more frequent class (NSP)."""
    names = {"loss": "损失 (MLM + NSP)", "mlm_accuracy": "MLM 准确率 (%)", "nsp_accuracy": "NSP 准确率 (%)"}
    baseline_names = {"loss": "均匀猜测", "mlm_accuracy": "总猜最常见的词元", "nsp_accuracy": "总猜多数类"}
    _check_history(history, ["step", *names], "train")
    _check_history(history, ["step", *names], "eval")
    fig = Figure(figsize=(13, 4.4), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (key, label) in zip(axes, names.items()):
        scale = 1 if key == "loss" else 100
        train = [scale * v for v in history.train[key]]
        ax.plot(history.train["step"], train, color="#b5cfe6", lw=0.8)
        ax.plot(history.train["step"], moving_average(train, window), color="tab:blue", lw=2.5,
                label=f"训练（{window} 个批次的平均）")
        ax.plot(history.eval["step"], [scale * v for v in history.eval[key]], "o-", color="tab:red", lw=2,
                ms=7, label="留出集 (held-out)")
        if key in baselines:
            ax.axhline(scale * baselines[key], color="black", ls="--", lw=1.5, label=f"{baseline_names[key]} "
                       f"({scale * baselines[key]:.1f}{'' if key == 'loss' else '%'})")
        ax.set_xlabel(STEP_LABEL)
        ax.set_ylabel(label)
        ax.legend()
    axes[0].set_title("损失 (loss)")
    axes[1].set_title("掩码语言模型：选中词元猜对的比例")
    axes[2].set_title("下一句预测：句子对判断对的比例")
    return fig


@plt.rc_context(CRISP)
def same_clock_curves(runs: dict[str, object], baselines: dict[str, dict[str, float]] | None = None) -> Figure:
    """Pretraining runs against the training clock (seconds, evaluation excluded), not the step: a step of a
    6-layer model costs many steps of a 2-layer one, so only the clock compares what each start buys.
    runs: {name: History with train "step"/"seconds" and eval "step"/"mlm_accuracy"/"nsp_accuracy"};
    baselines: {name: {"mlm_accuracy": .., "nsp_accuracy": ..}}, dashed in the run's colour."""
    keys = {"mlm_accuracy": "掩码语言模型 (MLM) 留出准确率 (%)", "nsp_accuracy": "下一句预测 (NSP) 留出准确率 (%)"}
    for history in runs.values():
        _check_history(history, ["step", "seconds"], "train")
        _check_history(history, ["step", *keys], "eval")
    fig = Figure(figsize=(12, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for (name, history), colour in zip(runs.items(), ("tab:red", "tab:blue", "tab:green")):
        clock = dict(zip(history.train["step"], history.train["seconds"]))
        seconds = [clock[step] for step in history.eval["step"]]
        for ax, key in zip(axes, keys):
            ax.plot(seconds, [100 * v for v in history.eval[key]], "o-", color=colour, lw=2, ms=6, label=name)
            if baselines and key in baselines.get(name, {}):
                ax.axhline(100 * baselines[name][key], color=colour, ls="--", lw=1.3,
                           label=f"{name}: 基线 {100 * baselines[name][key]:.1f}%")
    for ax, label in zip(axes, keys.values()):
        ax.set_xlabel("训练时间 (秒，不含评估)")
        ax.set_ylabel(label)
        ax.legend(fontsize=11)
    axes[0].set_title("同一个时钟：猜对被掩码的词元")
    axes[1].set_title("同一个时钟：分辨真正的下一句")
    return fig


@plt.rc_context(CRISP)
def learning_curves(runs: dict[str, object], metric: str | None = "accuracy", window: int = 5,
                    chance: float | None = None) -> Figure:
    """Several fine-tuning runs on the same axes, one colour per run: the loss (training: moving
    average, dashed; dev: solid with markers) and, if `metric` is given, the dev metric against the step
    (with the `chance` level dashed). Whichever curve moves first converged faster; the distance between
    a run's dashed and solid loss is its train/dev gap."""
    if not runs:
        raise ValueError("pass at least one run: {name: history}")
    for history in runs.values():
        _check_history(history, ["step", "loss"], "train")
        _check_history(history, ["step", "loss"] + ([metric] if metric else []), "eval")
    fig = Figure(figsize=(13 if metric else 7, 4.8), layout="constrained")
    axes = fig.subplots(1, 2 if metric else 1, squeeze=False)[0]
    for k, (name, history) in enumerate(runs.items()):
        colour = plt.get_cmap("tab10")(k)
        axes[0].plot(history.train["step"], moving_average(history.train["loss"], window), "--", color=colour,
                     lw=2, label=f"{name}：训练")
        axes[0].plot(history.eval["step"], history.eval["loss"], "o-", color=colour, lw=2.5, ms=6,
                     label=f"{name}：开发集 (dev)")
        if metric:
            axes[1].plot(history.eval["step"], [100 * v for v in history.eval[metric]], "o-", color=colour,
                         lw=2.5, ms=6, label=name)
    axes[0].set_ylabel("损失 (loss)")
    axes[0].set_title(f"损失（训练：{window} 个批次的平均）")
    if metric:
        if chance is not None:
            axes[1].axhline(100 * chance, color="black", ls="--", lw=1.5, label=f"随机猜测 ({chance:.0%})")
        axes[1].set_ylabel(f"开发集 {metric_name(metric)} (%)")
        axes[1].set_title(f"开发集上的{metric_name(metric)}")
    for ax in axes:
        ax.set_xlabel(STEP_LABEL)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    return fig


@plt.rc_context(CRISP)
def split_gap(scores: dict[str, dict[str, float]], metric: str = "accuracy",
              splits: tuple[str, str] = ("train", "dev")) -> Figure:
    """Per run, the metric on the training split beside a held-out split (grouped bars, in %), the gap
    written above each pair: how much of what was learned does not carry over (overfitting)."""
    missing = [(run, s) for run, by_split in scores.items() for s in splits
               if s not in by_split or metric not in by_split[s]]
    if not scores or missing:
        raise ValueError(f"need {metric} on the splits {list(splits)} for every run; missing {missing}: "
                         f"call finetune(..., splits={tuple(splits)})")
    runs = list(scores)
    fig = Figure(figsize=(3 + 2.6 * len(runs), 4.8), layout="constrained")
    ax = fig.add_subplot()
    width = 0.38
    for j, (split, colour) in enumerate(zip(splits, ("tab:gray", "tab:green"))):
        values = [100 * scores[run][split][metric] for run in runs]
        ax.bar([i + (j - 0.5) * width for i in range(len(runs))], values, width, color=colour, label=SPLIT_NAMES.get(split, split))
        for i, value in enumerate(values):
            ax.annotate(f"{value:.1f}", (i + (j - 0.5) * width, value), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=11)
    for i, run in enumerate(runs):
        gap = 100 * (scores[run][splits[0]][metric] - scores[run][splits[1]][metric])
        ax.annotate(f"差距 {gap:+.1f} 个百分点", (i, 113), ha="center", fontsize=12, fontweight="bold")
    ax.set_xticks(range(len(runs)), runs)
    ax.set_ylim(0, 122)
    ax.set_ylabel(f"{metric_name(metric)} (%)")
    ax.set_title(f"{metric_name(metric)}：{SPLIT_NAMES.get(splits[0], splits[0])}与"
                 f"{SPLIT_NAMES.get(splits[1], splits[1])}（过拟合 overfitting 的差距）")
    ax.legend(loc="lower right")
    return fig
