"""The figures' shared style: the CJK font is registered, so Chinese labels draw; one clear warning without it."""
import sys

import matplotlib as mpl
import pytest
from matplotlib.figure import Figure

from bertcourse.viz import style
from viz_helpers import assert_readable

CHINESE = "注意力权重 (attention) 词元 掩码 微调 预训练：键 → 查询"


def chinese_figure() -> Figure:
    with mpl.rc_context(style.PROJECTOR):
        fig = Figure(figsize=(6, 3), layout="constrained")
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], label="训练集 (train)")
        ax.set_title(CHINESE)
        ax.set_xlabel("训练步数 (step)")
        ax.set_ylabel("损失 (loss)")
        ax.legend(title="图例")
    return fig


def test_chinese_labels_draw_with_every_glyph_found():
    assert style.CJK_FONT == "Noto Sans SC"
    assert list(mpl.rcParams["font.family"]) == [style.LATIN_FONT, "Noto Sans SC"]   # Latin first, CJK fallback
    assert_readable(chinese_figure())


def test_the_glyph_check_fails_without_the_cjk_font():
    """The check above can fail: with DejaVu Sans alone the Chinese characters have no glyph."""
    with mpl.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = chinese_figure()
        with pytest.raises(UserWarning, match="missing from font"):
            assert_readable(fig)


def test_missing_font_package_gives_one_clear_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "pylopdf_fonts_zh_cn", None)             # as if not installed
    with mpl.rc_context(), pytest.warns(UserWarning, match="pylopdf-fonts-zh-cn is missing") as caught:
        assert style.register_cjk_font() is None
        assert list(mpl.rcParams["font.family"]) == [style.LATIN_FONT, "Noto Sans SC"]  # left as it was
    assert len(caught) == 1 and "pip install" in str(caught[0].message)


def test_projector_settings_are_the_readable_ones():
    assert style.PROJECTOR["figure.dpi"] >= 110 and style.DPI >= 110
    sizes = [v for k, v in style.PROJECTOR.items() if k.endswith("size")]
    assert min(sizes) >= style.MIN_FONT_PT >= 11
