"""The fine-tuning race (08_sentence_classification): the same small sentiment set, three starts run
side by side, their loss and dev-accuracy curves redrawn live in one chart: full fine-tuning of the
pretrained encoder, a head on its frozen features, and the same network from random weights. Each run is
the package's own Trainer, stepped a few steps at a time with Trainer.fit(until=...).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import ipywidgets as widgets
import torch
from tqdm.auto import tqdm

from ..finetuning import build_model, freeze_encoder
from ..tasks import get_task
from ..tasks.common import label_accuracy
from ..training import Trainer, TrainingConfig
from ..viz.curves import learning_curves
from .common import figure_png

RUNS = {"预训练 + 全部微调 (fine-tuning)": ("pretrained", False, 1e-4),
        "预训练 + 冻结特征 (frozen features)": ("pretrained", True, 1e-3),
        "随机初始化 (random init)": ("random", False, 1e-4)}


@dataclass
class RaceConfig:
    task: str = "sentiment"
    train_size: int = 256          # the small labelled set all three runs train on
    dev_size: int = 128            # dev examples scored at each evaluation
    steps: int = 48                # optimiser steps per run
    batch_size: int = 16
    max_length: int = 48
    eval_every: int = 8            # steps between dev evaluations (and chart redraws)
    seed: int = 0


def race_trainers(config: RaceConfig) -> dict[str, Trainer]:
    """The three runs, each the package's model builder and Trainer on the same examples."""
    task = get_task(config.task)
    trainers = {}
    for name, (init, frozen, lr) in RUNS.items():
        model, tokenizer = build_model(task, init)
        if frozen:
            freeze_encoder(model)
        train = task.featurize(task.load("train")[:config.train_size], tokenizer, config.max_length)
        dev = task.featurize(task.load("dev")[:config.dev_size], tokenizer, config.max_length)
        trainers[name] = Trainer(model, train, task.collate, TrainingConfig(
            steps=config.steps, batch_size=config.batch_size, learning_rate=lr, eval_every=config.eval_every,
            seed=config.seed, device="cpu", progress=False), eval_data=dev, metrics=label_accuracy)
    return trainers


class FinetuneRace(widgets.VBox):
    """A start button; then every run takes eval_every steps in turn and the chart is redrawn."""

    def __init__(self, trainers: dict[str, Trainer], eval_every: int, chance: float | None = 0.5):
        self.trainers, self.eval_every, self.chance = trainers, eval_every, chance
        self.start = widgets.Button(description="开始比赛", button_style="success")
        self.start.on_click(lambda _: self.run())
        self.status = widgets.HTML("三种训练方式，同样的样本：按「开始比赛」（2 核的电脑上大约一分钟）")
        self.chart = widgets.Image(format="png")
        self.seconds: dict[str, float] = {name: 0.0 for name in trainers}
        # each run draws its dropout from its own random stream, as if it trained alone from its seed
        self.rng = {name: torch.Generator().manual_seed(t.config.seed).get_state() for name, t in trainers.items()}
        super().__init__([widgets.HBox([self.start, self.status]),
                          widgets.Box([self.chart], layout=widgets.Layout(height="560px"))])

    def run(self) -> dict[str, dict[str, list[float]]]:
        """Race to the end; returns each run's dev history (step, loss, accuracy)."""
        self.start.disabled = True
        steps = max(t.config.steps for t in self.trainers.values())
        with tqdm(total=steps * len(self.trainers), desc="比赛") as bar, torch.random.fork_rng(devices=[]):
            while any(t.step < t.config.steps for t in self.trainers.values()):
                for name, trainer in self.trainers.items():
                    before, started = trainer.step, time.perf_counter()
                    torch.set_rng_state(self.rng[name])
                    trainer.fit(until=trainer.step + self.eval_every)
                    self.rng[name] = torch.get_rng_state()
                    self.seconds[name] += time.perf_counter() - started
                    bar.update(trainer.step - before)
                self.draw()
        self.start.disabled = False
        return {name: t.history.eval for name, t in self.trainers.items()}

    def draw(self) -> bytes:
        """The curves so far (a run shows once it has its first evaluation)."""
        runs = {name: t.history for name, t in self.trainers.items() if t.history.eval}
        if runs:
            self.chart.value = figure_png(learning_curves(runs, "accuracy", chance=self.chance))
        done = "；".join(f"{name.split(' (')[0]}：第 {t.step} 步，{self.seconds[name]:.0f} 秒"
                         for name, t in self.trainers.items())
        self.status.value = f"<span style='font-size:14px'>{done}</span>"
        return self.chart.value


def finetune_race(config: RaceConfig | None = None) -> FinetuneRace:
    """The race on the packaged MiniLM and the shipped sentiment set (nothing runs until start is pressed)."""
    config = config or RaceConfig()
    return FinetuneRace(race_trainers(config), config.eval_every)
