"""The input and masking figures draw the package's own embeddings and mask_tokens' outcomes."""
import numpy as np
import pytest
import torch

from bertcourse.viz.inputs import OUTCOME_COLOURS, input_embeddings, masked_predictions, masking_frequencies
from bertcourse.viz.style import SEGMENT_COLOURS
from viz_helpers import assert_readable, image_panels, tick_texts


@pytest.fixture(scope="module")
def tok():
    from bertcourse import BertTokenizer

    return BertTokenizer.from_pretrained()


def test_input_embeddings_draws_the_three_tables_and_their_sum(tok):
    from bertcourse import load_pretrained

    embeddings = load_pretrained().embeddings
    enc = tok.encode("my dog is cute", "he likes playing")
    ids, segments = torch.tensor(enc.input_ids), torch.tensor(enc.token_type_ids)
    T = len(ids)
    tables = [embeddings.word_embeddings.weight[ids], embeddings.token_type_embeddings.weight[segments],
              embeddings.position_embeddings.weight[:T]]
    tables.append(tables[0] + tables[1] + tables[2])
    fig = input_embeddings(embeddings, enc, dims=12)
    assert_readable(fig)
    panels = image_panels(fig)
    assert len(panels) == 4
    for ax, table in zip(panels, tables):
        np.testing.assert_allclose(ax.images[0].get_array(), table[:, :12].T.detach().numpy(), rtol=1e-6, atol=1e-7)
        low, high = ax.images[0].get_clim()
        assert low == -high                                                  # 0 is the middle colour
    segment_row = panels[1].images[0].get_array()
    assert (segment_row[:, enc.token_type_ids.index(1):] == segment_row[:, -1:]).all()  # every B token: E_B
    assert tick_texts(panels[0].get_xticklabels()) == enc.tokens == tick_texts(panels[3].get_xticklabels())
    assert tick_texts(panels[1].get_xticklabels()) == ["A"] * 6 + ["B"] * 4
    assert tick_texts(panels[2].get_xticklabels()) == [str(t) for t in range(T)]
    colours = [label.get_color() for label in panels[0].get_xticklabels()]
    assert colours == [SEGMENT_COLOURS[s] for s in enc.token_type_ids]
    assert sum(ax.get_ylabel() == "数值" for ax in fig.axes) == 4          # a labelled colour bar each
    with pytest.raises(ValueError, match="dims must be in 1..384"):
        input_embeddings(embeddings, enc, dims=500)


def test_masking_frequencies_bars_are_the_measured_rates():
    measured = {"chosen": 0.151, "mask": 0.79, "random": 0.11, "kept": 0.10}
    expected = {"chosen": 0.15, "mask": 0.8, "random": 0.1, "kept": 0.1}
    ax = masking_frequencies(measured, expected, 200_000).axes[0]
    assert_readable(ax.figure)
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [15.1, 79, 11, 10])
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], [15, 80, 10, 10])
    assert ax.get_ylabel() == "比例 (%)" and "200,000" in ax.get_title()


def test_masked_predictions_colours_each_position_and_shows_the_top_k(tok):
    ids = torch.tensor(tok.encode("the cat sat on the mat").input_ids)      # [CLS] the cat sat on the mat [SEP]
    cat, on = tok.convert_tokens_to_ids(["cat", "on"])
    masked = ids.clone()
    masked[2], masked[4] = tok.mask_token_id, 7592                          # cat -> [MASK], on -> random
    labels = torch.full_like(ids, -100)
    labels[2], labels[4], labels[6] = cat, on, ids[6]                        # mat: chosen and kept
    logits = torch.randn(len(ids), len(tok))
    logits[2, cat] = 30.0                                                    # sure of the right answer at 2
    fig = masked_predictions(tok, ids, masked, labels, logits, k=4)
    assert_readable(fig)
    boxes = {text.get_gid(): text for ax in fig.axes for text in ax.texts if text.get_gid()}
    assert [boxes[f"token-{t}"].get_text() for t in range(len(ids))] == tok.convert_ids_to_tokens(masked)
    colour = {t: boxes[f"token-{t}"].get_bbox_patch().get_facecolor() for t in range(len(ids))}
    from matplotlib.colors import to_rgba as rgba

    assert colour[2] == rgba(OUTCOME_COLOURS["mask"]) and colour[4] == rgba(OUTCOME_COLOURS["random"])
    assert colour[6] == rgba(OUTCOME_COLOURS["kept"]) and colour[1] == rgba(OUTCOME_COLOURS["unchosen"])
    bars = [ax for ax in fig.axes if ax.patches]
    assert len(bars) == 3                                                    # one panel per chosen position
    top = logits[2].softmax(-1).topk(4)
    np.testing.assert_allclose([b.get_width() for b in bars[0].patches], top.values.numpy(), rtol=1e-5)
    assert tick_texts(bars[0].get_yticklabels()) == tok.convert_ids_to_tokens(top.indices)
    assert bars[0].patches[0].get_facecolor() == rgba(OUTCOME_COLOURS["kept"])  # the target, ranked first
    assert "排第 1" in bars[0].get_title() and "目标 cat" in bars[0].get_title()
    without = masked_predictions(tok, ids, masked, labels)
    assert not [ax for ax in without.axes if ax.patches]
    padded = [torch.cat([x, torch.full((3,), fill)]) for x, fill in ((ids, 0), (masked, 0), (labels, -100))]
    trimmed = masked_predictions(tok, *padded)                          # a padded batch row: [PAD]s left out
    assert len([text for ax in trimmed.axes for text in ax.texts if text.get_gid()]) == len(ids)
    with pytest.raises(ValueError, match=r"\(T, V\)"):
        masked_predictions(tok, ids, masked, labels, logits[:3])
    with pytest.raises(ValueError, match="1-D"):
        masked_predictions(tok, ids[None], masked[None], labels[None])
