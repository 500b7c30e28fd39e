"""The models the notebooks demonstrate with, prepared once by the course's own code (`make models`).

A class should see BERT work: fill-mask and NSP from trained heads, answers from a trained QA model. Each
model is built from a recipe (settings chosen on the teaching sets' dev splits) into
`data/cache/models/NAME/` (or `$BERTCOURSE_CACHE/models/NAME/`): in a temporary directory first, renamed
into place only when complete, with `classroom.json` holding its settings, scores and a fingerprint of what
built it. `prepare` skips a model that is current and rebuilds one that is missing, stale (settings, data or
package changed), half-written or corrupt; `model_dir` hands a ready one to a notebook.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import __version__
from .data import DATA_DIR, sha256_of
from .finetuning import FinetuneConfig, finetune
from .pretrain_run import PretrainConfig, cloze_score, pretrain
from .workers import cpu_workers, run_in_processes

MANIFEST = "classroom.json"
LAST_BUILD = "last_build.json"
RECIPE_VERSION = 3  # raise when a recipe changes in a way its settings do not show


@dataclass(frozen=True)
class Recipe:
    data: str                                        # the teaching set under data/ it trains on
    settings: dict = field(default_factory=dict)     # PretrainConfig (pretraining) or FinetuneConfig fields
    why: str = ""                                    # how the settings were chosen
    minutes: float = 1.0                             # about how long it builds on one core: longest first


RECIPES: dict[str, Recipe] = {
    "pretraining": Recipe("pretraining", dict(
        init="pretrained", corpus=("course", "pydoc"), steps=360, batch_size=32, learning_rate=4e-4,
        head_learning_rate=4e-3, max_length=64, dropout=0.0, dupe_factor=1, eval_every=60, checkpoint_every=0),
        "continued pretraining of the packaged MiniLM: fresh MLM + NSP heads at 10x the encoder's rate. On the "
        "729 held-out pairs (MLM top-1 / NSP) and 42 cloze sentences: encoder lr 4e-4 learns NSP where 1e-4 and "
        "2e-4 stay at the majority class for 80 steps; training the heads alone first (80 steps) reached 8.2% "
        "top-1; no dropout, and the 40 steps its time buys: 28.9% / 75.9% / 18 -> 30.9% / 75.6% / 21; the MLM "
        "bias from zero instead of the log unigram prior: 31.0% / 74.1% / 26 (the prior held the guesses to the "
        "corpus' words). At 240 steps, none better on all three: 128-token pairs x 16 30.8% / 69.0%, NSP loss "
        "x3 29.6% / 77.4%, encoder lr 6e-4 30.5% / 75.4%, word embeddings (the tied decoder) at 1.5e-3 31.1% / 75.7%, "
        "embeddings and 3 lowest layers frozen for 360 steps 25.2% / 75.9%, 30% of the tokens masked in training "
        "(held-out still 15%) 32.5% / 75.0% / 22 in 15% more time, batches of 16 for 360 steps (the same "
        "training time: 16-pair products run 26% slower a pair) 29.7% / 75.3% / 15 and for 480 steps 31.6% / "
        "77.2% / 18 in 24% more time, pairs of 32 tokens x 64 (the same tokens a step, twice the pairs; held-out "
        "pairs still of 64) 27.6% / 76.0% / 25. The MLM transform and the pooler started as the identity "
        "instead of at random and as the checkpoint's untrained pooler: 31.9% / 77.9% / 27 (the MLM transform "
        "alone 32.1% / 76.8% / 24). Then the steps, on an Intel Xeon (2 cores): 360 give 32.9% / 80.1% / 28 in "
        "324 s, with the identity start 34.0% / 80.9% / 24 (and the slides' random sentence 'Hello world.' read "
        "as the likelier continuation, 0.75 against 0.48 for the true one), 480 with it 34.7% / 82.6% / 27 in 534 "
        "s, over this model's share of the build; 600 steps reached 35.1% / 83.5% / 28 in 17.8 min of training "
        "(AMD EPYC). At 360 steps (Intel Xeon), none better on all three: Adam's beta2 0.98 32.7% / 79.4% / 28, "
        "20% of the tokens masked in training 33.8% / 79.1% / 27 in 374 s (the others 316-344 s), gradient norm "
        "clipped at 5 33.1% / 78.3% / 26, heads at 8e-3 33.1% / 79.7% / 26, warm-up over 5% of the steps 32.7% / 80.1% / 26; the identity start "
        "and 20% masking together 33.9% / 79.7% / 25 in 396 s (the two gains do not add up); the input embeddings "
        "and the 2 lowest layers frozen (the tied decoder still learning, no backward below layer 2), so that 430 "
        "steps fit in 312 s: 30.2% / 76.7% / 27; the MLM transform started at a least-squares fit (MiniLM's final "
        "states at the masked positions of the first 30 or 60 training batches -> the masked words' embeddings, the "
        "output scale fitted to the cross-entropy), 12% held-out top-1 before any step: 33.5% / 80.8% / 27 in 337 s "
        "and 33.7% / 82.4% / 25 in 382 s", minutes=14),
    "sentiment": Recipe("sentiment", dict(epochs=3, max_length=64), "full fine-tuning, [CLS] pooling",
                        minutes=0.7),
    "entailment": Recipe("entailment", dict(epochs=10, max_length=96, train_size=486),
                         "full fine-tuning, [CLS] pooling, the first round's 486 training pairs: at this model's "
                         "share of the build (about 150 steps), 10 passes over them beat 4 over all 1,206 of two "
                         "rounds on the 156 dev pairs: 0.564 and 0.583 (seeds 0 and 1) against 0.519 and 0.526 "
                         "([CLS], before three new hypotheses were reworded) and 0.628 and 0.538 (the token mean, "
                         "but unsure of notebook 08's three clear pairs: 0.60, 0.47 on the wrong class and 0.78 where "
                         "this recipe gives 0.92, 0.93 and 0.92); all 1,206 at 6 epochs 0.519 and 0.590 and at 10 (377 steps, 2.5x the time, "
                         "over this model's share of the build) 0.686 and 0.628; the 486 with the token mean 0.564 "
                         "and 0.538; lr 2e-4 one class (0.333) with [CLS], 0.577 and 0.577 with the token mean. On "
                         "the first round's 78 dev pairs, 10 epochs had 0.603 and 0.654, 5 epochs 0.500 and 0.500, "
                         "lr 3e-4 0.423 and 0.577", minutes=3),
    "similarity": Recipe("similarity", dict(freeze=True, pooling="bi-encoder", epochs=4, max_length=96,
                                            learning_rate=0.3),
                         "frozen bi-encoder: a*cos(u, v)+b on MiniLM's own sentence vectors keeps what the "
                         "checkpoint knows (a cross-encoder fine-tuned on a few hundred pairs forgets it); "
                         "two weights learn at lr 0.3: dev MSE 0.99 (a = 3.7) where 1e-3 left a = 1.02, MSE 4.47 "
                         "(the variance of the dev scores is 2.07)", minutes=0.3),
    "ner": Recipe("ner", dict(epochs=4, max_length=96, batch_size=16, learning_rate=3e-4),
                  "full fine-tuning: dev entity F1 0.752 at lr 3e-4 against 0.488 at 1e-4, 0.655 at 2e-4, 0.742 at "
                  "5e-4", minutes=0.6),
    "qa": Recipe("qa", dict(epochs=0.81, max_length=128, batch_size=16, learning_rate=3e-4, seed=1),
                 "full fine-tuning, every answered window and a quarter of the answerless ones, 301 steps: on the "
                 "3,049 training questions of four rounds, dev EM / F1 41.9 / 55.3 and 47.3 / 60.4 (seeds 0 and 1; "
                 "the better restart kept, as Devlin et al. did on small sets) where the 1,532 of the first three "
                 "rounds gave 33.8 / 45.6 and 37.8 / 51.8 in as many steps (1.6 epochs), and the 754 of the first two "
                 "33.8 / 40.4 and 35.1 / 44.7, and 27.0 / 38.4 and 29.7 / 41.8 in the 198 steps of an earlier recipe; "
                 "the 1,532 questions in 197 steps 25.7 / 37.4 and 21.6 / 37.6, half of the 754 in 189 steps 17.6 / "
                 "29.5 (seed 0). lr 3e-4 against 2e-4 (198 steps, 754 questions) 18.9 / 29.9 and 21.6 / 33.7, 5e-4 "
                 "(1,532 questions, 197 steps) 18.9 / 30.9; the fresh output layer at 10x (3e-3) 29.7 / 34.6 and "
                 "33.8 / 43.4; starting from the classroom pretraining model 14.9 / 25.7; windows of 96 tokens "
                 "(1.6 epochs of the 1,532 = 358 steps, 11% fewer tokens in all) 29.7 / 40.1 (seed 1); on the 3,049, a "
                 "tenth of the answerless windows 43.2 / 54.7 (269 steps) and a half 24.3 / 38.1 (286 steps) against "
                 "the quarter's 41.9 / 55.3 (seed 0)", minutes=11),
}
NAMES = tuple(RECIPES)


class ModelNotPrepared(FileNotFoundError):
    """A classroom model is missing, stale or damaged: `make models` (python -m bertcourse prepare) builds it."""


def models_root() -> Path:
    """Read at call time, so $BERTCOURSE_CACHE set after import still counts."""
    return Path(os.environ.get("BERTCOURSE_CACHE", DATA_DIR / "cache")) / "models"


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"no classroom model {name!r}; the classroom models are: {', '.join(NAMES)}")
    return RECIPES[name]


def fingerprint(name: str) -> str:
    """sha256 over what builds the model: its settings, its data files, the package and the recipe version."""
    r = recipe(name)
    data = {str(p.relative_to(DATA_DIR)): sha256_of(p) for p in sorted((DATA_DIR / r.data).glob("*"))
            if p.is_file() and p.name != "DATASHEET.md"}
    if "pydoc" in r.settings.get("corpus", ()):
        data["pydoc"] = platform.python_version()  # Python's own documentation, as this interpreter ships it
    what = {"name": name, "settings": r.settings, "data": data, "package": __version__, "recipe": RECIPE_VERSION}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=list).encode()).hexdigest()


def status(name: str, verify: bool = False) -> str:
    """"ready", "missing", "stale" (built from other settings, data or code) or "corrupt" (half-written,
    a file missing or changed). verify=True also re-hashes every file (prepare does; model_dir checks sizes)."""
    recipe(name)  # an unknown name is an error, not a missing model
    directory = models_root() / name
    if not directory.exists():
        return "missing"
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError):
        return "corrupt"
    for file, (size, digest) in files.items():
        path = directory / file
        if not path.is_file() or path.stat().st_size != size or (verify and sha256_of(path) != digest):
            return "corrupt"
    return "ready" if manifest.get("fingerprint") == fingerprint(name) else "stale"


def model_dir(name: str) -> Path:
    """The directory of a prepared classroom model (load_pretrained / load_finetuned read it)."""
    state = status(name)
    if state != "ready":
        raise ModelNotPrepared(f"the classroom model {name!r} is {state} in {models_root()}: run `make models` "
                               f"(or `python -m bertcourse prepare {name}`) once; it builds every model the "
                               "notebooks use in about 15 minutes on 2 CPU cores")
    return models_root() / name


def manifest(name: str) -> dict:
    """What a prepared model's classroom.json says: settings, dev/test scores, seconds, fingerprint."""
    return json.loads((model_dir(name) / MANIFEST).read_text())


def build(name: str, r: Recipe, directory: Path, progress: bool = True) -> dict:
    """Train one model from its recipe into `directory`; returns its scores."""
    if name == "pretraining":
        heldout = pretrain(PretrainConfig(**r.settings, progress=progress), directory)
        return {"heldout": heldout, **cloze_score(directory)}
    result = finetune(name, FinetuneConfig(**r.settings, progress=progress), out=directory, splits=("dev", "test"))
    return result.scores


def build_into_place(name: str, r: Recipe, root: Path, fingerprint_: str, state: str, progress: bool) -> str:
    """Build in a temporary directory, write the manifest, then swap it in; -> what was done. Everything
    comes in the arguments, so a worker process builds exactly what the parent asked for."""
    tmp = root / f".{name}.building-{os.getpid()}"
    tmp.mkdir()
    started = time.perf_counter()
    scores = build(name, r, tmp, progress)
    files = {p.name: (p.stat().st_size, sha256_of(p)) for p in sorted(tmp.iterdir()) if p.is_file()}
    (tmp / MANIFEST).write_text(json.dumps({
        "name": name, "fingerprint": fingerprint_, "settings": r.settings, "why": r.why, "scores": scores,
        "seconds": round(time.perf_counter() - started, 1), "threads": torch.get_num_threads(),
        "files": files, "package": __version__}, indent=1, default=list))
    swap_into_place(tmp, root / name)
    return "built" if state == "missing" else f"rebuilt ({state})"


def prepare(names: list[str] | tuple[str, ...] | None = None, force: bool = False,
            progress: bool = True, workers: int | None = None) -> dict[str, str]:
    """Build every classroom model (or `names`) that is not ready; -> {name: what was done}. On a CPU
    two models build at a time, one core each (workers.py says why); workers=1 builds one after another."""
    names = list(names or NAMES)
    for name in names:
        recipe(name)  # unknown names fail before any work
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}: build with 1 (one model after another) or more at a time")
    root = models_root()
    root.mkdir(parents=True, exist_ok=True)
    done, jobs = {}, []
    for name in names:
        for leftover in root.glob(f".{name}.*"):  # an interrupted build or swap: never used, removed
            shutil.rmtree(leftover, ignore_errors=True)
        state = status(name, verify=True)
        if state == "ready" and not force:
            done[name] = "current"
        else:
            jobs.append((name, recipe(name), root, fingerprint(name), state, progress))
    workers = min(cpu_workers() if workers is None else workers, len(jobs))
    started = time.perf_counter()
    with tqdm(total=len(names), initial=len(done), desc="classroom models", disable=not progress) as bar:
        if workers <= 1:
            for job in jobs:
                done[job[0]] = build_into_place(*job)
                bar.update()
        else:
            jobs.sort(key=lambda job: -job[1].minutes)  # the longest first: the others fill in beside them
            for index, what in run_in_processes(build_into_place, jobs, workers):
                done[jobs[index][0]] = what
                bar.update()
    if jobs:  # the wall-clock time of this build (models built side by side overlap)
        record = root / f".{LAST_BUILD}.{os.getpid()}"
        record.write_text(json.dumps({"built": [job[0] for job in jobs], "workers": max(workers, 1),
                                      "seconds": round(time.perf_counter() - started, 1)}))
        record.replace(root / LAST_BUILD)
    return {name: done[name] for name in names}


def last_build() -> dict:
    """What the last `prepare` that built anything built, with how many workers and its wall-clock seconds."""
    path = models_root() / LAST_BUILD
    return json.loads(path.read_text()) if path.is_file() else {}


def swap_into_place(new: Path, final: Path) -> None:
    """Rename the finished build over the old model: the old one is moved aside first and deleted last,
    so at every moment `final` is either the complete old model, absent, or the complete new one."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)
