"""What every widget shares: error lines, figures as PNG bytes, a coloured grid of numbers.

Each widget's callbacks return what they drew, so the apps are tested by setting `.value` without a
browser (tests/test_widgets.py) and in JupyterLab by tests/test_browser.py.
"""
from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

VIRIDIS = colormaps["viridis"]
VIRIDIS_HEX = ["#%02x%02x%02x" % tuple(rgba[:3]) for rgba in VIRIDIS(range(VIRIDIS.N), bytes=True).tolist()]
MASKED_COLOUR = "#d9d9d9"  # grid cells that do not count (e.g. end before start)


def error_html(message: object) -> str:
    """A bad input shown in the widget (never raised: the student fixes it in place)."""
    return f"<span style='color:#b00'>⚠ {html.escape(str(message))}</span>"


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes at its own dpi, then closed (a widget redraws many times)."""
    png = io.BytesIO()
    figure.savefig(png, format="png")
    plt.close(figure)
    return png.getvalue()


def hex_colours(values: torch.Tensor) -> list[list[str]]:
    """(R, C) values in 0..1 (NaN = masked) -> CSS colours on the viridis scale: the colormap's own 256
    steps, binned as matplotlib bins them, looked up instead of formatted cell by cell."""
    masked = values.isnan()
    steps = (values.nan_to_num(0).clamp(0, 1) * VIRIDIS.N).long().clamp(max=VIRIDIS.N - 1)   # (R, C)
    return [[MASKED_COLOUR if m else VIRIDIS_HEX[k] for k, m in zip(row, mrow)]
            for row, mrow in zip(steps.tolist(), masked.tolist())]


def colour_legend(low: str = "0", high: str = "1", what: str = "注意力权重 (attention weight)") -> str:
    stops = ",".join("#%02x%02x%02x" % tuple(VIRIDIS(x / 4, bytes=True)[:3]) for x in range(5))
    return (f"<div style='display:flex;align-items:center;gap:6px;margin-top:6px'>{html.escape(what)} {low}"
            f"<span style='display:inline-block;width:160px;height:12px;background:linear-gradient(to right,{stops})'>"
            f"</span>{high}</div>")


def grid_html(colour_values: torch.Tensor, row_labels: Sequence[str], column_labels: Sequence[str],
              values: torch.Tensor, tip: str, heading: str, legend: str, cell_px: int = 20,
              masked_tip: str = "") -> str:
    """A matrix as an HTML table of coloured cells with the tokens as headers. 64 tick labels cost
    matplotlib ~200 ms a redraw; the table costs a few ms and gives exact numbers on hover: `tip` formats
    a cell's tooltip from {row}, {column} and {value} (its entry of `values`); a NaN value shows
    `masked_tip` instead. The labels are escaped once, not in every cell's tooltip."""
    q = [html.escape(t) for t in row_labels]
    k = [html.escape(t) for t in column_labels]
    tip, masked_tip = html.escape(tip), html.escape(masked_tip)
    colours = hex_colours(colour_values.detach().float())
    numbers = values.detach().float().tolist()
    head = "".join(f"<th class=k><div>{t}</div></th>" for t in k)
    rows = "".join(
        f"<tr><th class=q>{q[i]}</th>"
        + "".join(f'<td style="background:{c}" title="'
                  f'{(tip if v == v else masked_tip).format(row=q[i], column=k[j], value=v)}"></td>'
                  for j, (c, v) in enumerate(zip(colours[i], numbers[i])))
        + "</tr>" for i in range(len(q)))
    return (f"<style>.bc-grid td{{width:{cell_px}px;height:{cell_px}px;padding:0}} .bc-grid th{{font-weight:normal;"
            "padding:0 4px;white-space:nowrap}} .bc-grid th.k{padding:4px 0;vertical-align:bottom}"
            " .bc-grid th.k div{writing-mode:vertical-rl;transform:rotate(180deg);line-height:1}"
            " .bc-grid th.q{text-align:right}</style>"
            f"<div style='font-size:14px'><b>{html.escape(heading)}</b>"
            f"<table class=bc-grid style='border-collapse:collapse'><tr><th></th>{head}</tr>{rows}</table>"
            f"{legend}</div>")


def probability_text(p: float) -> str:
    """A probability as a student reads it: 0.42, or 3e-05 when tiny."""
    return f"{p:.2f}" if p >= 0.01 or p == 0 or math.isnan(p) else f"{p:.0e}"
