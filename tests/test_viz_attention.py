"""The attention figures show what they claim: tick labels are the tokens, pixels are the weights."""
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from bertcourse.viz.attention import (attention_across_layers, attention_heads, attention_heatmap, attention_masks,
                                      attention_overview, attention_stack, attention_to_tokens, encoder_decoder_masks)
from viz_helpers import assert_readable, image_panels, softmax_rows, tick_texts


@pytest.fixture(scope="module")
def minilm_attention():
    """Real attention of the packaged MiniLM on one sentence: (L, nh, T, T) and the tokens."""
    from bertcourse import BertTokenizer, load_pretrained

    tokenizer, model = BertTokenizer.from_pretrained(), load_pretrained()
    enc = tokenizer.encode("The cat sat on the mat because it was warm.")
    with torch.no_grad():
        out = model(torch.tensor([enc.input_ids]), output_attentions=True)
    return out.attentions, enc.tokens


def test_attention_stack_picks_one_example_of_the_batch():
    layers = [torch.rand(3, 2, 5, 5) for _ in range(4)]                      # 4 layers of (B, nh, T, T)
    stacked = attention_stack(layers, example=1)
    assert stacked.shape == (4, 2, 5, 5)
    assert all(torch.equal(stacked[layer], layers[layer][1]) for layer in range(4))
    assert torch.equal(attention_stack(stacked), stacked)                # (L, nh, T, T) passes through
    with pytest.raises(ValueError, match="output_attentions=True"):
        attention_stack([torch.rand(2, 5, 5)])
    with pytest.raises(IndexError, match="outside the batch"):
        attention_stack(layers, example=3)


def test_heatmap_shows_the_matrix_with_tokens_on_both_axes(minilm_attention):
    attentions, tokens = minilm_attention
    weights = attentions[2][0, 5]                                           # layer 2, head 5: (T, T)
    fig = attention_heatmap(weights, tokens, title="layer 2, head 5")
    assert_readable(fig)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), weights.numpy())
    np.testing.assert_allclose(ax.images[0].get_array().sum(1), 1.0, atol=1e-5)  # each query row sums to 1
    assert tick_texts(ax.get_xticklabels()) == tokens and tick_texts(ax.get_yticklabels()) == tokens
    assert ax.get_ylabel().startswith("查询 (query)") and ax.get_xlabel().startswith("键 (key)")
    assert ax.images[0].get_clim() == (0.0, 1.0)                            # one scale for every head
    assert fig.axes[1].get_ylabel() == "注意力权重 (attention weight)"        # the colour bar
    assert ax.get_title() == "layer 2, head 5"


def test_heatmap_of_a_rectangular_slice_uses_the_key_tokens():
    weights = softmax_rows(3, 4)
    fig = attention_heatmap(weights, ["a", "b", "c"], key_tokens=["w", "x", "y", "z"])
    assert_readable(fig)
    ax = fig.axes[0]
    assert tick_texts(ax.get_yticklabels()) == ["a", "b", "c"]
    assert tick_texts(ax.get_xticklabels()) == ["w", "x", "y", "z"]


def test_heatmap_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="one head"):
        attention_heatmap(softmax_rows(2, 4, 4), list("abcd"))
    with pytest.raises(ValueError, match="3 tokens for 4 query positions"):
        attention_heatmap(softmax_rows(4, 4), list("abc"))


def test_heads_grid_draws_every_head_of_the_layer(minilm_attention):
    attentions, tokens = minilm_attention
    layer = attentions[4][0]                                                # (nh, T, T)
    fig = attention_heads(layer, tokens, layer=4)
    assert_readable(fig)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == layer.size(0) == 12
    for h, ax in enumerate(panels):
        np.testing.assert_array_equal(ax.images[0].get_array(), layer[h].numpy())
        assert ax.get_title() == f"头 {h} (head)"
    # token names on the left column and under the bottom-left panel
    assert tick_texts(panels[0].get_yticklabels()) == tokens and tick_texts(panels[4].get_yticklabels()) == tokens
    assert set(tick_texts(panels[1].get_yticklabels())) == {""}
    assert tick_texts(panels[8].get_xticklabels()) == tokens and set(tick_texts(panels[0].get_xticklabels())) == {""}
    assert "第 4 层" in fig._suptitle.get_text()
    assert any(ax.get_ylabel() == "注意力权重 (attention weight)" for ax in fig.axes)


def test_heads_grid_hides_the_unused_panels():
    fig = attention_heads(softmax_rows(6, 5, 5), list("abcde"), ncols=4)  # 2 rows x 4, 6 heads
    assert_readable(fig)
    grid = [ax for ax in fig.axes if ax.get_ylabel() != "注意力权重 (attention weight)"]
    assert len(grid) == 8 and sum(ax.axison for ax in grid) == 6
    assert tick_texts(grid[4].get_xticklabels()) == list("abcde")          # the bottom-left panel
    assert tick_texts(grid[4].get_yticklabels()) == list("abcde") == tick_texts(grid[0].get_yticklabels())
    assert set(tick_texts(grid[2].get_xticklabels())) == {""}


def test_attention_across_layers_follows_one_query(minilm_attention):
    attentions, tokens = minilm_attention
    query = tokens.index("it")
    fig = attention_across_layers(attentions, tokens, "it")
    assert_readable(fig)
    ax = fig.axes[0]
    expected = np.stack([a[0, :, query].mean(0).numpy() for a in attentions])  # (L, T), mean over heads
    np.testing.assert_allclose(ax.images[0].get_array(), expected, rtol=1e-6)
    assert tick_texts(ax.get_xticklabels()) == tokens
    assert tick_texts(ax.get_yticklabels()) == [str(layer) for layer in range(len(attentions))]
    assert "'it'" in ax.get_title() and "各头平均" in ax.get_title()
    one_head = attention_across_layers(attentions, tokens, query, head=3).axes[0]
    np.testing.assert_allclose(one_head.images[0].get_array(),
                               np.stack([a[0, 3, query].numpy() for a in attentions]))
    with pytest.raises(ValueError, match="not among the tokens"):
        attention_across_layers(attentions, tokens, "dog")
    with pytest.raises(IndexError, match="head 12"):
        attention_across_layers(attentions, tokens, query, head=12)


def test_attention_to_tokens_plots_the_share_each_target_receives():
    tokens = ["[CLS]", "a", ".", "b", ".", "[SEP]"]
    weights = softmax_rows(3, 2, 6, 6)                                      # (L, nh, T, T)
    fig = attention_to_tokens(weights, tokens, targets=("[SEP]", "."))
    assert_readable(fig)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    for target in ("[SEP]", "."):
        expected = [100 * sum(weights[layer, h, q, k].item() for h in range(2) for q in range(6)
                              for k in range(6) if tokens[k] == target) / 12 for layer in range(3)]
        np.testing.assert_allclose(lines[target].get_ydata(), expected, rtol=1e-5)
    np.testing.assert_allclose(lines["均匀分布时一个词元的份额 (1/T)"].get_ydata(), 100 / 6)
    with pytest.raises(ValueError, match="do not occur"):
        attention_to_tokens(weights, tokens, targets=("[MASK]",))


def test_overview_has_one_thumbnail_per_layer_and_head(minilm_attention):
    attentions, tokens = minilm_attention
    fig = attention_overview(attentions, tokens)
    assert_readable(fig)
    thumbnails = [ax for ax in fig.axes if ax.images]
    assert len(thumbnails) == 6 * 12
    for layer, head in ((0, 0), (2, 7), (5, 11)):
        ax = thumbnails[12 * layer + head]
        np.testing.assert_array_equal(ax.images[0].get_array(), attentions[layer][0, head].numpy())
    assert thumbnails[12 * 3].get_ylabel() == "第 3 层" and thumbnails[5].get_title() == "头 5"
    assert " ".join(tokens) in fig.get_supxlabel().replace("\n", " ")


@pytest.fixture(scope="module")
def tok():
    from bertcourse import BertTokenizer

    return BertTokenizer.from_pretrained()


def test_attention_masks_side_by_side(tok):
    tokens = tok.encode("the cat sat").tokens
    fig = attention_masks(tokens)
    assert_readable(fig)
    left, right = image_panels(fig)
    np.testing.assert_array_equal(left.images[0].get_array(), np.ones((5, 5)))
    np.testing.assert_array_equal(right.images[0].get_array(), np.tril(np.ones((5, 5))))
    for ax in (left, right):
        assert tick_texts(ax.get_xticklabels()) == tokens == tick_texts(ax.get_yticklabels())
    assert "允许 25 / 25" in left.get_title() and "允许 15 / 25" in right.get_title()


def test_encoder_decoder_masks_full_causal_and_cross():
    source, target = ["[CLS]", "the", "film", "[SEP]"], ["<bos>", "le", "film"]
    panels = image_panels(encoder_decoder_masks(source, target))
    assert_readable(panels[0].figure)
    expected = [np.ones((4, 4)), np.tril(np.ones((3, 3))), np.ones((3, 4))]
    for ax, mask, (keys, queries) in zip(panels, expected, [(source, source), (target, target), (source, target)]):
        np.testing.assert_array_equal(ax.images[0].get_array(), mask)
        assert tick_texts(ax.get_xticklabels()) == keys and tick_texts(ax.get_yticklabels()) == queries
    assert [ax.get_title().split("\n")[-1] for ax in panels] == [
        "允许 16 / 16 条连接", "允许 6 / 9 条连接", "允许 12 / 12 条连接"]
