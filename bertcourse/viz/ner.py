"""Named entities pictured: 09_ner (label alignment, the per-token head, entity F1, tagged sentences)."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..pretraining import IGNORE
from ..tasks.ner import TAGS, entities
from .style import PROJECTOR, check_tokens

ENTITY_COLOURS = {"PER": "#fbb4ae", "ORG": "#b3cde3", "LOC": "#ccebc5", "MISC": "#decbe4"}  # CoNLL-2003's types
OTHER_ENTITY_COLOUR = "#fed9a6"   # any other type a user's data brings
MISTAKE_COLOUR = "#d62728"


def entity_colour(kind: str) -> str:
    """One colour per entity type, the same in every NER figure and table."""
    return ENTITY_COLOURS.get(kind, OTHER_ENTITY_COLOUR)


def _tag_colour(tag: str) -> str:
    return "white" if tag == "O" else entity_colour(tag[2:])


@plt.rc_context(PROJECTOR)
def label_alignment(words: Sequence[str], tags: Sequence[str], tokens: Sequence[str],
                    word_ids: Sequence[int | None], labels: Sequence[int]) -> Figure:
    """How word tags become token labels: the words (with their tags) on top, the WordPiece tokens
    below, an arrow from each word to its first sub-token, and under every token its training label:
    the word's tag on the first sub-token, -100 (ignored by the loss) on the rest and on [CLS]/[SEP].
    Pass what `encode_words` and `align_labels` returned, so the picture shows the package's own rule."""
    T = len(tokens)
    if not len(word_ids) == len(labels) == T:
        raise ValueError(f"{T} tokens, {len(word_ids)} word ids and {len(labels)} labels: pass one word id and "
                         "one label per token (encode_words' word_ids and align_labels' output)")
    if len(words) != len(tags) or sorted({w for w in word_ids if w is not None}) != list(range(len(words))):
        raise ValueError(f"{len(words)} words with {len(tags)} tags, but the word ids cover "
                         f"{len({w for w in word_ids if w is not None})} words: pass one tag per word and the "
                         "word_ids encode_words gave for these very words")
    fig = Figure(figsize=(min(16.0, 2.2 + 0.62 * T), 3.4), layout="constrained")
    ax = fig.add_subplot()
    box = {"boxstyle": "round,pad=0.25", "edgecolor": "#555555"}
    for w, (word, tag) in enumerate(zip(words, tags)):
        span = [k for k, i in enumerate(word_ids) if i == w]                 # the word's sub-token positions
        ax.add_patch(Rectangle((span[0] - 0.45, 1.1), len(span) - 0.1, 0.9, facecolor=_tag_colour(tag),
                               edgecolor="#555555", lw=1.2, gid=f"word-box-{w}"))
        ax.text((span[0] + span[-1]) / 2, 1.7, word, ha="center", va="center", fontsize=13, gid=f"word-{w}")
        ax.text((span[0] + span[-1]) / 2, 1.33, tag, ha="center", va="center", fontsize=11, color="#333333")
        ax.annotate("", (span[0], 0.3), (span[0], 1.08), arrowprops={"arrowstyle": "-|>", "color": "#333333"})
    for k, (token, label) in enumerate(zip(tokens, labels)):
        special = word_ids[k] is None
        ax.text(k, 0, token, ha="center", va="center", fontsize=12, rotation=90 if len(token) > 9 else 0,
                gid=f"token-{k}", bbox={**box, "facecolor": "#dddddd" if special else "white"})
        ignored = label == IGNORE
        ax.text(k, -0.75, str(IGNORE) if ignored else TAGS[label], ha="center", va="center", gid=f"label-{k}",
                fontsize=11, color="#999999" if ignored else "black", fontstyle="italic" if ignored else "normal",
                bbox=None if ignored else {**box, "facecolor": _tag_colour(TAGS[label])})
    for y, name in ((1.55, "词\n(+ 标签)"), (0.0, "WordPiece\n词元"), (-0.75, "训练\n标签")):
        ax.text(-0.75, y, name, ha="right", va="center", fontsize=11, fontweight="bold")
    ax.set_xlim(-2.4, T - 0.4)
    ax.set_ylim(-1.15, 2.1)
    ax.set_axis_off()
    ax.set_title("每个词的标签放在它的第一个子词上；其余位置是 -100（损失忽略）", fontsize=13)
    return fig


@plt.rc_context(PROJECTOR)
def tag_probabilities(probabilities: torch.Tensor, tokens: Sequence[str], labels: Sequence[int],
                      tags: Sequence[str] | None = None) -> Figure:
    """The per-token head at work on one sentence: one row per token, the softmax of its tag logits
    (the same dense layer for every row). `labels` are the token labels of `align_labels`: rows with a
    label (first sub-tokens, black names) are what the loss and the evaluation read, with the gold tag
    dotted; the others (grey, -100) get logits too, but nobody reads them. Boxes: the argmax."""
    tags = list(TAGS if tags is None else tags)
    p = torch.as_tensor(probabilities).detach().float()                      # (T, C)
    if p.dim() != 2 or p.size(1) != len(tags):
        raise ValueError(f"probabilities must be (T, {len(tags)}): one row per token, one column per tag; got "
                         f"{tuple(p.shape)} (take logits[0].softmax(-1) of one sentence)")
    tokens = check_tokens(tokens, p.size(0), "token")
    if len(labels) != p.size(0) or any(not (label == IGNORE or 0 <= label < len(tags)) for label in labels):
        raise ValueError(f"pass one label per token ({p.size(0)}), each a tag id or {IGNORE}: align_labels' output")
    T, C = p.shape
    scored = [label != IGNORE for label in labels]
    fig = Figure(figsize=(3.6 + 0.75 * C, 2.0 + 0.3 * T), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(p.numpy(), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    for t, c in enumerate(p.argmax(-1).tolist()):
        ax.add_patch(Rectangle((c - 0.5, t - 0.5), 1, 1, fill=False, lw=2.0 if scored[t] else 1.0,
                               edgecolor="black" if scored[t] else "#999999", ls="-" if scored[t] else ":"))
    rows = [t for t in range(T) if scored[t]]
    ax.plot([labels[t] for t in rows], rows, "o", color="#ff7f0e", ms=8, mec="white", lw=0, label="正确标签 (gold)",
            gid="gold")
    ax.set_xticks(range(C), tags, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(T), tokens)
    for label, counted in zip(ax.get_yticklabels(), scored):
        label.set_color("black" if counted else "#aaaaaa")
        label.set_fontweight("bold" if counted else "normal")
    for label, tag in zip(ax.get_xticklabels(), tags):
        label.set_backgroundcolor(_tag_colour(tag))
    ax.set_xlabel("标签 (tag)")
    ax.set_ylabel("词元（灰色：标签 -100，被忽略）")
    ax.set_title("每个词元的标签概率（方框：最大值 argmax）")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    fig.colorbar(image, ax=ax, label="概率（对各标签做 softmax）", shrink=0.8)
    return fig


@plt.rc_context(PROJECTOR)
def entity_f1_bars(runs: dict[str, dict]) -> Figure:
    """Entity F1 per type, and over all entities (micro average), one bar colour per run; under each type
    the number of gold entities it has (few entities: a noisy score). `runs` maps a name to
    `entity_scores(...)`."""
    if not runs or any("per_type" not in s or "f1" not in s for s in runs.values()):
        raise ValueError("pass {run name: entity_scores(y_true, y_pred)}, at least one run")
    kinds = sorted({k for s in runs.values() for k in s["per_type"]})
    support = {k: max(s["per_type"].get(k, {}).get("support", 0) for s in runs.values()) for k in kinds}
    groups = [*kinds, "all"]
    n = len(runs)
    width = 0.8 / n
    fig = Figure(figsize=(3.5 + 1.3 * len(groups) * max(1, n / 2), 4.8), layout="constrained")
    ax = fig.add_subplot()
    for j, (name, scores) in enumerate(runs.items()):
        values = [100 * scores["per_type"].get(k, {}).get("f1", 0.0) for k in kinds] + [100 * scores["f1"]]
        xs = [g + (j - (n - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, values, width * 0.92, color=plt.get_cmap("tab10")(j), label=name, gid=f"run-{j}")
        for x, value in zip(xs, values):
            ax.annotate(f"{value:.0f}", (x, value), xytext=(0, 3), textcoords="offset points", ha="center",
                        va="bottom", fontsize=11)
    ax.set_xticks(range(len(groups)), [f"{k}\n({support[k]} 个)" for k in kinds]
                  + [f"全部\n({sum(support.values())} 个)"])
    for label, kind in zip(ax.get_xticklabels(), groups):
        label.set_backgroundcolor(entity_colour(kind) if kind != "all" else "white")
    ax.axvline(len(kinds) - 0.5, color="#999999", lw=1, ls=":")
    ax.set_ylim(0, 112)
    ax.set_ylabel("实体 F1 (%)")
    ax.set_title("每种实体的 F1（类型和两端都对，才算找对一个实体）")
    if n > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _entity_line(words: Sequence[str], tags: Sequence[str], other: Sequence[str] | None, mistake: str) -> str:
    """One sentence as HTML: each entity a coloured box with its type; an entity absent from `other`
    gets a red border (`mistake`: 'wrong' for predictions, 'missed' for gold entities)."""
    found = entities(tags)
    elsewhere = None if other is None else set(entities(other))
    starts = {start: (kind, end) for kind, start, end in found}
    parts, i = [], 0
    while i < len(words):
        if i not in starts:
            parts.append(escape(words[i]))
            i += 1
            continue
        kind, end = starts[i]
        bad = elsewhere is not None and (kind, i, end) not in elsewhere
        border = f"2px {'solid' if mistake == 'wrong' else 'dashed'} {MISTAKE_COLOUR}" if bad else "1px solid #888"
        parts.append(f'<span class="entity{" " + mistake if bad else ""}" data-type="{escape(kind)}" '
                     f'style="background:{entity_colour(kind)}; border:{border}; border-radius:4px; '
                     f'padding:1px 4px; line-height:2">{escape(" ".join(words[i:end]))} '
                     f'<sub style="font-size:70%; font-weight:bold">{escape(kind)}</sub></span>')
        i = end
    return " ".join(parts)


def tagged_sentences(words: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                     gold: Sequence[Sequence[str]] | None = None):
    """Sentences with their entities highlighted, one colour per type; with `gold`, the gold line above
    the predicted one, a red solid border on a predicted entity that is wrong (type or ends) and a red
    dashed border on a gold entity the model missed. Returns an IPython HTML object (`.data`: the HTML)."""
    from IPython.display import HTML

    if len(predicted) != len(words) or (gold is not None and len(gold) != len(words)):
        raise ValueError(f"{len(words)} sentences but {len(predicted)} predicted"
                         + ("" if gold is None else f" and {len(gold)} gold") + " tag sequences: pass one per sentence")
    for i, sentence in enumerate(words):
        if len(predicted[i]) != len(sentence) or (gold is not None and len(gold[i]) != len(sentence)):
            raise ValueError(f"sentence {i} has {len(sentence)} words but not as many tags: one tag per word")
    legend = " ".join(f'<span style="background:{c}; border-radius:4px; padding:1px 6px">{k}</span>'
                      for k, c in ENTITY_COLOURS.items())
    if gold is not None:
        legend += (f' &nbsp; <span style="border:2px solid {MISTAKE_COLOUR}; padding:1px 4px">预测错的实体</span>'
                   f' <span style="border:2px dashed {MISTAKE_COLOUR}; padding:1px 4px">漏掉的实体</span>')
    rows = []
    for i, sentence in enumerate(words):
        if gold is not None:
            rows.append(f'<tr><td style="color:#666; text-align:right">正确 (gold)</td>'
                        f'<td style="text-align:left">{_entity_line(sentence, gold[i], predicted[i], "missed")}</td></tr>')
        rows.append(f'<tr style="border-bottom:1px solid #ddd"><td style="color:#666; text-align:right">'
                    f'{"预测" if gold is not None else ""}</td><td style="text-align:left">'
                    f'{_entity_line(sentence, predicted[i], None if gold is None else gold[i], "wrong")}</td></tr>')
    return HTML(f'<div style="font-size:15px">{legend}<table style="border-collapse:collapse; margin-top:6px">'
                + "".join(rows) + "</table></div>")
