"""The one training loop. Pretraining and every fine-tuning task use it; it knows nothing about the model
beyond `model(**batch).loss`, and nothing about the data beyond a list of examples and a collate function.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

# collate(examples, generator) -> batch of tensors; the generator makes its randomness (masking) repeatable
Collate = Callable[[list, torch.Generator], dict[str, torch.Tensor]]
# metrics(output, batch) -> {name: (numerator, denominator)}, summed over batches before dividing
Metrics = Callable[[object, dict[str, torch.Tensor]], dict[str, tuple[float, float]]]


@dataclass
class TrainingConfig:
    steps: int                        # optimiser steps in the whole run
    batch_size: int = 32
    learning_rate: float = 1e-4
    fresh_parameters: tuple[str, ...] = ()   # name prefixes of new weights on a pretrained model (e.g. its heads)
    fresh_learning_rate: float | None = None  # their learning rate (None: learning_rate, like every other weight)
    weight_decay: float = 0.01        # AdamW decay, never on biases and LayerNorm weights
    warmup: float = 0.1               # fraction of the steps with a linear warm-up, then linear decay to 0
    max_grad_norm: float = 1.0        # clip the global gradient norm, as BERT did
    eval_every: int = 0               # evaluate every N steps (0: only at the end)
    checkpoint_every: int = 0         # save a resumable checkpoint every N steps (0: never)
    seed: int = 0
    device: str | None = None         # None: CUDA when present, else CPU
    bf16: bool = True                 # bfloat16 autocast on CUDA (ignored on CPU)
    progress: bool = True             # show a tqdm progress bar


@dataclass
class History:
    """Everything a loss curve needs: per training step and per evaluation, as parallel lists."""
    train: dict[str, list[float]] = field(default_factory=dict)
    eval: dict[str, list[float]] = field(default_factory=dict)

    def log(self, part: str, **values: float) -> None:
        table = getattr(self, part)
        for key, value in values.items():
            table.setdefault(key, []).append(float(value))


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over the last `window` values (fewer at the start): per-batch numbers are noisy."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def pick_device(name: str | None = None) -> torch.device:
    """CUDA when present (one GPU per process under torchrun), else CPU."""
    device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


def init_distributed() -> tuple[int, int]:
    """Join the process group torchrun set up (gloo on CPU, NCCL on CUDA); (rank, world size)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return rank_and_world()


def rank_and_world() -> tuple[int, int]:
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def all_sum(values: list[float | torch.Tensor]) -> torch.Tensor:
    """Sum each value over all processes (a no-op in a single process)."""
    t = torch.stack([torch.as_tensor(v, dtype=torch.float64).detach().cpu() for v in values])
    if dist.is_initialized():
        backend_device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        t = t.to(backend_device)
        dist.all_reduce(t)
    return t.cpu()


def parameter_groups(model: nn.Module, config: TrainingConfig) -> list[dict]:
    """Weight decay on matrices only: biases and LayerNorm parameters are left alone (as in BERT).
    Weights named by config.fresh_parameters learn at config.fresh_learning_rate: new heads on a pretrained
    encoder can learn fast while the encoder moves slowly (discriminative fine-tuning, as ULMFiT)."""
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            fresh = name.startswith(config.fresh_parameters) if config.fresh_parameters else False
            groups.setdefault((p.ndim < 2 or "LayerNorm" in name, fresh), []).append(p)
    fresh_lr = config.fresh_learning_rate or config.learning_rate
    return [{"params": params, "weight_decay": 0.0 if no_decay else config.weight_decay,
             "lr": fresh_lr if fresh else config.learning_rate}
            for (no_decay, fresh), params in sorted(groups.items())]


def warmup_then_linear_decay(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate multiplier: 0 -> 1 over the warm-up, then 1 -> 0 at the last step."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> list[int]:
    """The examples of a given step: a fresh permutation each epoch, a pure function of (seed, step),
    so a resumed run sees exactly the batches the uninterrupted one would have seen."""
    size = min(batch_size, n)
    per_epoch = n // size
    epoch, k = divmod(step, per_epoch)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    return order[k * size:(k + 1) * size].tolist()


class Trainer:
    """AdamW + warm-up/decay + clipping + periodic evaluation + resumable checkpoints + progress bar."""

    def __init__(self, model: nn.Module, train_data: Sequence, collate: Collate, config: TrainingConfig,
                 eval_data: Sequence | None = None, metrics: Metrics | None = None, out_dir: str | Path | None = None):
        if len(train_data) == 0:
            raise ValueError("train_data is empty; there is nothing to train on")
        if config.checkpoint_every and out_dir is None:
            raise ValueError("checkpoint_every needs an out_dir to write the checkpoints to")
        self.config, self.train_data, self.eval_data = config, train_data, eval_data
        self.collate, self.metrics = collate, metrics
        self.out_dir = Path(out_dir) if out_dir else None
        self.rank, self.world = rank_and_world()
        if min(config.batch_size, len(train_data)) % self.world:
            raise ValueError(f"batch size {config.batch_size} does not split over {self.world} processes; "
                             "use a multiple of --nproc_per_node")
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        # with several processes, each runs its slice of the batch and DDP averages the gradients
        self.ddp = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda"
                                           else None) if self.world > 1 else None
        torch.manual_seed(config.seed)                                     # dropout draws
        self.data_rng = torch.Generator().manual_seed(config.seed)         # masking and other data draws
        # fused: one kernel updates every weight (12 ms a step for MiniLM on 2 cores, against 118 ms for the
        # per-tensor loop), the same AdamW up to rounding
        self.optimizer = torch.optim.AdamW(parameter_groups(model, config), betas=(0.9, 0.999), eps=1e-6,
                                           fused=self.device.type in ("cpu", "cuda"))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule(config))
        self.step = 0
        self.history = History()

    # ---- one step ------------------------------------------------------------------------------
    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in batch.items()}

    def autocast(self):
        enabled = self.config.bf16 and self.device.type == "cuda"
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=enabled)

    def my_rows(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This process's contiguous slice of the global batch (all of it in a single process)."""
        size = len(next(iter(batch.values()))) // self.world
        return {k: v[self.rank * size:(self.rank + 1) * size] for k, v in batch.items()}

    def global_loss(self, out) -> tuple[torch.Tensor, float]:
        """(loss to differentiate, loss of the whole global batch). Each loss term is divided by its
        item count over *all* processes, times the world size that DDP's gradient averaging divides
        by, so N processes take exactly the step one process would take on the whole batch."""
        if self.world == 1:
            return out.loss, out.loss.item()
        totals, counts = zip(*out.loss_terms.values())
        summed = all_sum([*totals, *counts]).to(self.device)
        k = len(totals)
        loss = sum(t / c for t, c in zip(totals, summed[k:])) * self.world
        return loss, float(sum(summed[:k] / summed[k:]))

    def train_step(self) -> None:
        started = time.perf_counter()
        self.model.train()
        examples = [self.train_data[i] for i in batch_indices(self.step, len(self.train_data),
                                                               self.config.batch_size, self.config.seed)]
        batch = self.to_device(self.my_rows(self.collate(examples, self.data_rng)))  # same masks on every rank
        with self.autocast():
            out = (self.ddp or self.model)(**batch)
        loss, loss_value = self.global_loss(out)
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"the loss became {loss_value} at step {self.step + 1}; lower the "
                                     "learning rate or check the inputs (resume from the last checkpoint)")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
        lr = self.scheduler.get_last_lr()[0]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        # cumulative training time (evaluation excluded), for "the same clock" comparisons between runs
        seconds = (self.history.train["seconds"][-1] if self.history.train.get("seconds") else 0.0)
        self.history.log("train", step=self.step, loss=loss_value, lr=lr,
                         seconds=seconds + time.perf_counter() - started,
                         **self.reduce_metrics(self.metrics(out, batch) if self.metrics else {}))

    def reduce_metrics(self, sums: dict[str, tuple[float, float]]) -> dict[str, float]:
        """{name: (numerator, denominator)} summed over processes -> {name: ratio}."""
        if not sums:
            return {}
        totals = all_sum([x for pair in sums.values() for x in pair]).view(-1, 2)
        return {k: float(num / max(den, 1e-12)) for k, (num, den) in zip(sums, totals.tolist())}

    @torch.no_grad()
    def evaluate(self, data: Sequence | None = None) -> dict[str, float]:
        """Mean loss and metrics over `data` (default: eval_data), with a fixed seed for its randomness."""
        data = self.eval_data if data is None else data
        if not data:
            raise ValueError("no evaluation data was given")
        self.model.eval()
        rng = torch.Generator().manual_seed(12345)  # the same masks at every evaluation
        sums: dict[str, tuple[float, float]] = {}
        for start in range(0, len(data), self.config.batch_size):
            batch = self.collate(list(data[start:start + self.config.batch_size]), rng)
            batch = self.to_device({k: v[self.rank::self.world] for k, v in batch.items()})  # my rows
            if len(next(iter(batch.values()))) == 0:
                continue
            with self.autocast():
                out = self.model(**batch)
            terms = {f"loss:{k}": (t.item(), c.item()) for k, (t, c) in out.loss_terms.items()}
            for k, (num, den) in {**terms, **(self.metrics(out, batch) if self.metrics else {})}.items():
                sums[k] = (sums.get(k, (0, 0))[0] + num, sums.get(k, (0, 0))[1] + den)
        ratios = self.reduce_metrics(sums)
        loss = sum(v for k, v in ratios.items() if k.startswith("loss:"))  # each term over all its items
        return {"loss": loss, **{k: v for k, v in ratios.items() if not k.startswith("loss:")}}

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self, until: int | None = None) -> History:
        """Train up to step `until` (default: config.steps); call again (or after resume) to go on."""
        cfg, end = self.config, min(until or self.config.steps, self.config.steps)
        bar = tqdm(total=cfg.steps, initial=self.step, desc="training", disable=not cfg.progress or self.rank > 0)
        while self.step < end:
            self.train_step()
            bar.update(1)
            bar.set_postfix(loss=f"{self.history.train['loss'][-1]:.3f}")
            last = self.step == cfg.steps
            if self.eval_data and ((cfg.eval_every and self.step % cfg.eval_every == 0) or last):
                self.history.log("eval", step=self.step, **self.evaluate())
            if cfg.checkpoint_every and (self.step % cfg.checkpoint_every == 0 or last) and self.rank == 0:
                self.save_checkpoint(self.out_dir / f"checkpoint-{self.step}.pt")
        bar.close()
        return self.history

    # ---- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "step": self.step,
                "rng": {"torch": torch.get_rng_state(), "data": self.data_rng.get_state(),
                        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
                "history": asdict(self.history), "config": asdict(self.config)}

    def save_checkpoint(self, path: str | Path) -> Path:
        """Everything needed to resume bit for bit; written to a temporary file, then renamed."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state(), tmp)
        os.replace(tmp, path)
        return path

    def resume(self, path: str | Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["config"]["steps"] != self.config.steps:
            raise ValueError(f"{path} was saved by a run of {state['config']['steps']} steps, this one has "
                             f"{self.config.steps}; the learning-rate schedule would not match")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = state["step"]
        torch.set_rng_state(state["rng"]["torch"])
        self.data_rng.set_state(state["rng"]["data"])
        if state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.history = History(**state["history"])


def latest_checkpoint(directory: str | Path) -> Path | None:
    found = sorted(Path(directory).glob("checkpoint-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    return found[-1] if found else None


def schedule(config: TrainingConfig) -> partial:
    """The learning-rate multiplier of a run as a function of the step."""
    return partial(warmup_then_linear_decay, warmup_steps=round(config.warmup * config.steps),
                   total_steps=config.steps)


def lr_at(step: int, config: TrainingConfig) -> float:
    """The learning rate the schedule gives at `step` (for plots and tests)."""
    return config.learning_rate * schedule(config)(step)
