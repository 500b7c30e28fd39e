"""The sentence-level result figures: counts, bars and points are the numbers passed in."""
import numpy as np
import pytest
import torch

from bertcourse.viz.sentences import (confusion_matrix, mode_comparison, score_histograms, score_scatter,
                                      similarity_heatmap)
from viz_helpers import assert_readable, tick_texts


def test_confusion_matrix_shows_the_counts_with_class_names():
    counts = torch.tensor([[30, 4, 6], [5, 20, 9], [2, 3, 21]])
    labels = ["entailment", "neutral", "contradiction"]
    fig = confusion_matrix(counts, labels, title="entailment, test split")
    assert_readable(fig)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), counts.numpy())
    written = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert written == {(i, j): str(int(counts[i, j])) for i in range(3) for j in range(3)}
    assert tick_texts(ax.get_xticklabels()) == labels and tick_texts(ax.get_yticklabels()) == labels
    assert ax.get_xlabel() == "预测的类别 (predicted)" and ax.get_ylabel() == "真实类别 (gold)"
    assert fig.axes[1].get_ylabel() == "样本数"
    assert ax.get_title() == "entailment, test split\n准确率 (accuracy) 71%（100 个里对了 71 个）"
    with pytest.raises(ValueError, match="2 class names for a 3 x 3 matrix"):
        confusion_matrix(counts, labels[:2])


def test_mode_comparison_bars_are_the_measured_numbers():
    modes, accuracy, seconds, trainable = ["full fine-tuning", "feature extraction"], [0.84, 0.61], [31.5, 9.2], \
        [22_713_986, 770]
    fig = mode_comparison(modes, accuracy, seconds, trainable, chance=0.5)
    assert_readable(fig)
    acc_ax, time_ax, weight_ax = fig.axes
    heights = [[bar.get_height() for bar in ax.patches] for ax in fig.axes]
    assert heights == [pytest.approx([84, 61]), [31.5, 9.2], [22_713_986, 770]]
    assert all([t.replace("\n", " ") for t in tick_texts(ax.get_xticklabels())] == modes for ax in fig.axes)
    assert acc_ax.get_ylabel() == "测试集准确率 (%)" and time_ax.get_ylabel() == "训练时间 (s)"
    assert weight_ax.get_yscale() == "log"
    assert [t.get_text() for t in weight_ax.texts] == ["22,713,986", "770"]
    assert acc_ax.lines[0].get_ydata()[0] == pytest.approx(50)                # the chance line
    with pytest.raises(ValueError, match="2 modes, 1 accuracies"):
        mode_comparison(modes, accuracy[:1], seconds, trainable)
    with pytest.raises(ValueError, match="fractions in 0..1"):
        mode_comparison(modes, [84, 61], seconds, trainable)


def test_similarity_heatmap_shows_the_matrix_with_sentences_on_both_axes():
    sentences = ["A cat sits on the mat.", "A kitten is resting on a rug in the sun all afternoon long.", "Stocks fell."]
    e = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    sim = e @ e.T
    fig = similarity_heatmap(sim, sentences, max_chars=30)
    assert_readable(fig)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), sim.numpy(), atol=1e-6)
    labels = [sentences[0], "A kitten is resting on a rug…", sentences[2]]
    assert tick_texts(ax.get_xticklabels()) == labels and tick_texts(ax.get_yticklabels()) == labels
    assert {t.get_text() for t in ax.texts} >= {f"{sim[0, 1]:.2f}", "1.00"}
    assert len(ax.texts) == 9 and fig.axes[1].get_ylabel() == "余弦相似度 (cosine similarity)"
    with pytest.raises(ValueError, match=r"\(N, N\) for the N = 2 sentences"):
        similarity_heatmap(sim, sentences[:2])


def test_score_scatter_plots_each_method_against_gold_with_its_correlations():
    from bertcourse.tasks.classification import pearson, spearman

    gold = torch.tensor([0.0, 1.0, 2.5, 4.0, 5.0])
    cosine = torch.tensor([0.1, 0.3, 0.2, 0.8, 0.9])
    fig = score_scatter(gold, {"cosine": cosine, "perfect": gold * 2}, ylabels={"cosine": "cosine similarity"})
    assert_readable(fig)
    left, right = fig.axes
    np.testing.assert_allclose(left.collections[0].get_offsets(), torch.stack([gold, cosine], 1).numpy())
    assert left.get_title() == (f"cosine\n皮尔逊 r = {pearson(cosine, gold):.3f}，"
                                f"斯皮尔曼 ρ = {spearman(cosine, gold):.3f}")
    assert right.get_title().endswith("r = 1.000，斯皮尔曼 ρ = 1.000")
    assert left.get_ylabel() == "cosine similarity" and right.get_ylabel() == "预测的分数"
    assert left.get_xlabel() == "人工标注的相似度 (gold，0-5)"
    with pytest.raises(ValueError, match="'cosine': 4 predictions for 5 gold scores"):
        score_scatter(gold, {"cosine": cosine[:4]})


def test_score_histograms_one_histogram_per_class_and_the_threshold_line():
    scores = {"IsNext": torch.tensor([0.5, 0.6, 0.7, 0.9]), "NotNext": torch.tensor([0.0, 0.1, 0.2])}
    fig = score_histograms(scores, threshold=0.35, xlabel="cosine(A, B)", title="t")
    assert_readable(fig)
    ax = fig.axes[0]
    heights = {}
    for p in ax.patches:
        heights.setdefault(p.get_facecolor()[:3], []).append(p.get_height())
    assert sorted(sum(h) for h in heights.values()) == [3, 4]          # every score counted once, per class
    assert [line.get_xdata()[0] for line in ax.lines] == [0.35]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(labels) == {"阈值 0.35", "IsNext (4)", "NotNext (3)"}
    assert ax.get_xlabel() == "cosine(A, B)" and ax.get_ylabel() == "样本数"
    with pytest.raises(ValueError, match="at least one score"):
        score_histograms({"IsNext": torch.tensor([])})
