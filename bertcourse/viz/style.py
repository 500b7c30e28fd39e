"""What every figure of the course shares: projector-sized fonts, the segment colours, token ticks.
Kept in one place so that a change of size or colour reaches every notebook at once."""
from __future__ import annotations

from collections.abc import Sequence

PROJECTOR = {"font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "xtick.labelsize": 11,
             "ytick.labelsize": 11, "figure.dpi": 100}
# Crisp (not antialiased) text, and lines where a curve is noisy: the PNGs come out 3-6x smaller, under the
# notebooks' 100 kB per output, and still read well on a projector.
CRISP = {**PROJECTOR, "text.antialiased": False}

SEGMENT_COLOURS = ("tab:blue", "tab:orange")                 # sentence A, sentence B


def check_tokens(tokens: Sequence[str], n: int, what: str) -> list[str]:
    """The tick labels must be the tokens the model read, one per row or column of the picture."""
    if len(tokens) != n:
        raise ValueError(f"{len(tokens)} tokens for {n} {what} positions: pass the tokens of the very encoding "
                         "the model read (enc.tokens), padding included or cut from both")
    return list(tokens)


def label_ticks(ax, x_tokens: Sequence[str], y_tokens: Sequence[str], fontsize: float | None = None) -> None:
    """Token names under the columns (rotated) and beside the rows."""
    size = {} if fontsize is None else {"fontsize": fontsize}
    ax.set_xticks(range(len(x_tokens)), x_tokens, rotation=90, **size)
    ax.set_yticks(range(len(y_tokens)), y_tokens, **size)
