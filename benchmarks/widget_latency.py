"""Latency of every widget update (bertcourse.widgets) on the packaged MiniLM: the course promises an
update in at most 100 ms on a 2-core CPU, idle and beside one busy process (a second kernel training, as
happens in class), for the masking playground, the sentence-pair playground, the WordPiece step-through,
the attention explorer, the models side by side and head ablation, and the QA explorer. A new text side
by side runs one model at a time, and a new question one QA window at a time: each is timed until the
first picture (the window on screen) is drawn, by the longest of the steps after it, and until every model
(window) has run, which is several updates, not one. The fine-tuning
race updates as it trains: its whole run (three trainings, idle) is timed once, against "about a minute".

    python benchmarks/widget_latency.py [--tokens 32] [--reps 10] [--race-steps 48] [--out FILE] [--readme]

--readme (with the default --out) also rewrites the latency table of notebooks/README.md from the JSON.

Each update is what the kernel does when a student changes one control, checked to redraw; the browser's
own rendering is not counted. Every update runs three times per repetition, interleaved: as shipped (inside
widgets.threads.widget_threads: the cores other processes left free since the last update), on one torch
thread, and on torch's default threads (one per core); first idle, then beside a process this script
starts, which multiplies matrices on torch's default threads. How many threads the shipped updates chose
is counted.
Medians in milliseconds; the load average is printed, since other processes on the machine count too.
Models: the classroom "pretraining" and "qa" models when prepared (`make models`), else MiniLM with fresh
heads (the same arithmetic, so the same latency).
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from common import cpu_model, interleaved_times, write_between  # noqa: E402

from bertcourse import (BertForPreTraining, BertForQuestionAnswering, BertModel,  # noqa: E402
                        BertTokenizer, classroom, load_pretrained)
from bertcourse import widgets  # noqa: E402
from bertcourse.tasks import get_task  # noqa: E402
from bertcourse.widgets import attention, compare, masking, pairs, qa  # noqa: E402
from bertcourse.widgets import threads as threads_module  # noqa: E402

TARGET_MS = 100.0
# one redraw per model / window: the rows above them time each
SEVERAL_UPDATES = {"side by side: new text, all 3 models", "QA explorer: new question, all windows"}
OUT = Path(__file__).with_name("widget_latency.json")
README = Path(__file__).resolve().parents[1] / "notebooks" / "README.md"
BEGIN, END = "<!-- widget-latency:start (benchmarks/widget_latency.py --readme) -->", "<!-- widget-latency:end -->"
WORDS = ("the old man saw a small dog run across the green field near the river while his young "
         "daughter read a long book about the history of the city in the warm summer light").split()
BUSY = "import torch\na = torch.randn(768, 768)\nwhile True:\n    a = (a @ a).tanh()\n"
THREADED = (attention, compare, masking, pairs, qa)        # the modules whose updates use widget_threads
MODES = ("as shipped", "one thread", "default threads")


def texts_of(tokenizer: BertTokenizer, n_tokens: int, count: int) -> list[str]:
    """`count` different texts that each encode to exactly n_tokens ([CLS] and [SEP] included)."""
    texts = []
    for start in range(count):
        text = " ".join(itertools.islice(itertools.cycle(WORDS), start, start + n_tokens - 2))
        if len(tokenizer.encode(text, max_length=512)) != n_tokens:   # every word above is one WordPiece
            raise RuntimeError(f"{text!r} does not encode to {n_tokens} tokens")
        texts.append(text)
    return texts


def classroom_or(name: str, fallback: Callable[[], torch.nn.Module]) -> tuple[torch.nn.Module, str]:
    """A prepared classroom model, or a stand-in of the same shape."""
    try:
        directory = classroom.model_dir(name)
    except classroom.ModelNotPrepared:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fallback().eval(), "MiniLM + fresh heads"
    if name == "pretraining":
        return load_pretrained(directory, BertForPreTraining).eval(), "classroom"
    from bertcourse.finetuning import load_finetuned
    return load_finetuned(directory)[1].eval(), "classroom"


def changes(tokenizer: BertTokenizer, n_tokens: int) -> tuple[dict[str, Callable[[], None]], dict[str, str]]:
    """One callable per (widget, control): each moves the control to a new value and checks the redraw."""
    texts = itertools.cycle(texts_of(tokenizer, n_tokens, 8))
    minilm = load_pretrained().eval()
    pretraining, source_p = classroom_or("pretraining", lambda: load_pretrained(None, BertForPreTraining))
    qa_model, source_q = classroom_or("qa", lambda: load_pretrained(None, BertForQuestionAnswering))
    torch.manual_seed(0)
    random_init = BertModel(minilm.config).eval()                   # MiniLM's shape, fresh weights
    explorer = widgets.attention_explorer(minilm, tokenizer, next(texts))
    playground = widgets.masking_playground(tokenizer, next(texts), model=pretraining)
    pair = widgets.sentence_pair_playground(pretraining, tokenizer)
    steps = widgets.wordpiece_steps(tokenizer, "Unaffable tokenizers love 北京!")
    side = widgets.attention_comparison({"pretrained": minilm, "random": random_init, "task": pretraining.bert},
                                        tokenizer, next(texts))
    ablation = widgets.head_ablation(pretraining, tokenizer, "The capital of France is [MASK].")
    passage = max(get_task("qa").load("test"), key=lambda q: len(q.context))      # notebook 10's long passage
    explorer_qa = widgets.qa_explorer(qa_model, tokenizer, passage.question, passage.context)
    heads = itertools.cycle([((0, 1),), ((2, 3), (4, 5)), ((5, 0),), ()])
    seeds = itertools.count(1)
    questions = itertools.cycle(["Who lived in the village?", "What was mined there?", passage.question])
    words = itertools.cycle(["Unaffable tokenizers", "playing 北京 snowboards", "electroencephalography rocks"])

    def checked(view: Callable[[], object], change: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            before = view()
            change()
            if view() == before:
                raise RuntimeError(f"{change} did not redraw")
        return run

    def redraws(shown: tuple, change: Callable[[], None]) -> list[float]:
        """Clock times of the change's start, of each redraw of the `shown` widgets, and of its end."""
        times = [time.perf_counter()]
        record = lambda _: times.append(time.perf_counter())        # noqa: E731
        for widget in shown:
            widget.observe(record, "value")
        try:
            change()
        finally:
            for widget in shown:
                widget.unobserve(record, "value")
        return [*times, time.perf_counter()]

    def first_drawn(widget, change: Callable[[], None]) -> Callable[[], float]:
        """Seconds from the change to the widget's first redraw (the rest of the update still runs)."""
        def run() -> float:
            times = redraws((widget,), change)
            if len(times) < 3:
                raise RuntimeError(f"{change} did not redraw {widget}")
            return times[1] - times[0]
        return run

    def longest_step(shown: tuple, change: Callable[[], None]) -> Callable[[], float]:
        """Seconds of the longest wait from one redraw of any of the `shown` widgets to the next, or to
        the update's end (an update in several steps, each of which the student sees)."""
        def run() -> float:
            times = redraws(shown, change)[1:]                          # from the first redraw on
            if len(times) < 3:
                raise RuntimeError(f"{change} did not redraw {shown} in steps")
            return max(b - a for a, b in zip(times, times[1:]))
        return run

    def following(control):
        """The slider's next value (round): always a change, whatever another update set it to."""
        def change() -> None:
            control.value = (control.value + 1) % (control.max + 1)
        return change

    def setter(control, values):
        def change() -> None:
            control.value = next(values)
        return change

    table = {
        "masking playground: new seed": checked(lambda: playground.guesses_view.value, setter(playground.seed, seeds)),
        "sentence pair: pick a pair": checked(lambda: pair.verdict.value,
                                              lambda: pair.pick(bool(next(seeds) % 2))),
        "WordPiece: new text": checked(lambda: steps.view.value, setter(steps.text, words)),
        "attention explorer: new text": checked(lambda: explorer.picture.value, setter(explorer.text, texts)),
        "attention explorer: new layer": checked(lambda: explorer.picture.value, following(explorer.layer)),
        "side by side: new text, first model": first_drawn(side.pictures["pretrained"], setter(side.text, texts)),
        "side by side: new text, each further model": longest_step(tuple(side.pictures.values()),
                                                                   setter(side.text, texts)),
        "side by side: new text, all 3 models": checked(lambda: side.shown(), setter(side.text, texts)),
        "side by side: new layer": checked(lambda: side.shown(), following(side.layer)),
        "head ablation: heads off": checked(lambda: ablation.view.value, setter(ablation.heads, heads)),
        "QA explorer: new question, window on screen": first_drawn(explorer_qa.chart,
                                                                   setter(explorer_qa.question, questions)),
        "QA explorer: new question, each further window": longest_step(
            (explorer_qa.answer, explorer_qa.chart), setter(explorer_qa.question, questions)),
        "QA explorer: new question, all windows": checked(lambda: explorer_qa.answer.value,
                                                          setter(explorer_qa.question, questions)),
        "QA explorer: other window": checked(lambda: explorer_qa.grid.value, following(explorer_qa.window)),
    }
    return table, {"pretraining": source_p, "qa": source_q, "QA windows": str(len(explorer_qa.answers.windows)),
                   "QA window tokens": str(explorer_qa.max_length)}


@contextlib.contextmanager
def fixed_threads(threads: int | None):
    """The updates on a fixed number of torch threads instead of widget_threads (None: torch's default)."""
    @contextlib.contextmanager
    def pinned():
        before = torch.get_num_threads()
        torch.set_num_threads(threads or before)
        try:
            yield threads or before
        finally:
            torch.set_num_threads(before)
    saved = {m: m.widget_threads for m in THREADED}
    for m in THREADED:
        m.widget_threads = pinned
    try:
        yield
    finally:
        for m, f in saved.items():
            m.widget_threads = f


def measure(table: dict[str, Callable[[], None]], reps: int) -> tuple[dict[str, dict[str, float]], dict[int, int]]:
    """Median ms per update in each mode, interleaved; and how often the shipped updates chose n threads."""
    def pinned(change: Callable[[], None], threads: int | None) -> Callable[[], None]:
        def run() -> float | None:
            with fixed_threads(threads):
                return change()
        return run
    chosen: list[int] = []
    choose = threads_module.CHOOSER.threads
    threads_module.CHOOSER.threads = lambda most: chosen.append(choose(most)) or chosen[-1]
    contenders = {**{(name, "as shipped"): f for name, f in table.items()},
                  **{(name, "one thread"): pinned(f, 1) for name, f in table.items()},
                  **{(name, "default threads"): pinned(f, None) for name, f in table.items()}}
    try:
        times = interleaved_times(contenders, reps)
    finally:
        del threads_module.CHOOSER.threads                            # the method again
    out: dict[str, dict[str, float]] = {}
    for (name, mode), seconds in times.items():
        out.setdefault(name, {})[mode] = 1000 * sorted(seconds)[len(seconds) // 2]
    return out, dict(sorted(collections.Counter(chosen).items()))


def race_seconds(steps: int) -> float:
    """Wall-clock seconds of the fine-tuning race run to its end, as a student's start button runs it."""
    from bertcourse.widgets.race import RaceConfig, finetune_race

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                               # the fresh heads' "newly initialised"
        race = finetune_race(RaceConfig(steps=steps))
    started = time.perf_counter()
    race.run()
    return time.perf_counter() - started


def table(results: dict) -> str:
    """The notebooks README's latency table, rendered from widget_latency.json (a test checks it is there)."""
    medians = results["median_ms"]
    lines = ["| update | idle | beside a busy process | within 100 ms |", "|---|---:|---:|---|"]
    for name, idle in medians["idle"].items():
        i, b = idle["as shipped"], medians["busy"][name]["as shipped"]
        within = ("several updates" if name in SEVERAL_UPDATES
                  else "yes" if max(i, b) <= TARGET_MS else "no")
        lines.append(f"| {name} | {i:.1f} ms | {b:.1f} ms | {within} |")
    race = results["race"]
    chose = {load: ", ".join(f"{n} thread{'s' if int(n) > 1 else ''} {k} times" for n, k in counts.items())
             for load, counts in results["threads_chosen"].items()}
    lines += ["", f"Medians of {results['reps']} updates of {results['tokens']}-token texts, as shipped (on the cores "
              f"other processes left free: idle the updates chose {chose['idle']}; beside the busy process "
              f"{chose['busy']}), on {results['cpus']} CPUs ({results['cpu']}); the QA passage needs "
              f"{results['models']['QA windows']} windows of {results['models']['QA window tokens']} tokens (notebook "
              "10's longest passage): a new question draws the window on screen first, then runs the others one "
              "at a time, each refining the n-best; a new text side by side draws each model's picture as soon "
              "as that model has run. "
              f"The fine-tuning race ({race['steps']} steps "
              f"for each of its three runs) took {race['seconds']:.0f} s from start to finish, idle."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=32, help="tokens per text, [CLS] and [SEP] included")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="write the medians to this JSON file")
    parser.add_argument("--race-steps", type=int, default=48, help="steps of each run of the timed race (0: skip)")
    parser.add_argument("--readme", action="store_true", help=f"write {OUT.name} and the notebooks README's table")
    args = parser.parse_args()
    if args.readme and args.out not in (None, OUT):
        parser.error(f"--readme renders the committed {OUT.name}: leave --out out")
    out = OUT if args.readme else args.out
    if not 3 <= args.tokens <= 64:
        parser.error("--tokens must lie in 3..64 (the side-by-side view cuts texts at 64 tokens)")
    tokenizer = BertTokenizer.from_pretrained()
    updates, sources = changes(tokenizer, args.tokens)
    results, chosen = {}, {}
    results["idle"], chosen["idle"] = measure(updates, args.reps)
    load_idle = os.getloadavg()[0]
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(2)                                                 # let it reach full speed
        results["busy"], chosen["busy"] = measure(updates, args.reps)
    finally:
        busy.kill()
        busy.wait()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads, {os.cpu_count()} CPUs "
          f"({cpu_model()}), load average {load_idle:.1f} before the busy process; models: {sources}; "
          f"{args.tokens}-token texts; medians of {args.reps} ms (target {TARGET_MS:.0f} ms)")
    print(f"{'update':>44}" + "".join(f"  {load + ', ' + mode:>24}" for load in results for mode in MODES))
    for name in updates:
        print(f"{name:>44}" + "".join(f"  {results[load][name][mode]:21.1f} ms" for load in results for mode in MODES))
    print("threads the shipped updates chose (threads: updates):", chosen)
    race = {"steps": args.race_steps, "seconds": race_seconds(args.race_steps) if args.race_steps else None}
    print(f"fine-tuning race, {args.race_steps} steps x 3 runs: {race['seconds']} s")
    results = {"cpu": cpu_model(), "cpus": os.cpu_count(), "load_before": load_idle, "reps": args.reps,
               "tokens": args.tokens, "models": sources, "median_ms": results, "threads_chosen": chosen, "race": race}
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n")
    if args.readme:
        write_between(README, BEGIN, END, table(results))


if __name__ == "__main__":
    main()
