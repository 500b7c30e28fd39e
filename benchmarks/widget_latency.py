"""Latency of the attention explorer (bertcourse.widgets) on the packaged MiniLM: the course promises an
update in at most 100 ms for 32 tokens on a 2-core CPU.

    python benchmarks/widget_latency.py [--tokens 32] [--reps 20]

Times what the kernel does when a student changes something: a new text (tokenise, run the model once,
draw the heatmap and the strongest links) and a new layer or head (redraw from the cached attentions,
alternating one head and all heads). Medians in milliseconds; the browser's own rendering is not counted.
"""
from __future__ import annotations

import argparse
import itertools
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from common import interleaved_medians  # noqa: E402

from bertcourse import BertTokenizer, load_pretrained  # noqa: E402
from bertcourse.widgets import ALL_HEADS, attention_explorer  # noqa: E402

TARGET_MS = 100.0
WORDS = ("the old man saw a small dog run across the green field near the river while his young "
         "daughter read a long book about the history of the city in the warm summer light").split()


def texts_of(tokenizer: BertTokenizer, n_tokens: int, count: int) -> list[str]:
    """`count` different texts that each encode to exactly n_tokens ([CLS] and [SEP] included)."""
    texts = []
    for start in range(count):
        words = list(itertools.islice(itertools.cycle(WORDS), start, start + n_tokens - 2))
        text = " ".join(words)
        if len(tokenizer.encode(text, max_length=512)) != n_tokens:   # every word above is one WordPiece
            raise RuntimeError(f"{text!r} does not encode to {n_tokens} tokens")
        texts.append(text)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=32, help="tokens per text, [CLS] and [SEP] included")
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    if not 3 <= args.tokens <= 128:
        parser.error("--tokens must lie in 3..128 (the explorer cuts texts at 128 tokens)")
    model, tokenizer = load_pretrained(), BertTokenizer.from_pretrained()
    texts = itertools.cycle(texts_of(tokenizer, args.tokens, 8))       # a new text at every change
    app = attention_explorer(model, tokenizer, text=next(texts))
    L, n_heads = model.config.num_hidden_layers, model.config.num_attention_heads
    # one control moved at a time, as a student does: layer 0 -> 1, head 0 -> all, layer 1 -> 2, all -> head 1, ...
    layers = itertools.cycle([*range(1, L), 0])
    heads = itertools.cycle([ALL_HEADS, 1, ALL_HEADS, 2, ALL_HEADS, 0])

    def change_text() -> None:
        app.text.value = next(texts)

    turn = itertools.count()

    def change_view() -> None:
        if next(turn) % 2:
            app.head.value = next(heads)
        else:
            app.layer.value = next(layers)

    runs_before = app.model_runs
    medians = interleaved_medians({"text change": change_text, "layer/head change": change_view}, args.reps)
    assert app.model_runs - runs_before == args.reps + 1, "the model must run once per text change, never more"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs (load {load}), "
          f"all-MiniLM-L6-v2 (L={L}, {n_heads} heads), {args.tokens} tokens")
    for name, seconds in medians.items():
        ms = 1000 * seconds
        verdict = "within" if ms <= TARGET_MS else "OVER"
        print(f"{name:>18}: {ms:6.1f} ms  (median of {args.reps}; {verdict} the {TARGET_MS:.0f} ms target)")


if __name__ == "__main__":
    main()
