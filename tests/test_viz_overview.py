"""The course-map figures of 00_overview: each model, token and arrow where it belongs."""
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from bertcourse.viz.overview import ARCHITECTURE_COLOURS, model_timeline, task_heads, transfer_learning
from bertcourse.viz.style import SEGMENT_COLOURS
from viz_helpers import assert_readable


@pytest.fixture(scope="module")
def tok():
    from bertcourse import BertTokenizer

    return BertTokenizer.from_pretrained()


def test_model_timeline_puts_each_model_at_its_date_in_its_architecture_colour():
    models = [("BERT", "2018-10", "Google", "Transformer encoder"), ("ELMo", "2018-02", "AllenAI", "bi-LSTM"),
              ("Grover", "2019-05", "UW", "Transformer decoder")]
    ax = model_timeline(models).axes[0]
    assert_readable(ax.figure)
    points = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    dates = {"ELMo": 2018 + 1 / 12, "BERT": 2018 + 9 / 12, "Grover": 2019 + 4 / 12}
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["ELMo (AllenAI, 2018-02)", "BERT (Google, 2018-10)", "Grover (UW, 2019-05)"]  # oldest first
    for point, label in zip(points, labels):
        name = label.split()[0]
        assert point.get_xdata()[0] == pytest.approx(dates[name])
        architecture = next(m[3] for m in models if m[0] == name)
        assert to_rgba(point.get_color()) == to_rgba(ARCHITECTURE_COLOURS[architecture])
    with pytest.raises(ValueError, match="unknown architecture"):
        model_timeline([("X", "2020-01", "Y", "RNN")])
    with pytest.raises(ValueError, match="'YYYY-MM'"):
        model_timeline([("X", "Jan 2020", "Y", "bi-LSTM")])


def test_task_heads_draws_every_token_coloured_by_segment_and_the_read_ones_bold(tok):
    enc = tok.encode("a man plays", "music")
    rows = [("pair classification", enc.tokens, enc.token_type_ids, [0], "3 logits"),
            ("tagging", enc.tokens, enc.token_type_ids, [1, 2, 3, 5], "tags")]
    ax = task_heads(rows).axes[0]
    assert_readable(ax.figure)
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 2 * len(enc.tokens)
    words = [t.get_text() for t in ax.texts if t.get_text() in enc.tokens]
    assert words == enc.tokens * 2
    for (_, tokens, segments, reads, _), row_boxes in zip(rows, (boxes[:len(enc.tokens)], boxes[len(enc.tokens):])):
        assert [i for i, box in enumerate(row_boxes) if box.get_linewidth() > 1] == reads
        for box, segment in zip(row_boxes, segments):
            assert to_rgba(box.get_facecolor())[:3] == to_rgba(SEGMENT_COLOURS[segment])[:3]
    with pytest.raises(ValueError, match="as many token_type_ids"):
        task_heads([("bad", ["[CLS]", "a"], [0], [0], "x")])


def test_transfer_learning_links_pretraining_to_both_ways_of_reuse():
    ax = transfer_learning().axes[0]
    assert_readable(ax.figure)
    boxes = [t.get_text() for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxes) == 4 and any("掩码语言模型 + 下一句预测" in b for b in boxes)
    assert any(b.startswith("微调 (fine-tuning)") for b in boxes)
    assert any(b.startswith("特征提取 (feature extraction)") for b in boxes)
    box_of = {id(t.get_bbox_patch()): t.get_text().split()[0] for t in ax.texts if t.get_bbox_patch() is not None}
    arrows = [t.arrow_patch for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert sorted((box_of[id(a.patchA)], box_of[id(a.patchB)]) for a in arrows) == [
        ("无标注文本", "预训练"), ("预训练", "微调"), ("预训练", "特征提取")]
