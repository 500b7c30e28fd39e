"""Small readers shared by the figure tests (tests/test_viz_*.py): what a drawn figure shows."""
import io
import warnings

import torch
from matplotlib.text import Text

from bertcourse.viz.style import DPI, MIN_FONT_PT


def softmax_rows(*shape: int) -> torch.Tensor:
    return torch.randn(*shape).softmax(-1)


def tick_texts(labels) -> list[str]:
    return [label.get_text() for label in labels]


def image_panels(fig) -> list:
    return [ax for ax in fig.axes if ax.images]


def assert_readable(fig) -> None:
    """Projectable at its own size: drawn at >= DPI, no text under MIN_FONT_PT, and every character found
    in a font (matplotlib warns "Glyph ... missing from font(s)" and draws an empty box otherwise)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"Glyph .* missing from font")
        fig.savefig(io.BytesIO(), format="png")
    assert fig.dpi >= DPI, f"drawn at {fig.dpi} dpi"
    small = {(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_FONT_PT}
    assert not small, f"text under {MIN_FONT_PT} pt: {sorted(small)[:5]}"
