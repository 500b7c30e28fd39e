"""What every figure of the course shares: a CJK font for the Chinese labels, projector-sized text at a
resolution that stays sharp when projected, the segment colours, token ticks. Kept in one place so that a
change of size or colour reaches every notebook at once."""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib import font_manager

DPI = 110            # every figure's resolution: sharp on a projector, PNGs still under 100 kB
MIN_FONT_PT = 11     # no label smaller than this at the figure's own size
LATIN_FONT = "DejaVu Sans"


def register_cjk_font() -> str | None:
    """Add Noto Sans SC (the `pylopdf-fonts-zh-cn` package, OFL-1.1) to matplotlib and to its font list:
    matplotlib draws each character with the first font that has it, so Latin text keeps DejaVu Sans and
    the Chinese comes from Noto Sans SC. Returns the font's name, or None (with one warning) without it."""
    try:
        from pylopdf_fonts_zh_cn import sans_path
    except ImportError:
        warnings.warn("the CJK font package pylopdf-fonts-zh-cn is missing, so the figures' Chinese labels will "
                      "draw as empty boxes; install the project's dependencies (pip install -e . or "
                      "pip install pylopdf-fonts-zh-cn==0.1.1)", stacklevel=2)
        return None
    path = str(sans_path())
    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()               # "Noto Sans SC"
    mpl.rcParams["font.family"] = [LATIN_FONT, name]
    return name


CJK_FONT = register_cjk_font()

PROJECTOR = {"font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "xtick.labelsize": 12,
             "ytick.labelsize": 12, "legend.fontsize": MIN_FONT_PT, "legend.title_fontsize": 12,
             "figure.titlesize": 15, "figure.labelsize": 13, "figure.dpi": DPI, "savefig.dpi": "figure"}
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


def label_ticks(ax, x_tokens: Sequence[str], y_tokens: Sequence[str]) -> None:
    """Token names under the columns (rotated) and beside the rows."""
    ax.set_xticks(range(len(x_tokens)), x_tokens, rotation=90)
    ax.set_yticks(range(len(y_tokens)), y_tokens)
