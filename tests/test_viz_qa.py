"""The QA figure: bars are the start/end probabilities, shading the spans."""
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from bertcourse.viz.qa import span_probabilities
from viz_helpers import assert_readable, softmax_rows


def test_span_probabilities_bars_are_the_probabilities_with_spans_marked():
    tokens = ["[CLS]", "who", "?", "[SEP]", "ada", "love", "##lace", "wrote", "it", "[SEP]"]
    start, end = softmax_rows(10), softmax_rows(10)
    fig = span_probabilities(start, end, tokens, gold=(4, 6), predicted=(5, 6))
    assert_readable(fig)
    top, bottom = fig.axes
    for ax, probs in ((top, start), (bottom, end)):
        bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_facecolor() == to_rgba("tab:blue")]
        assert [b.get_height() for b in bars] == pytest.approx(probs.tolist())
        shaded = {p.get_label(): p for p in ax.patches if p.get_label().endswith("span)")}
        x = {k: [p.get_x(), p.get_x() + p.get_width()] for k, p in shaded.items()}
        gold, predicted = "正确答案区间 (gold span)", "预测的区间 (predicted span)"
        assert x[gold] == pytest.approx([3.5, 6.5]) and x[predicted] == pytest.approx([4.5, 6.5])
        assert shaded[gold].get_facecolor()[:3] == to_rgba("tab:green")[:3]
        assert shaded[predicted].get_facecolor()[:3] == to_rgba("tab:orange")[:3]
    assert [t.get_text() for t in bottom.get_xticklabels()] == tokens
    assert top.get_ylabel() == "P(start = i)" and bottom.get_ylabel() == "P(end = i)"


def test_span_probabilities_explains_bad_input():
    with pytest.raises(ValueError, match="must both be"):
        span_probabilities(softmax_rows(4), softmax_rows(5), ["a"] * 4)
    with pytest.raises(ValueError, match="3 tokens for 4"):
        span_probabilities(softmax_rows(4), softmax_rows(4), ["a"] * 3)
    with pytest.raises(ValueError, match="gold span"):
        span_probabilities(softmax_rows(4), softmax_rows(4), ["a"] * 4, gold=(3, 1))
