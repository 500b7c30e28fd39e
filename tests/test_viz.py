"""The notebooks' figures show what they claim: tick labels are the tokens, pixels are the numbers."""
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bertcourse import viz


# ---- attention weights: 01_self_attention, 04_bert_architecture ----------------------------------------
@pytest.fixture(scope="module")
def minilm_attention():
    """Real attention of the packaged MiniLM on one sentence: (L, nh, T, T) and the tokens."""
    from bertcourse import BertTokenizer, load_pretrained

    tokenizer, model = BertTokenizer.from_pretrained(), load_pretrained()
    enc = tokenizer.encode("The cat sat on the mat because it was warm.")
    with torch.no_grad():
        out = model(torch.tensor([enc.input_ids]), output_attentions=True)
    return out.attentions, enc.tokens


def softmax_rows(*shape: int) -> torch.Tensor:
    return torch.randn(*shape).softmax(-1)


def tick_texts(labels) -> list[str]:
    return [label.get_text() for label in labels]


def test_attention_stack_picks_one_example_of_the_batch():
    layers = [torch.rand(3, 2, 5, 5) for _ in range(4)]                      # 4 layers of (B, nh, T, T)
    stacked = viz.attention_stack(layers, example=1)
    assert stacked.shape == (4, 2, 5, 5)
    assert all(torch.equal(stacked[layer], layers[layer][1]) for layer in range(4))
    assert torch.equal(viz.attention_stack(stacked), stacked)                # (L, nh, T, T) passes through
    with pytest.raises(ValueError, match="output_attentions=True"):
        viz.attention_stack([torch.rand(2, 5, 5)])
    with pytest.raises(IndexError, match="outside the batch"):
        viz.attention_stack(layers, example=3)


def test_heatmap_shows_the_matrix_with_tokens_on_both_axes(minilm_attention):
    attentions, tokens = minilm_attention
    weights = attentions[2][0, 5]                                           # layer 2, head 5: (T, T)
    fig = viz.attention_heatmap(weights, tokens, title="layer 2, head 5")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), weights.numpy())
    np.testing.assert_allclose(ax.images[0].get_array().sum(1), 1.0, atol=1e-5)  # each query row sums to 1
    assert tick_texts(ax.get_xticklabels()) == tokens and tick_texts(ax.get_yticklabels()) == tokens
    assert ax.get_ylabel().startswith("query") and ax.get_xlabel().startswith("key")
    assert ax.images[0].get_clim() == (0.0, 1.0)                            # one scale for every head
    assert fig.axes[1].get_ylabel() == "attention weight"                    # the colour bar
    assert ax.get_title() == "layer 2, head 5"


def test_heatmap_of_a_rectangular_slice_uses_the_key_tokens():
    weights = softmax_rows(3, 4)
    fig = viz.attention_heatmap(weights, ["a", "b", "c"], key_tokens=["w", "x", "y", "z"])
    ax = fig.axes[0]
    assert tick_texts(ax.get_yticklabels()) == ["a", "b", "c"]
    assert tick_texts(ax.get_xticklabels()) == ["w", "x", "y", "z"]


def test_heatmap_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="one head"):
        viz.attention_heatmap(softmax_rows(2, 4, 4), list("abcd"))
    with pytest.raises(ValueError, match="3 tokens for 4 query positions"):
        viz.attention_heatmap(softmax_rows(4, 4), list("abc"))


def test_heads_grid_draws_every_head_of_the_layer(minilm_attention):
    attentions, tokens = minilm_attention
    layer = attentions[4][0]                                                # (nh, T, T)
    fig = viz.attention_heads(layer, tokens, layer=4)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == layer.size(0) == 12
    for h, ax in enumerate(panels):
        np.testing.assert_array_equal(ax.images[0].get_array(), layer[h].numpy())
        assert ax.get_title() == f"head {h}"
    # token names on the left column and under the bottom-left panel
    assert tick_texts(panels[0].get_yticklabels()) == tokens and tick_texts(panels[4].get_yticklabels()) == tokens
    assert set(tick_texts(panels[1].get_yticklabels())) == {""}
    assert tick_texts(panels[8].get_xticklabels()) == tokens and set(tick_texts(panels[0].get_xticklabels())) == {""}
    assert "layer 4" in fig._suptitle.get_text()
    assert any(ax.get_ylabel() == "attention weight" for ax in fig.axes)


def test_heads_grid_hides_the_unused_panels():
    fig = viz.attention_heads(softmax_rows(6, 5, 5), list("abcde"), ncols=4)  # 2 rows x 4, 6 heads
    grid = [ax for ax in fig.axes if ax.get_ylabel() != "attention weight"]
    assert len(grid) == 8 and sum(ax.axison for ax in grid) == 6
    assert tick_texts(grid[4].get_xticklabels()) == list("abcde")          # the bottom-left panel
    assert tick_texts(grid[4].get_yticklabels()) == list("abcde") == tick_texts(grid[0].get_yticklabels())
    assert set(tick_texts(grid[2].get_xticklabels())) == {""}


def test_attention_across_layers_follows_one_query(minilm_attention):
    attentions, tokens = minilm_attention
    query = tokens.index("it")
    fig = viz.attention_across_layers(attentions, tokens, "it")
    ax = fig.axes[0]
    expected = np.stack([a[0, :, query].mean(0).numpy() for a in attentions])  # (L, T), mean over heads
    np.testing.assert_allclose(ax.images[0].get_array(), expected, rtol=1e-6)
    assert tick_texts(ax.get_xticklabels()) == tokens
    assert tick_texts(ax.get_yticklabels()) == [str(layer) for layer in range(len(attentions))]
    assert "'it'" in ax.get_title() and "mean over heads" in ax.get_title()
    one_head = viz.attention_across_layers(attentions, tokens, query, head=3).axes[0]
    np.testing.assert_allclose(one_head.images[0].get_array(),
                               np.stack([a[0, 3, query].numpy() for a in attentions]))
    with pytest.raises(ValueError, match="not among the tokens"):
        viz.attention_across_layers(attentions, tokens, "dog")
    with pytest.raises(IndexError, match="head 12"):
        viz.attention_across_layers(attentions, tokens, query, head=12)


def test_attention_to_tokens_plots_the_share_each_target_receives():
    tokens = ["[CLS]", "a", ".", "b", ".", "[SEP]"]
    weights = softmax_rows(3, 2, 6, 6)                                      # (L, nh, T, T)
    fig = viz.attention_to_tokens(weights, tokens, targets=("[SEP]", "."))
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    for target in ("[SEP]", "."):
        expected = [100 * sum(weights[layer, h, q, k].item() for h in range(2) for q in range(6)
                              for k in range(6) if tokens[k] == target) / 12 for layer in range(3)]
        np.testing.assert_allclose(lines[target].get_ydata(), expected, rtol=1e-5)
    np.testing.assert_allclose(lines["uniform, one token (1/T)"].get_ydata(), 100 / 6)
    with pytest.raises(ValueError, match="do not occur"):
        viz.attention_to_tokens(weights, tokens, targets=("[MASK]",))


# ---- inputs and masking: 03_bert_inputs, 05_masked_lm ----------------------------------------------------
@pytest.fixture(scope="module")
def tok():
    from bertcourse import BertTokenizer

    return BertTokenizer.from_pretrained()


def image_panels(fig) -> list:
    return [ax for ax in fig.axes if ax.images]


def test_input_embeddings_draws_the_three_tables_and_their_sum(tok):
    from bertcourse import load_pretrained

    embeddings = load_pretrained().embeddings
    enc = tok.encode("my dog is cute", "he likes playing")
    ids, segments = torch.tensor(enc.input_ids), torch.tensor(enc.token_type_ids)
    T = len(ids)
    tables = [embeddings.word_embeddings.weight[ids], embeddings.token_type_embeddings.weight[segments],
              embeddings.position_embeddings.weight[:T]]
    tables.append(tables[0] + tables[1] + tables[2])
    fig = viz.input_embeddings(embeddings, enc, dims=12)
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
    assert colours == [viz.SEGMENT_COLOURS[s] for s in enc.token_type_ids]
    assert sum(ax.get_ylabel() == "value" for ax in fig.axes) == 4          # a labelled colour bar each
    with pytest.raises(ValueError, match="dims must be in 1..384"):
        viz.input_embeddings(embeddings, enc, dims=500)


def test_masking_outcomes_and_rates_read_back_what_happened(tok):
    ids = torch.tensor([[101, 2023, 2003, 1037, 3899, 102, 0]])              # [CLS] this is a dog [SEP] [PAD]
    masked = torch.tensor([[101, 103, 2003, 7592, 3899, 102, 0]])            # this -> [MASK], a -> random
    labels = torch.tensor([[-100, 2023, 2003, 1037, -100, -100, -100]])      # 'is' chosen and kept
    out = viz.masking_outcomes(ids, masked, labels, tok.mask_token_id)
    assert out["chosen"].tolist() == [[False, True, True, True, False, False, False]]
    assert out["mask"].nonzero().tolist() == [[0, 1]]
    assert out["kept"].nonzero().tolist() == [[0, 2]]
    assert out["random"].nonzero().tolist() == [[0, 3]]
    assert viz.masking_rates(ids, masked, labels, tok) == {"chosen": 3 / 4, "mask": 1 / 3, "random": 1 / 3,
                                                           "kept": 1 / 3}
    with pytest.raises(ValueError, match="no position was chosen"):
        viz.masking_rates(ids, ids, torch.full_like(ids, -100), tok)


@pytest.mark.parametrize("whole_word", [False, True])
def test_expected_rates_are_what_mask_tokens_delivers_on_short_rows(tok, whole_word):
    """On 5-token rows the at-least-one rule lifts the chosen share well above p: the formula says how much."""
    from bertcourse.pretraining import mask_tokens

    enc = tok.encode("unbelievably tokenization works")
    assert len(enc.tokens) == 2 + 8                                          # 3 words in 8 pieces
    ids = torch.tensor([enc.input_ids]).expand(40_000, -1)
    p = 0.1
    expected = viz.expected_masking_rates(ids[:1], tok, p, 0.6, 0.3, whole_word)
    masked, labels = mask_tokens(ids, tok, p, 0.6, 0.3, whole_word, generator=torch.Generator().manual_seed(0))
    measured = viz.masking_rates(ids, masked, labels, tok)
    U = 3 if whole_word else 8                                               # units drawn: words or pieces
    assert expected["chosen"] == pytest.approx(p + (1 - p) ** U / U)
    assert expected["chosen"] > p + 0.05
    for key in ("chosen", "mask", "random", "kept"):
        assert measured[key] == pytest.approx(expected[key], abs=0.01), key


def test_masking_frequencies_bars_are_the_measured_rates():
    measured = {"chosen": 0.151, "mask": 0.79, "random": 0.11, "kept": 0.10}
    expected = {"chosen": 0.15, "mask": 0.8, "random": 0.1, "kept": 0.1}
    ax = viz.masking_frequencies(measured, expected, 200_000).axes[0]
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [15.1, 79, 11, 10])
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], [15, 80, 10, 10])
    assert ax.get_ylabel() == "share (%)" and "200,000" in ax.get_title()


def test_masked_predictions_colours_each_position_and_shows_the_top_k(tok):
    ids = torch.tensor(tok.encode("the cat sat on the mat").input_ids)      # [CLS] the cat sat on the mat [SEP]
    cat, on = tok.convert_tokens_to_ids(["cat", "on"])
    masked = ids.clone()
    masked[2], masked[4] = tok.mask_token_id, 7592                          # cat -> [MASK], on -> random
    labels = torch.full_like(ids, -100)
    labels[2], labels[4], labels[6] = cat, on, ids[6]                        # mat: chosen and kept
    logits = torch.randn(len(ids), len(tok))
    logits[2, cat] = 30.0                                                    # sure of the right answer at 2
    fig = viz.masked_predictions(tok, ids, masked, labels, logits, k=4)
    boxes = {text.get_gid(): text for ax in fig.axes for text in ax.texts if text.get_gid()}
    assert [boxes[f"token-{t}"].get_text() for t in range(len(ids))] == tok.convert_ids_to_tokens(masked)
    colour = {t: boxes[f"token-{t}"].get_bbox_patch().get_facecolor() for t in range(len(ids))}
    from matplotlib.colors import to_rgba as rgba

    assert colour[2] == rgba(viz.OUTCOME_COLOURS["mask"]) and colour[4] == rgba(viz.OUTCOME_COLOURS["random"])
    assert colour[6] == rgba(viz.OUTCOME_COLOURS["kept"]) and colour[1] == rgba(viz.OUTCOME_COLOURS["unchosen"])
    bars = [ax for ax in fig.axes if ax.patches]
    assert len(bars) == 3                                                    # one panel per chosen position
    top = logits[2].softmax(-1).topk(4)
    np.testing.assert_allclose([b.get_width() for b in bars[0].patches], top.values.numpy(), rtol=1e-5)
    assert tick_texts(bars[0].get_yticklabels()) == tok.convert_ids_to_tokens(top.indices)
    assert bars[0].patches[0].get_facecolor() == rgba(viz.OUTCOME_COLOURS["kept"])  # the target, ranked first
    assert "rank 1" in bars[0].get_title() and "target cat" in bars[0].get_title()
    without = viz.masked_predictions(tok, ids, masked, labels)
    assert not [ax for ax in without.axes if ax.patches]
    padded = [torch.cat([x, torch.full((3,), fill)]) for x, fill in ((ids, 0), (masked, 0), (labels, -100))]
    trimmed = viz.masked_predictions(tok, *padded)                          # a padded batch row: [PAD]s left out
    assert len([text for ax in trimmed.axes for text in ax.texts if text.get_gid()]) == len(ids)
    with pytest.raises(ValueError, match=r"\(T, V\)"):
        viz.masked_predictions(tok, ids, masked, labels, logits[:3])
    with pytest.raises(ValueError, match="1-D"):
        viz.masked_predictions(tok, ids[None], masked[None], labels[None])


def test_attention_masks_side_by_side(tok):
    tokens = tok.encode("the cat sat").tokens
    fig = viz.attention_masks(tokens)
    left, right = image_panels(fig)
    np.testing.assert_array_equal(left.images[0].get_array(), np.ones((5, 5)))
    np.testing.assert_array_equal(right.images[0].get_array(), np.tril(np.ones((5, 5))))
    for ax in (left, right):
        assert tick_texts(ax.get_xticklabels()) == tokens == tick_texts(ax.get_yticklabels())
    assert "25 of 25" in left.get_title() and "15 of 25" in right.get_title()


def test_left_to_right_mask_hides_the_future_from_the_encoder():
    """Applied in the package's encoder, the mask makes position i blind to every token after i."""
    from bertcourse import BertConfig, BertModel

    model = BertModel(BertConfig.tiny(vocab_size=100)).eval()
    a = torch.randint(5, 100, (1, 8))
    b = a.clone()
    b[0, 5] = (a[0, 5] + 1) % 95 + 5                                        # change token 5 only
    allowed = viz.left_to_right_mask(8)
    assert torch.equal(allowed, torch.tensor([[j <= i for j in range(8)] for i in range(8)]))
    additive = torch.zeros(8, 8).masked_fill(~allowed, torch.finfo(torch.float32).min)[None, None]
    with torch.no_grad():
        causal = [model.encoder(model.embeddings(x), additive)[0] for x in (a, b)]
        bidirectional = [model(x).last_hidden_state for x in (a, b)]
    assert torch.equal(causal[0][:, :5], causal[1][:, :5])                  # before 5: untouched
    assert not torch.allclose(causal[0][:, 5:], causal[1][:, 5:])
    assert (bidirectional[0][:, :5] - bidirectional[1][:, :5]).abs().max() > 1e-3  # BERT: everyone sees it


# ---- the overview and the encoder: 00_overview, 02_transformer_encoder -------------------------------------
def test_model_timeline_puts_each_model_at_its_date_in_its_architecture_colour():
    models = [("BERT", "2018-10", "Google", "Transformer encoder"), ("ELMo", "2018-02", "AllenAI", "bi-LSTM"),
              ("Grover", "2019-05", "UW", "Transformer decoder")]
    ax = viz.model_timeline(models).axes[0]
    points = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    dates = {"ELMo": 2018 + 1 / 12, "BERT": 2018 + 9 / 12, "Grover": 2019 + 4 / 12}
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["ELMo (AllenAI, 2018-02)", "BERT (Google, 2018-10)", "Grover (UW, 2019-05)"]  # oldest first
    for point, label in zip(points, labels):
        name = label.split()[0]
        assert point.get_xdata()[0] == pytest.approx(dates[name])
        architecture = next(m[3] for m in models if m[0] == name)
        assert to_rgba(point.get_color()) == to_rgba(viz.ARCHITECTURE_COLOURS[architecture])
    with pytest.raises(ValueError, match="unknown architecture"):
        viz.model_timeline([("X", "2020-01", "Y", "RNN")])
    with pytest.raises(ValueError, match="'YYYY-MM'"):
        viz.model_timeline([("X", "Jan 2020", "Y", "bi-LSTM")])


def test_task_heads_draws_every_token_coloured_by_segment_and_the_read_ones_bold(tok):
    enc = tok.encode("a man plays", "music")
    rows = [("pair classification", enc.tokens, enc.token_type_ids, [0], "3 logits"),
            ("tagging", enc.tokens, enc.token_type_ids, [1, 2, 3, 5], "tags")]
    ax = viz.task_heads(rows).axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 2 * len(enc.tokens)
    words = [t.get_text() for t in ax.texts if t.get_text() in enc.tokens]
    assert words == enc.tokens * 2
    for (_, tokens, segments, reads, _), row_boxes in zip(rows, (boxes[:len(enc.tokens)], boxes[len(enc.tokens):])):
        assert [i for i, box in enumerate(row_boxes) if box.get_linewidth() > 1] == reads
        for box, segment in zip(row_boxes, segments):
            assert to_rgba(box.get_facecolor())[:3] == to_rgba(viz.SEGMENT_COLOURS[segment])[:3]
    with pytest.raises(ValueError, match="as many token_type_ids"):
        viz.task_heads([("bad", ["[CLS]", "a"], [0], [0], "x")])


def test_transfer_learning_links_pretraining_to_both_ways_of_reuse():
    ax = viz.transfer_learning().axes[0]
    boxes = [t.get_text() for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxes) == 4 and any("masked LM + next sentence" in b for b in boxes)
    assert any(b.startswith("fine-tuning") for b in boxes) and any(b.startswith("feature extraction") for b in boxes)
    box_of = {id(t.get_bbox_patch()): t.get_text().split()[0] for t in ax.texts if t.get_bbox_patch() is not None}
    arrows = [t.arrow_patch for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert sorted((box_of[id(a.patchA)], box_of[id(a.patchB)]) for a in arrows) == [
        ("pretraining", "feature"), ("pretraining", "fine-tuning:"), ("unlabelled", "pretraining")]


def test_encoder_decoder_masks_full_causal_and_cross():
    source, target = ["[CLS]", "the", "film", "[SEP]"], ["<bos>", "le", "film"]
    panels = image_panels(viz.encoder_decoder_masks(source, target))
    expected = [np.ones((4, 4)), np.tril(np.ones((3, 3))), np.ones((3, 4))]
    for ax, mask, (keys, queries) in zip(panels, expected, [(source, source), (target, target), (source, target)]):
        np.testing.assert_array_equal(ax.images[0].get_array(), mask)
        assert tick_texts(ax.get_xticklabels()) == keys and tick_texts(ax.get_yticklabels()) == queries
    assert [ax.get_title().split("\n")[-1] for ax in panels] == [
        "16 of 16 links allowed", "6 of 9 links allowed", "12 of 12 links allowed"]


# ---- sentence classification: 08_sentence_classification --------------------------------------------------
def test_confusion_counts_tally_gold_rows_against_predicted_columns():
    g = torch.Generator().manual_seed(0)
    gold, predicted = torch.randint(0, 3, (200,), generator=g), torch.randint(0, 3, (200,), generator=g)
    counts = viz.confusion_counts(gold, predicted, 3)
    expected = [[sum(1 for a, b in zip(gold.tolist(), predicted.tolist()) if (a, b) == (i, j)) for j in range(3)]
                for i in range(3)]
    assert counts.tolist() == expected and int(counts.sum()) == 200
    assert viz.confusion_counts([1, 1, 0], [1, 0, 0], 2).tolist() == [[1, 0], [1, 1]]  # a gold 1 read as 0
    assert viz.confusion_accuracy(counts) == pytest.approx(float((gold == predicted).float().mean()))


def test_confusion_counts_and_accuracy_explain_bad_input():
    with pytest.raises(ValueError, match="3 gold labels but 2 predictions"):
        viz.confusion_counts([0, 1, 1], [0, 1], 2)
    with pytest.raises(ValueError, match=r"0..1 \(num_labels=2\), found \[2\]"):
        viz.confusion_counts([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="square"):
        viz.confusion_accuracy(torch.ones(2, 3))
    with pytest.raises(ValueError, match="no examples"):
        viz.confusion_accuracy(torch.zeros(2, 2))


def test_confusion_matrix_shows_the_counts_with_class_names():
    counts = torch.tensor([[30, 4, 6], [5, 20, 9], [2, 3, 21]])
    labels = ["entailment", "neutral", "contradiction"]
    fig = viz.confusion_matrix(counts, labels, title="entailment, test split")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), counts.numpy())
    written = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert written == {(i, j): str(int(counts[i, j])) for i in range(3) for j in range(3)}
    assert tick_texts(ax.get_xticklabels()) == labels and tick_texts(ax.get_yticklabels()) == labels
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "gold (true) class"
    assert fig.axes[1].get_ylabel() == "examples"
    assert ax.get_title() == "entailment, test split\naccuracy 71% (71 of 100 right)"
    with pytest.raises(ValueError, match="2 class names for a 3 x 3 matrix"):
        viz.confusion_matrix(counts, labels[:2])


def test_mode_comparison_bars_are_the_measured_numbers():
    modes, accuracy, seconds, trainable = ["full fine-tuning", "feature extraction"], [0.84, 0.61], [31.5, 9.2], \
        [22_713_986, 770]
    fig = viz.mode_comparison(modes, accuracy, seconds, trainable, chance=0.5)
    acc_ax, time_ax, weight_ax = fig.axes
    heights = [[bar.get_height() for bar in ax.patches] for ax in fig.axes]
    assert heights == [pytest.approx([84, 61]), [31.5, 9.2], [22_713_986, 770]]
    assert all([t.replace("\n", " ") for t in tick_texts(ax.get_xticklabels())] == modes for ax in fig.axes)
    assert acc_ax.get_ylabel() == "test accuracy (%)" and time_ax.get_ylabel() == "training time (s)"
    assert weight_ax.get_yscale() == "log"
    assert [t.get_text() for t in weight_ax.texts] == ["22,713,986", "770"]
    assert acc_ax.lines[0].get_ydata()[0] == pytest.approx(50)                # the chance line
    with pytest.raises(ValueError, match="2 modes, 1 accuracies"):
        viz.mode_comparison(modes, accuracy[:1], seconds, trainable)
    with pytest.raises(ValueError, match="fractions in 0..1"):
        viz.mode_comparison(modes, [84, 61], seconds, trainable)


def test_overview_has_one_thumbnail_per_layer_and_head(minilm_attention):
    attentions, tokens = minilm_attention
    fig = viz.attention_overview(attentions, tokens)
    thumbnails = [ax for ax in fig.axes if ax.images]
    assert len(thumbnails) == 6 * 12
    for layer, head in ((0, 0), (2, 7), (5, 11)):
        ax = thumbnails[12 * layer + head]
        np.testing.assert_array_equal(ax.images[0].get_array(), attentions[layer][0, head].numpy())
    assert thumbnails[12 * 3].get_ylabel() == "layer 3" and thumbnails[5].get_title() == "head 5"
    assert " ".join(tokens) in fig.get_supxlabel().replace("\n", " ")


# ---- 09: named entities: 09_ner ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ner_sentence(tok):
    """A shipped sentence with three entity types and three words cut into several WordPieces, aligned
    by the package: (words, tags, tokens, word_ids, labels)."""
    from bertcourse.tasks.ner import TAG_IDS, align_labels, encode_words, load

    example = next(ex for ex in load("train") if ex["tokens"][:4] == ["Spanish", "tennis", "star", "Carlos"])
    ids, word_ids = encode_words(tok, example["tokens"], 128)
    labels = align_labels(word_ids, [TAG_IDS[t] for t in example["tags"]])
    return example["tokens"], example["tags"], tok.convert_ids_to_tokens(ids), word_ids, labels


def texts_by_gid(ax, prefix: str) -> list:
    return sorted((t for t in ax.texts if (t.get_gid() or "").startswith(prefix)), key=lambda t: int(t.get_gid()
                  .rsplit("-", 1)[1]))


def test_label_alignment_shows_the_packages_labels_under_the_tokens(ner_sentence):
    from bertcourse.tasks.ner import TAGS

    words, tags, tokens, word_ids, labels = ner_sentence
    assert sum(word_ids.count(w) > 1 for w in range(len(words))) >= 3           # really several sub-tokens
    ax = viz.label_alignment(words, tags, tokens, word_ids, labels).axes[0]
    assert [t.get_text() for t in texts_by_gid(ax, "token-")] == tokens
    assert [t.get_text() for t in texts_by_gid(ax, "word-")] == words
    shown = [t.get_text() for t in texts_by_gid(ax, "label-")]
    assert shown == ["-100" if label == -100 else TAGS[label] for label in labels]
    assert shown[0] == shown[-1] == "-100" and shown.count("-100") == len(tokens) - len(words)
    boxes = sorted((p for p in ax.patches if (p.get_gid() or "").startswith("word-box-")),
                   key=lambda p: int(p.get_gid().rsplit("-", 1)[1]))
    for w, (box, tag) in enumerate(zip(boxes, tags)):
        span = [k for k, i in enumerate(word_ids) if i == w]
        assert box.get_x() < span[0] and box.get_x() + box.get_width() > span[-1]     # the box covers its pieces
        expected = "white" if tag == "O" else viz.ENTITY_COLOURS[tag[2:]]
        assert box.get_facecolor() == to_rgba(expected)
    with pytest.raises(ValueError, match="one word id and one label per token"):
        viz.label_alignment(words, tags, tokens, word_ids, labels[:-1])
    with pytest.raises(ValueError, match="one tag per word"):
        viz.label_alignment(words[:-1], tags[:-1], tokens, word_ids, labels)


def test_tag_probabilities_image_is_the_softmax_with_gold_dots_on_the_read_rows(ner_sentence):
    from bertcourse.tasks.ner import TAGS

    _, _, tokens, _, labels = ner_sentence
    probabilities = (3 * torch.randn(len(tokens), len(TAGS))).softmax(-1)         # (T, 9)
    ax = viz.tag_probabilities(probabilities, tokens, labels).axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), probabilities.numpy())
    assert tick_texts(ax.get_yticklabels()) == tokens and tick_texts(ax.get_xticklabels()) == list(TAGS)
    greys = [to_rgba(label.get_color()) != to_rgba("black") for label in ax.get_yticklabels()]
    assert greys == [label == -100 for label in labels]
    gold = next(line for line in ax.lines if line.get_gid() == "gold")
    read = [t for t, label in enumerate(labels) if label != -100]
    assert list(gold.get_ydata()) == read and list(gold.get_xdata()) == [labels[t] for t in read]
    argmax = sorted((round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in ax.patches)
    assert argmax == list(enumerate(probabilities.argmax(-1).tolist()))
    with pytest.raises(ValueError, match=r"\(T, 9\)"):
        viz.tag_probabilities(probabilities[:, :5], tokens, labels)
    with pytest.raises(ValueError, match="one label per token"):
        viz.tag_probabilities(probabilities, tokens, labels[1:])


def test_entity_f1_bars_are_the_scores_per_type_and_overall():
    import random

    from bertcourse.tasks.ner import entity_scores, load

    rng = random.Random(0)
    gold = [ex["tags"] for ex in load("test")]
    noisy = [[t if rng.random() > p else rng.choice(["O", "B-PER", "I-ORG", "B-LOC"]) for t in s]
             for p in (0.1, 0.4) for s in gold]
    runs = {"good": entity_scores(gold, noisy[:len(gold)]), "bad": entity_scores(gold, noisy[len(gold):])}
    ax = viz.entity_f1_bars(runs).axes[0]
    kinds = sorted(runs["good"]["per_type"])
    assert kinds == ["LOC", "MISC", "ORG", "PER"]
    for j, scores in enumerate(runs.values()):
        bars = [p for p in ax.patches if p.get_gid() == f"run-{j}"]
        expected = [100 * scores["per_type"][k]["f1"] for k in kinds] + [100 * scores["f1"]]
        assert [b.get_height() for b in bars] == pytest.approx(expected)
    assert runs["good"]["f1"] > runs["bad"]["f1"]
    support = {k: runs["good"]["per_type"][k]["support"] for k in kinds}
    assert tick_texts(ax.get_xticklabels()) == [f"{k}\n({support[k]} gold)" for k in kinds] + \
        [f"all\n({sum(support.values())} gold)"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["good", "bad"]
    with pytest.raises(ValueError, match="entity_scores"):
        viz.entity_f1_bars({"run": {"f1": 0.5}})


class SpanReader(HTMLParser):
    """The entity spans of tagged_sentences' HTML: (row, class, data-type, style, text)."""

    def __init__(self):
        super().__init__()
        self.rows, self.spans, self.open = -1, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows += 1
        elif tag == "span" and "entity" in attrs.get("class", ""):
            self.open = [self.rows, attrs["class"], attrs["data-type"], attrs["style"], ""]
        elif tag == "sub" and self.open:
            self.spans.append(tuple(self.open))
            self.open = None

    def handle_data(self, data):
        if self.open:
            self.open[4] += data


def test_tagged_sentences_colour_entities_and_mark_wrong_and_missed_ones():
    words = [["Ana", "Lopez", "left", "Banco", "Sol", "for", "<Lima>"], ["Rome", "is", "big"]]
    gold = [["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O", "B-LOC"], ["B-LOC", "O", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG", "O", "O", "B-LOC"], ["B-LOC", "O", "B-MISC"]]
    reader = SpanReader()
    reader.feed(viz.tagged_sentences(words, predicted, gold).data)
    spans = [(row, cls, kind, text.strip()) for row, cls, kind, _, text in reader.spans]
    assert spans == [(0, "entity", "PER", "Ana Lopez"), (0, "entity missed", "ORG", "Banco Sol"),
                     (0, "entity", "LOC", "<Lima>"),
                     (1, "entity", "PER", "Ana Lopez"), (1, "entity wrong", "ORG", "Banco"),
                     (1, "entity", "LOC", "<Lima>"),
                     (2, "entity", "LOC", "Rome"), (3, "entity", "LOC", "Rome"), (3, "entity wrong", "MISC", "big")]
    for _, cls, kind, style, _ in reader.spans:
        assert f"background:{viz.ENTITY_COLOURS[kind]}" in style
        assert (viz.MISTAKE_COLOUR in style) == (cls != "entity")
        assert ("dashed" in style) == (cls == "entity missed")
    assert "&lt;Lima&gt;" in viz.tagged_sentences(words, predicted, gold).data      # words are escaped
    alone = SpanReader()
    alone.feed(viz.tagged_sentences(words, predicted).data)                          # no gold: no verdicts
    assert [(row, cls, text.strip()) for row, cls, _, _, text in alone.spans] == [
        (0, "entity", "Ana Lopez"), (0, "entity", "Banco"), (0, "entity", "<Lima>"), (1, "entity", "Rome"),
        (1, "entity", "big")]
    with pytest.raises(ValueError, match="2 sentences but 1 predicted"):
        viz.tagged_sentences(words, predicted[:1])
    with pytest.raises(ValueError, match="sentence 1 has 3 words"):
        viz.tagged_sentences(words, [predicted[0], ["O"]], gold)


# ---- 07/11: pretraining and semantic similarity: 07_pretraining, 11_semantic_similarity ------------------------
def fake_history(steps: int, eval_every: int, keys: tuple[str, ...], seed: int = 0):
    """A History shaped like a Trainer run's: per-step train values and per-evaluation eval values."""
    from bertcourse.training import History

    g = torch.Generator().manual_seed(seed)
    history = History()
    for step in range(1, steps + 1):
        history.log("train", step=step, **{k: float(torch.rand(1, generator=g)) for k in keys})
        if step % eval_every == 0:
            history.log("eval", step=step, **{k: float(torch.rand(1, generator=g)) for k in keys})
    return history


def test_moving_average_is_the_trailing_mean():
    assert viz.moving_average([1, 2, 3, 4, 5], 2) == [1, 1.5, 2.5, 3.5, 4.5]
    assert viz.moving_average([3, 1], 10) == [3, 2]
    values = torch.rand(50).tolist()
    assert viz.moving_average(values, 7)[-1] == pytest.approx(sum(values[-7:]) / 7)
    with pytest.raises(ValueError, match="at least 1"):
        viz.moving_average(values, 0)


def test_pretraining_curves_draw_train_heldout_and_baselines():
    keys = ("loss", "mlm_accuracy", "nsp_accuracy")
    history = fake_history(40, 10, keys)
    fig = viz.pretraining_curves(history, {"mlm_accuracy": 0.07, "nsp_accuracy": 0.58}, window=5)
    loss_ax, mlm_ax, nsp_ax = fig.axes
    for ax, key in zip(fig.axes, keys):
        scale = 1 if key == "loss" else 100
        raw, smooth, heldout = ax.lines[:3]
        np.testing.assert_allclose(raw.get_ydata(), [scale * v for v in history.train[key]])
        np.testing.assert_allclose(smooth.get_ydata(), viz.moving_average([scale * v for v in history.train[key]], 5))
        np.testing.assert_array_equal(heldout.get_xdata(), [10, 20, 30, 40])
        np.testing.assert_allclose(heldout.get_ydata(), [scale * v for v in history.eval[key]])
        assert ax.get_xlabel() == "training step"
    assert len(loss_ax.lines) == 3                                               # no baseline given for the loss
    assert mlm_ax.lines[3].get_ydata()[0] == pytest.approx(7) and nsp_ax.lines[3].get_ydata()[0] == pytest.approx(58)
    assert mlm_ax.get_ylabel() == "MLM accuracy (%)" and nsp_ax.get_ylabel() == "NSP accuracy (%)"
    assert mlm_ax.lines[3].get_label() == "most frequent token (7.0%)"
    assert nsp_ax.lines[3].get_label() == "majority class (58.0%)"
    with pytest.raises(ValueError, match=r"history.train has no \['nsp_accuracy'\]"):
        viz.pretraining_curves(fake_history(20, 10, keys[:2]), {})


def test_learning_curves_give_each_run_one_colour_and_both_splits():
    runs = {"pretrained": fake_history(30, 5, ("loss", "accuracy"), 1),
            "random init": fake_history(30, 5, ("loss", "accuracy"), 2)}
    fig = viz.learning_curves(runs, window=4)
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["pretrained: train", "pretrained: dev",
                                                            "random init: train", "random init: dev"]
    np.testing.assert_allclose(loss_ax.lines[3].get_ydata(), runs["random init"].eval["loss"])
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), viz.moving_average(runs["pretrained"].train["loss"], 4))
    np.testing.assert_allclose(acc_ax.lines[1].get_ydata(), [100 * v for v in runs["random init"].eval["accuracy"]])
    assert loss_ax.lines[0].get_color() == loss_ax.lines[1].get_color() == acc_ax.lines[0].get_color()
    assert loss_ax.lines[0].get_color() != loss_ax.lines[2].get_color()
    assert acc_ax.get_ylabel() == "dev accuracy (%)" and len(acc_ax.lines) == 2   # no chance line unless asked
    with_chance = viz.learning_curves(runs, chance=0.5).axes[1]
    assert with_chance.lines[2].get_ydata()[0] == pytest.approx(50) and with_chance.lines[2].get_label() == "chance (50%)"
    assert len(viz.learning_curves(runs, metric=None).axes) == 1                  # regression: loss only
    with pytest.raises(ValueError, match=r"history.eval has no \['accuracy'\]"):
        viz.learning_curves({"x": fake_history(10, 5, ("loss",))})


def test_split_gap_bars_are_the_scores_and_the_gap_is_their_difference():
    scores = {"pretrained": {"train": {"accuracy": 0.95}, "dev": {"accuracy": 0.85}},
              "random init": {"train": {"accuracy": 0.90}, "dev": {"accuracy": 0.55}}}
    fig = viz.split_gap(scores)
    ax = fig.axes[0]
    assert [bar.get_height() for bar in ax.patches] == pytest.approx([95, 90, 85, 55])   # train bars, then dev
    gaps = [t.get_text() for t in ax.texts if t.get_text().startswith("gap")]
    assert gaps == ["gap +10.0 points", "gap +35.0 points"]
    assert tick_texts(ax.get_xticklabels()) == ["pretrained", "random init"]
    with pytest.raises(ValueError, match=r"missing \[\('random init', 'dev'\)\]"):
        viz.split_gap({**scores, "random init": {"train": {"accuracy": 0.9}}})


def test_similarity_heatmap_shows_the_matrix_with_sentences_on_both_axes():
    sentences = ["A cat sits on the mat.", "A kitten is resting on a rug in the sun all afternoon long.", "Stocks fell."]
    e = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    sim = e @ e.T
    fig = viz.similarity_heatmap(sim, sentences, max_chars=30)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), sim.numpy(), atol=1e-6)
    labels = [sentences[0], "A kitten is resting on a rug…", sentences[2]]
    assert tick_texts(ax.get_xticklabels()) == labels and tick_texts(ax.get_yticklabels()) == labels
    assert {t.get_text() for t in ax.texts} >= {f"{sim[0, 1]:.2f}", "1.00"}
    assert len(ax.texts) == 9 and fig.axes[1].get_ylabel() == "cosine similarity"
    with pytest.raises(ValueError, match=r"\(N, N\) for the N = 2 sentences"):
        viz.similarity_heatmap(sim, sentences[:2])


def test_score_scatter_plots_each_method_against_gold_with_its_correlations():
    from bertcourse.tasks.classification import pearson, spearman

    gold = torch.tensor([0.0, 1.0, 2.5, 4.0, 5.0])
    cosine = torch.tensor([0.1, 0.3, 0.2, 0.8, 0.9])
    fig = viz.score_scatter(gold, {"cosine": cosine, "perfect": gold * 2}, ylabels={"cosine": "cosine similarity"})
    left, right = fig.axes
    np.testing.assert_allclose(left.collections[0].get_offsets(), torch.stack([gold, cosine], 1).numpy())
    assert left.get_title() == (f"cosine\nPearson r = {pearson(cosine, gold):.3f}, "
                                f"Spearman ρ = {spearman(cosine, gold):.3f}")
    assert right.get_title().endswith("r = 1.000, Spearman ρ = 1.000")
    assert left.get_ylabel() == "cosine similarity" and right.get_ylabel() == "predicted score"
    assert left.get_xlabel() == "gold similarity (0-5)"
    with pytest.raises(ValueError, match="'cosine': 4 predictions for 5 gold scores"):
        viz.score_scatter(gold, {"cosine": cosine[:4]})


# ---- 10: question answering: 10_question_answering ---------------------------------------------------------
def test_span_probabilities_bars_are_the_probabilities_with_spans_marked():
    tokens = ["[CLS]", "who", "?", "[SEP]", "ada", "love", "##lace", "wrote", "it", "[SEP]"]
    start, end = softmax_rows(10), softmax_rows(10)
    fig = viz.span_probabilities(start, end, tokens, gold=(4, 6), predicted=(5, 6))
    top, bottom = fig.axes
    for ax, probs in ((top, start), (bottom, end)):
        bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_facecolor() == to_rgba("tab:blue")]
        assert [b.get_height() for b in bars] == pytest.approx(probs.tolist())
        shaded = {p.get_label(): p for p in ax.patches if p.get_label().endswith("span")}
        x = {k: [p.get_x(), p.get_x() + p.get_width()] for k, p in shaded.items()}
        assert x["gold span"] == pytest.approx([3.5, 6.5]) and x["predicted span"] == pytest.approx([4.5, 6.5])
        assert shaded["gold span"].get_facecolor()[:3] == to_rgba("tab:green")[:3]
        assert shaded["predicted span"].get_facecolor()[:3] == to_rgba("tab:orange")[:3]
    assert [t.get_text() for t in bottom.get_xticklabels()] == tokens
    assert top.get_ylabel() == "P(start = i)" and bottom.get_ylabel() == "P(end = i)"


def test_span_probabilities_explains_bad_input():
    with pytest.raises(ValueError, match="must both be"):
        viz.span_probabilities(softmax_rows(4), softmax_rows(5), ["a"] * 4)
    with pytest.raises(ValueError, match="3 tokens for 4"):
        viz.span_probabilities(softmax_rows(4), softmax_rows(4), ["a"] * 3)
    with pytest.raises(ValueError, match="gold span"):
        viz.span_probabilities(softmax_rows(4), softmax_rows(4), ["a"] * 4, gold=(3, 1))


def test_score_histograms_one_histogram_per_class_and_the_threshold_line():
    scores = {"IsNext": torch.tensor([0.5, 0.6, 0.7, 0.9]), "NotNext": torch.tensor([0.0, 0.1, 0.2])}
    fig = viz.score_histograms(scores, threshold=0.35, xlabel="cosine(A, B)", title="t")
    ax = fig.axes[0]
    heights = {}
    for p in ax.patches:
        heights.setdefault(p.get_facecolor()[:3], []).append(p.get_height())
    assert sorted(sum(h) for h in heights.values()) == [3, 4]          # every score counted once, per class
    assert [line.get_xdata()[0] for line in ax.lines] == [0.35]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(labels) == {"threshold 0.35", "IsNext (4)", "NotNext (3)"}
    assert ax.get_xlabel() == "cosine(A, B)" and ax.get_ylabel() == "number of examples"
    with pytest.raises(ValueError, match="at least one score"):
        viz.score_histograms({"IsNext": torch.tensor([])})
