"""The notebooks' widgets, driven as a student drives them (setting `.value`), without a browser."""
import base64
import html
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bertcourse import BertTokenizer, load_pretrained
from bertcourse.pretraining import mask_tokens
from bertcourse.viz.attention import attention_stack
from bertcourse.widgets import ALL_HEADS, VIRIDIS, attention_explorer, strongest_links

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


# ---- attention explorer: 01_self_attention, 04_bert_architecture ---------------------------------------
@pytest.fixture(scope="module")
def minilm():
    return load_pretrained(), BertTokenizer.from_pretrained()


@pytest.fixture
def explorer(minilm):
    return attention_explorer(*minilm, text="The cat sat on the mat because it was warm.")


def reference_attention(minilm, text, pair=None):
    """What the explorer should show, computed here: (L, nh, T, T) and the tokens."""
    model, tokenizer = minilm
    enc = tokenizer.encode(text, pair)
    with torch.no_grad():
        out = model(torch.tensor([enc.input_ids]), torch.tensor([enc.token_type_ids]), output_attentions=True)
    return attention_stack(out.attentions), enc.tokens


def heatmap_cells(picture: str) -> tuple[list[str], np.ndarray]:
    """The drawn table back as (row tokens, weights): every cell's tooltip is 'query → key: weight'."""
    rows = [html.unescape(t) for t in re.findall(r"<th class=q>(.*?)</th>", picture)]
    weights = [float(w) for w in re.findall(r'title=".*? → .*?: ([0-9.]+)"', picture)]
    return rows, np.array(weights).reshape(len(rows), -1)


def head_pictures(picture: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
            for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", picture)]


def link_lines(explorer) -> list[str]:
    text = html.unescape(re.search(r"<pre[^>]*>(.*)</pre>", explorer.links.value, re.S).group(1))
    return text.splitlines()


def test_explorer_starts_with_all_heads_of_layer_0(minilm, explorer):
    weights, tokens = reference_attention(minilm, explorer.text.value)
    assert explorer.tokens == tokens and explorer.status.value == f"{len(tokens)} 个词元"
    assert explorer.head.value == ALL_HEADS and explorer.layer.value == 0
    pictures = head_pictures(explorer.picture.value)
    assert len(pictures) == 12
    T = len(tokens)
    for h, picture in enumerate(pictures):                                  # each pixel block = one weight
        scale = picture.shape[0] // T
        centres = picture[scale // 2::scale, scale // 2::scale]             # (T, T, 3)
        expected = VIRIDIS(weights[0, h].numpy(), bytes=True)[..., :3]
        assert np.abs(centres.astype(int) - expected.astype(int)).max() <= 1


def test_choosing_layer_and_head_redraws_without_running_the_model(minilm, explorer):
    weights, tokens = reference_attention(minilm, explorer.text.value)
    runs = explorer.model_runs
    explorer.layer.value = 3
    explorer.head.value = 5
    rows, drawn = heatmap_cells(explorer.picture.value)
    assert rows == tokens
    np.testing.assert_allclose(drawn, weights[3, 5].numpy(), atol=5e-4)  # shown with 3 decimals
    explorer.head.value = 6
    np.testing.assert_allclose(heatmap_cells(explorer.picture.value)[1], weights[3, 6].numpy(), atol=5e-4)
    explorer.layer.value = 0
    np.testing.assert_allclose(heatmap_cells(explorer.picture.value)[1], weights[0, 6].numpy(), atol=5e-4)
    assert explorer.model_runs == runs, "layer and head changes must reuse the cached attentions"
    assert "第 0 层，头 6" in explorer.links.value


def test_strongest_links_are_the_largest_weights_in_words(minilm, explorer):
    weights, tokens = reference_attention(minilm, explorer.text.value)
    explorer.layer.value, explorer.head.value = 2, 0
    special = {i for i, t in enumerate(tokens) if t in ("[CLS]", "[SEP]")}
    ranked = sorted(((weights[2, 0, q, k].item(), q, k) for q in range(len(tokens)) for k in range(len(tokens))
                     if q not in special and k not in special), reverse=True)[:8]
    assert link_lines(explorer) == [f"{w:.2f}  {tokens[q]} → {tokens[k]}" for w, q, k in ranked]
    explorer.hide_special.value = False                                      # MiniLM parks attention on [CLS]
    lines = link_lines(explorer)
    assert any(line.endswith("→ [CLS]") for line in lines)
    assert lines[0].startswith(f"{weights[2, 0].max().item():.2f}")


def test_all_heads_links_name_their_head(minilm, explorer):
    weights, tokens = reference_attention(minilm, explorer.text.value)
    explorer.layer.value = 1
    explorer.hide_special.value = False
    top = weights[1].max().item()
    candidates = {f"{top:.2f}  头{h:<2} {tokens[q]} → {tokens[k]}" for h, q, k in (weights[1] == top).nonzero().tolist()}
    assert link_lines(explorer)[0] in candidates


def test_a_new_text_runs_the_model_once_and_redraws(minilm, explorer):
    explorer.head.value = 4
    before, runs = explorer.picture.value, explorer.model_runs
    explorer.text.value = "Dogs chase cats."
    explorer.pair.value = "Cats climb trees."
    assert explorer.model_runs == runs + 2                                   # one run per change
    weights, tokens = reference_attention(minilm, "Dogs chase cats.", "Cats climb trees.")
    assert explorer.tokens == tokens and tokens.count("[SEP]") == 2
    rows, drawn = heatmap_cells(explorer.picture.value)
    assert explorer.picture.value != before and rows == tokens
    np.testing.assert_allclose(drawn, weights[0, 4].numpy(), atol=5e-4)    # segment ids were passed too


def test_bad_text_is_reported_in_the_widget_not_raised(explorer):
    picture, tokens = explorer.picture.value, explorer.tokens
    explorer.text.value = "   "
    assert "empty" in explorer.status.value and "⚠" in explorer.status.value
    assert explorer.picture.value == picture and explorer.tokens == tokens  # the last good view stays
    explorer.layer.value = 1                                                # and still answers
    assert explorer.picture.value != picture


def test_grid_colours_are_matplotlibs_viridis_cell_for_cell():
    """The grid's colour lookup gives what matplotlib's colormap gives, edges and masked cells included."""
    from bertcourse.widgets.common import MASKED_COLOUR, VIRIDIS, hex_colours

    torch.manual_seed(0)
    values = torch.rand(40, 40)
    values[0, :8] = torch.tensor([0.0, 1.0, 0.99999, 1 / 256, 255 / 256, float("nan"), -0.5, 2.0])
    rgb = VIRIDIS(values.nan_to_num(0).clamp(0, 1).numpy(), bytes=True)[..., :3]             # (40, 40, 3)
    expected = [[MASKED_COLOUR if m else "#%02x%02x%02x" % tuple(px) for px, m in zip(row, mrow)]
                for row, mrow in zip(rgb.tolist(), values.isnan().tolist())]
    assert hex_colours(values) == expected
    assert hex_colours(values)[0][5] == MASKED_COLOUR


def test_grid_tooltips_format_each_cell_and_escape_the_labels():
    """Each cell's tooltip is the template filled with its row, column and value; a NaN cell gets the
    masked template; a token that looks like HTML stays text in headers and tooltips alike."""
    from bertcourse.widgets.common import grid_html

    values = torch.tensor([[0.25, float("nan")], [1.0, 0.125]])                # (2, 2)
    picture = grid_html(values.nan_to_num(0), ["<b>", "a&b"], ["x", '"q"'], values, "{row} → {column}: {value:.3f}",
                        "heading", "", masked_tip="{row} → {column}: none")
    tips = [html.unescape(t) for t in re.findall(r'title="(.*?)"', picture)]
    assert tips == ["<b> → x: 0.250", '<b> → "q": none', "a&b → x: 1.000", 'a&b → "q": 0.125']
    assert "<b>" not in picture.replace("<b>heading</b>", "")                 # only the heading is bold
    assert [html.unescape(t) for t in re.findall(r"<th class=q>(.*?)</th>", picture)] == ["<b>", "a&b"]


def test_strongest_links_skips_positions_and_orders_by_weight():
    weights = torch.zeros(2, 3, 3)
    weights[1, 2, 0], weights[0, 1, 2], weights[0, 0, 1] = 0.9, 0.7, 0.95
    assert strongest_links(weights, k=2) == [(0, 0, 1, pytest.approx(0.95)), (1, 2, 0, pytest.approx(0.9))]
    assert [link[:3] for link in strongest_links(weights, k=1, skip=[0])] == [(0, 1, 2)]
    assert all(0 not in link[1:3] for link in strongest_links(weights, k=9, skip=[0]))
    with pytest.raises(ValueError, match=r"\(heads, T, T\)"):
        strongest_links(weights[0])


def test_explorer_needs_a_model_and_its_tokenizer_together(minilm):
    with pytest.raises(ValueError, match="both a model and its tokenizer"):
        attention_explorer(minilm[0])


@pytest.mark.slow
def test_latency_benchmark_times_every_widget_idle_and_busy(tmp_path):
    out = tmp_path / "latency.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "widget_latency.py"), "--reps", "1", "--tokens", "16",
                           "--race-steps", "2", "--out", str(out)], capture_output=True, text=True, timeout=900, cwd=BENCHMARKS)
    assert done.returncode == 0, done.stderr[-2000:]
    import json
    results = json.loads(out.read_text())
    medians = results["median_ms"]
    assert results["race"]["steps"] == 2 and results["race"]["seconds"] > 0
    updates = {"masking playground: new seed", "sentence pair: pick a pair", "WordPiece: new text",
               "attention explorer: new text", "attention explorer: new layer", "side by side: new text, first model",
               "side by side: new text, each further model", "side by side: new text, all 3 models",
               "side by side: new layer", "head ablation: heads off", "QA explorer: new question, window on screen",
               "QA explorer: new question, each further window", "QA explorer: new question, all windows",
               "QA explorer: other window"}
    for load in ("idle", "busy"):
        assert set(medians[load]) == updates
        assert all(set(m) == {"as shipped", "one thread", "default threads"} and min(m.values()) > 0
                   for m in medians[load].values())
        assert sum(results["threads_chosen"][load].values()) > 0    # the shipped updates chose their threads
    for update in updates:                                    # one printed row per update, six timings
        assert re.search(re.escape(update) + r"(\s+[0-9.]+ ms){6}", done.stdout), done.stdout


def test_the_notebooks_readme_latency_table_is_the_committed_results(monkeypatch):
    """notebooks/README.md lists every widget's latency, rendered from widget_latency.json, never retyped."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import widget_latency

    from common import read_between

    results = json.loads(widget_latency.OUT.read_text())
    block = read_between(widget_latency.README, widget_latency.BEGIN, widget_latency.END)
    assert block == widget_latency.table(results), "rerun `python benchmarks/widget_latency.py --readme`"
    assert len(results["median_ms"]["idle"]) == 14 and results["race"]["seconds"] > 0


# ---- masking playground: 05_masked_lm --------------------------------------------------------------------
SENTENCE = "The quick brown fox jumps over the lazy dog near the riverbank."


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer.from_pretrained()


@pytest.fixture
def playground(tokenizer):
    from bertcourse.widgets import masking_playground

    return masking_playground(tokenizer, SENTENCE, draws=4000)


def assert_consistent(draw, tokenizer):
    """Every position's outcome agrees with what it became."""
    for token, became, outcome in zip(draw.tokens, draw.became, draw.outcomes):
        if outcome == "mask":
            assert became == "[MASK]"
        elif outcome == "random":
            assert became not in (token, "[MASK]") and became in tokenizer.vocab
        else:
            assert became == token
    assert {o for t, o in zip(draw.tokens, draw.outcomes) if t in ("[CLS]", "[SEP]")} == {"unchosen"}


def assert_rates_follow(draw, p, mask, random):
    expected = {"mask": mask, "random": random, "kept": 1 - mask - random}
    for key, value in expected.items():
        assert draw.expected[key] == pytest.approx(value)
        assert draw.measured[key] == pytest.approx(value, abs=0.02), key
    assert p < draw.expected["chosen"] < p + 0.01                           # 14 tokens: a small lift over p
    assert draw.measured["chosen"] == pytest.approx(draw.expected["chosen"], abs=0.02)


def test_playground_starts_with_bert_settings(playground, tokenizer):
    draw = playground.result
    assert draw.tokens == tokenizer.encode(SENTENCE).tokens and draw.draws == 4000
    assert_consistent(draw, tokenizer)
    assert_rates_follow(draw, 0.15, 0.8, 0.1)
    for key in ("chosen", "mask", "random", "kept"):                         # each bar: measured, then expected
        assert (f"width:{100 * draw.measured[key]:.2f}%" in playground.chart.value
                and f"left:{100 * draw.expected[key]:.2f}%" in playground.chart.value), key
    for slider in (playground.probability, playground.mask_ratio, playground.random_ratio):
        assert slider.continuous_update is False
    assert playground.tokens_view.layout.height and playground.children[-1].layout.height  # no jumping


@pytest.mark.parametrize("p, mask, random", [(0.4, 0.8, 0.1), (0.3, 0.2, 0.6)])
def test_sliders_set_the_rule_and_the_rates_follow(playground, tokenizer, p, mask, random):
    before = (playground.tokens_view.value, playground.chart.value)
    playground.probability.value = p
    playground.mask_ratio.value = mask
    playground.random_ratio.value = random
    draw = playground.result
    assert (playground.tokens_view.value, playground.chart.value) != before
    assert_consistent(draw, tokenizer)
    assert_rates_follow(draw, p, mask, random)
    assert f"{1 - mask - random:.2f}" in playground.keep.value


def test_mask_slider_limits_the_random_share(playground):
    playground.mask_ratio.value = 0.95
    assert playground.random_ratio.value == pytest.approx(0.05) and playground.random_ratio.max == pytest.approx(0.05)
    playground.mask_ratio.value = 1.0
    assert playground.random_ratio.value == 0 and playground.result.measured["mask"] == 1.0


def test_the_seed_decides_the_draw_and_repeats_it(playground):
    first = playground.result.outcomes
    others = []
    for seed in (1, 2):
        playground.seed.value = seed
        others.append(playground.result.outcomes)
    assert any(o != first for o in others)
    playground.seed.value = 0
    assert playground.result.outcomes == first


def test_a_new_sentence_is_tokenised_and_drawn(playground, tokenizer):
    playground.sentence.value = "Masked language models read in both directions."
    assert playground.result.tokens == tokenizer.encode("Masked language models read in both directions.").tokens
    assert "directions" in playground.tokens_view.value


def test_whole_word_masking_keeps_the_pieces_of_a_word_together(playground, tokenizer):
    playground.sentence.value = "unbelievably tokenization"                # un ##bel ##ie ##va ##bly token ##ization
    playground.whole_word.value = True
    for seed in range(1, 4):
        playground.seed.value = seed
        chosen = [o != "unchosen" for o in playground.result.outcomes]
        assert len(set(chosen[1:6])) == 1 and len(set(chosen[6:8])) == 1
    assert playground.result.expected["chosen"] == pytest.approx(0.15 + 0.85 ** 2 / 2)   # 2 words


@pytest.mark.parametrize("text, message", [("   ", "empty"), ("🙂 🙂", "从不被选中")])
def test_unusable_text_is_explained_not_raised(playground, text, message):
    playground.sentence.value = text
    assert playground.result is None and message in playground.tokens_view.value


@pytest.fixture(scope="module")
def tiny_pretraining(tokenizer):
    """A BERT-Tiny with MLM + NSP heads on MiniLM's vocabulary, seeded: untrained, but every number the
    widgets show can be computed from it here."""
    from bertcourse import BertConfig, BertForPreTraining

    torch.manual_seed(0)
    return BertForPreTraining(BertConfig.tiny(vocab_size=len(tokenizer))).eval()


def test_playground_shows_the_models_guesses_and_the_loss_of_the_chosen_positions(tokenizer, tiny_pretraining):
    from bertcourse.widgets import masking_playground

    app = masking_playground(tokenizer, SENTENCE, draws=200, model=tiny_pretraining)
    for seed in (0, 3):
        app.seed.value = seed
        draw = app.result
        g = torch.Generator().manual_seed(seed)                  # the draw, again, through mask_tokens
        ids = torch.tensor([tokenizer.encode(SENTENCE).input_ids])
        masked, labels = mask_tokens(ids, tokenizer, generator=g)
        with torch.no_grad():
            probs = tiny_pretraining(masked).mlm_logits[0].softmax(-1)        # (T, V), every position
        chosen = [i for i, o in enumerate(draw.outcomes) if o != "unchosen"]
        assert [guess.position for guess in draw.guesses] == chosen and chosen
        for guess in draw.guesses:
            true_id = int(labels[0, guess.position])
            assert guess.true_token == draw.tokens[guess.position] == tokenizer.convert_ids_to_tokens(true_id)
            assert guess.p_true == pytest.approx(probs[guess.position, true_id].item(), rel=1e-4)
            top_p, top_ids = probs[guess.position].topk(3)
            assert [t for t, _ in guess.top] == tokenizer.convert_ids_to_tokens(top_ids)
            assert [p for _, p in guess.top] == pytest.approx(top_p.tolist(), rel=1e-4)
        nll = -torch.tensor([probs[i, labels[0, i]].log().item() for i in chosen]).mean()
        assert draw.loss == pytest.approx(nll.item(), rel=1e-4)       # the loss counts the chosen positions only
        assert f"{draw.loss:.3f}" in app.guesses_view.value
        assert html.escape(draw.guesses[0].true_token) in app.guesses_view.value


def test_playground_guesses_need_a_pretraining_model(tokenizer):
    from bertcourse import BertConfig, BertModel
    from bertcourse.widgets import masking_playground

    with pytest.raises(ValueError, match="BertForPreTraining"):
        masking_playground(tokenizer, SENTENCE, model=BertModel(BertConfig.tiny(vocab_size=len(tokenizer))))


# ---- 10 QA explorer: 10_question_answering ------------------------------------------------------------------
PASSAGE = "The Eiffel Tower was finished in 1889 in Paris. It was designed by the engineer Gustave Eiffel's company."


@pytest.fixture(scope="module")
def qa_model():
    """MiniLM with a QA head seeded at random: untrained, but its probabilities still follow the question."""
    import warnings

    from bertcourse.model import BertForQuestionAnswering

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_pretrained(None, BertForQuestionAnswering).eval(), BertTokenizer.from_pretrained()


def reference_qa(qa_model, question, context):
    """The first window's probabilities and best span, computed here from the model and the package's QA code."""
    from bertcourse.tasks import qa

    from bertcourse.widgets.qa import WINDOW_TOKENS

    model, tok = qa_model
    window = qa.make_windows(tok, question, context, max_length=WINDOW_TOKENS)[0]
    with torch.no_grad():
        out = model(torch.tensor([window.input_ids]), torch.tensor([window.token_type_ids]))
    return (out.start_logits[0].softmax(-1), out.end_logits[0].softmax(-1),
            qa.predict(model, tok, question, context, WINDOW_TOKENS)[0])


def test_qa_explorer_shows_the_models_probabilities_and_best_span(qa_model):
    from bertcourse.widgets import qa_explorer

    app = qa_explorer(*qa_model, question="When was the tower finished?", context=PASSAGE)
    start, end, best = reference_qa(qa_model, "When was the tower finished?", PASSAGE)
    assert torch.allclose(app.result.start_probs, start, atol=1e-5)
    assert torch.allclose(app.result.end_probs, end, atol=1e-5)
    assert app.result.best == best and html.escape(best.text) in app.answer.value
    first, last = app.result.best_tokens
    assert "".join(t.removeprefix("##") for t in app.result.tokens[first:last + 1]) == best.text.lower().replace(" ", "")
    assert app.result.tokens[0] == "[CLS]" and app.result.windows == 1
    drawn = [float(p) for p in re.findall(r'title=".*?: P\(start\)=([0-9.]+)"', app.chart.value)]
    np.testing.assert_allclose(drawn, start.numpy(), atol=5e-4)          # one bar per token, its probability


def test_qa_explorer_redraws_when_the_question_or_passage_changes(qa_model):
    from bertcourse.widgets import qa_explorer

    app = qa_explorer(*qa_model, question="When was the tower finished?", context=PASSAGE)
    before, chart = app.result, app.chart.value
    app.question.value = "Who designed the tower?"
    after = app.result
    start, _, best = reference_qa(qa_model, "Who designed the tower?", PASSAGE)
    assert after is not before and torch.allclose(after.start_probs, start, atol=1e-5) and after.best == best
    assert app.chart.value != chart


def test_qa_explorer_shows_every_window_and_the_n_best_of_all(qa_model):
    from bertcourse.tasks import qa
    from bertcourse.widgets import qa_explorer

    model, tok = qa_model
    long = " ".join([PASSAGE] * 8)                            # too long for one window of 128 tokens
    app = qa_explorer(model, tok, question="Who designed the tower?", context=long)
    windows = qa.make_windows(tok, "Who designed the tower?", long, max_length=128)
    W = len(windows)
    assert W >= 3 and app.window.max == W - 1 and f"{W} 个窗口" in app.answer.value
    assert app.answers.pending == 0 and "计算中" not in app.answer.value
    expected = qa.predict(model, tok, "Who designed the tower?", long, 128, n_best=5)
    assert [s.text for s in app.answers.nbest] == [s.text for s in expected]
    np.testing.assert_allclose([s.score for s in app.answers.nbest], [s.score for s in expected], atol=1e-4)
    assert all(html.escape(s.text) in app.nbest_view.value for s in expected)
    home = app.window.value                                   # the window that holds the best answer
    assert expected[0].start_char in {o[0] for o in windows[home].offsets if o}
    answers, grids = app.answers, set()
    for w in range(W):
        app.window.value = w
        grids.add(app.grid.value)
        assert app.answers is answers                         # the slider never reruns the model
        assert app.result.tokens == tok.convert_ids_to_tokens(windows[w].input_ids)
        assert f"第 {w + 1} 个窗口（共 {W} 个）" in app.stride.value and "文档步幅 (doc stride)" in app.stride.value
    shared = len({o for o in windows[1].offsets if o} & {o for o in windows[0].offsets if o})
    app.window.value = 1
    assert f"和前一个共有 {shared} 个词元" in app.stride.value and shared > 0
    lo, hi = app.shown                                        # the chart zooms in on the answer, legibly
    assert hi - lo == 64 < len(app.result.tokens)
    if app.result.best_tokens:
        assert lo <= app.result.best_tokens[0] <= app.result.best_tokens[1] < hi
    assert len(grids) == W                                    # each window has its own score grid


def test_qa_explorer_answers_the_window_on_screen_first_then_the_rest(qa_model):
    """A new question is drawn one window at a time: the window the student looks at first (one window
    through the model), with a note that the others are running; then each other window, one update each,
    until the n-best is the package's over all windows."""
    from bertcourse.tasks import qa
    from bertcourse.widgets import qa_explorer

    model, tok = qa_model
    long = " ".join([PASSAGE] * 8)
    app = qa_explorer(model, tok, question="Who designed the tower?", context=long)
    app.window.value = shown = 1
    states = []                                               # what the student sees after each redraw
    app.chart.observe(lambda _: states.append((app.answers.pending, app.window.value, app.answer.value,
                                               app.result.start_probs)), "value")
    steps = []                                                # every redraw of the answer line
    app.answer.observe(lambda _: steps.append((app.answers.pending, app.answer.value)), "value")
    app.question.value = "When was the tower finished?"
    windows = qa.make_windows(tok, "When was the tower finished?", long, max_length=128)
    assert [p for p, _ in steps] == list(range(len(windows) - 1, -1, -1))   # one window more each update
    assert all(f"{len(windows) - p} 个窗口里最好的答案；其余 {p} 个窗口计算中" in line for p, line in steps[1:-1])
    pending, window, line, start_probs = states[0]
    assert pending == len(windows) - 1 and window == shown and f"其余 {pending} 个窗口计算中" in line
    with torch.no_grad():                                     # the window on screen, run alone
        out = model(torch.tensor([windows[shown].input_ids]), torch.tensor([windows[shown].token_type_ids]))
    assert torch.allclose(start_probs, out.start_logits[0].softmax(-1), atol=1e-5)
    first_best = qa.decode_spans(out.start_logits, out.end_logits, [windows[shown].offsets], long, n_best=1)[0]
    assert html.escape(first_best.text) in line               # its own best answer, before the others ran
    assert app.answers.pending == 0 and "计算中" not in app.answer.value
    expected = qa.predict(model, tok, "When was the tower finished?", long, 128, n_best=5)
    assert [s.text for s in app.answers.nbest] == [s.text for s in expected]


def test_qa_explorer_windows_are_the_classroom_models_own():
    from bertcourse import classroom
    from bertcourse.widgets.qa import WINDOW_TOKENS

    assert WINDOW_TOKENS == classroom.recipe("qa").settings["max_length"]


def test_span_scores_mask_what_decoding_never_reads():
    from bertcourse.widgets import span_scores

    start, end = torch.arange(6.0), 10 * torch.arange(6.0)
    offsets = [None, None, (0, 1), (2, 3), (4, 5), None]      # [CLS] q [SEP]-like: tokens 2..4 are the passage
    grid = span_scores(start, end, offsets, max_answer_length=2)
    valid = {(i, j) for i in range(6) for j in range(6) if not grid[i, j].isnan()}
    assert valid == {(2, 2), (2, 3), (3, 3), (3, 4), (4, 4)}  # start <= end, at most 2 tokens, in the passage
    assert grid[3, 4] == start[3] + end[4]


def test_qa_explorer_gold_answer_is_marked_and_scored(qa_model):
    from bertcourse.tasks import qa
    from bertcourse.widgets import qa_explorer

    app = qa_explorer(*qa_model, question="When was the tower finished?", context=PASSAGE, gold="1889")
    best = app.answers.nbest[0].text
    score = qa.squad_scores([best], [["1889"]])
    assert f"EM {score['exact_match']:.0f}，F1 {score['f1']:.0f}" in app.answer.value
    app.gold.value = app.answers.nbest[1].text
    assert f"<b>{html.escape(app.answers.nbest[1].text)}</b>" in app.nbest_view.value


def test_focus_range_keeps_the_span_inside_a_readable_slice():
    from bertcourse.widgets import focus_range

    assert focus_range(40, (3, 5)) == (0, 40)                       # short inputs are drawn whole
    assert focus_range(192, None) == (0, 64)
    assert focus_range(192, (100, 104)) == (70, 134)                # centred on the span
    assert focus_range(192, (188, 190)) == (128, 192)               # clamped at the end


def test_qa_explorer_reports_unusable_text_instead_of_raising(qa_model):
    from bertcourse.widgets import qa_explorer

    app = qa_explorer(*qa_model, question="Who?", context=PASSAGE)
    chart = app.chart.value
    app.question.value = "   "
    assert app.result is None and "question is empty" in app.answer.value and app.chart.value == chart


# ---- WordPiece step-through: 03_bert_inputs ------------------------------------------------------------
STEP_TEXTS = ["Unaffable tokenizers love 北京!", "x" * 101, "hello [MASK] ☃ naïve", "ǆxyzzyq", "   ", "a-b,c"]


@pytest.mark.parametrize("text", STEP_TEXTS)
def test_walk_through_ends_where_the_tokenizer_does_and_tries_longest_first(tokenizer, text):
    from bertcourse.widgets.wordpiece_steps import walk_through

    steps = walk_through(tokenizer, text)
    assert [p for s in steps for p in s.pieces] == tokenizer.tokenize(text)
    assert [s.word for s in steps] == tokenizer.basic_tokenize(text)
    for s in steps:
        found = [c for c in s.candidates if c.found]
        if s.pieces != [tokenizer.unk_token] and s.word not in ("[MASK]",):
            assert [c.piece for c in found] == s.pieces                      # each piece is the lookup that hit
            assert "".join(c.piece.removeprefix("##") for c in found) == s.word
        for a, b in zip(s.candidates, s.candidates[1:]):                    # longest first at each position
            if a.start == b.start:
                assert b.end == a.end - 1 and not a.found
            else:
                assert a.found and b.start == a.end and b.end == len(s.word)
        for c in s.candidates:
            assert c.found == (c.piece in tokenizer.vocab) and c.piece.startswith("##") == (c.start > 0)


def test_walk_through_explains_unknown_words(tokenizer):
    from bertcourse.widgets.wordpiece_steps import walk_through

    long, snowman = walk_through(tokenizer, "x" * 101 + " ☃")
    assert long.pieces == ["[UNK]"] and long.candidates == [] and "101 个字符 > 100" in long.why
    assert snowman.pieces == ["[UNK]"] and "词表里没有哪个词元是「☃」的开头" in snowman.why
    assert [s.word for s in walk_through(tokenizer, "北京")] == ["北", "京"]     # CJK characters split apart


def test_the_trace_does_not_change_wordpiece(tokenizer):
    from bertcourse.wordpiece import wordpiece_spans

    for word in ("unaffable", "tokenizers", "☃", "x" * 101):
        trace = []
        assert wordpiece_spans(word, tokenizer.vocab, trace=trace) == wordpiece_spans(word, tokenizer.vocab)


def test_step_slider_reveals_one_lookup_at_a_time(tokenizer):
    from bertcourse.widgets.wordpiece_steps import wordpiece_steps

    app = wordpiece_steps(tokenizer, "Unaffable love")
    first = app.steps[0]
    assert app.step.max == len(first.candidates) + 1 and app.step.value == app.step.max
    assert "una ##ffa ##ble love" in app.view.value                          # ends at the result
    for k in (1, 2, len(first.candidates)):
        app.step.value = k
        assert app.view.value.count("→ 试") == k
    assert "目前的词元：<code>una ##ffa ##ble</code>" in app.view.value
    app.text.value = "北京"
    assert app.step.max == 2 and "北 京" in app.view.value
    app.text.value = "   "
    assert app.steps == [] and "（无）" in app.words.value and app.step.max == 0   # nothing to cut, no error


# ---- sentence-pair playground: 03_bert_inputs, 06_next_sentence ------------------------------------------
@pytest.fixture(scope="module")
def heldout():
    from bertcourse.data import load_corpus

    return load_corpus("course-heldout")[:8]


def test_pair_playground_shows_the_input_and_p_is_next(tokenizer, tiny_pretraining, heldout):
    import random

    from bertcourse.pretraining import make_nsp_pairs, next_sentence_probability
    from bertcourse.widgets.pairs import SentencePairPlayground, embedding_parts

    app = SentencePairPlayground(tiny_pretraining, tokenizer, heldout, "this movie is great", "i like it")
    assert app.p_is_next == pytest.approx(next_sentence_probability(tiny_pretraining, tokenizer, "this movie is great",
                                                                    "i like it"), abs=1e-6)
    assert f"{app.p_is_next:.3f}" in app.verdict.value
    enc = tokenizer.encode("this movie is great", "i like it")
    assert enc.tokens[0] == "[CLS]" and enc.tokens.count("[SEP]") == 2
    assert "".join(f"<td>{s}</td>" for s in enc.token_type_ids) in app.ids.value          # segment ids
    assert "".join(f"<td>{i}</td>" for i in range(len(enc.tokens))) in app.ids.value      # position ids
    parts = embedding_parts(tiny_pretraining.bert.embeddings, enc.input_ids, enc.token_type_ids)
    with torch.no_grad():                                     # the sum is what the embedding layer normalises
        expected = tiny_pretraining.bert.embeddings(torch.tensor([enc.input_ids]), torch.tensor([enc.token_type_ids]))
        normed = tiny_pretraining.bert.embeddings.LayerNorm(parts[3])
    torch.testing.assert_close(normed, expected[0])
    assert app.picture.value.count("<img") == 4
    pairs = make_nsp_pairs(heldout, tokenizer, max_length=64, rng=random.Random(0))
    for is_next in (True, False, True):
        before = app.p_is_next
        pair = app.pick(is_next)
        assert pair.is_next is is_next and pair in pairs
        assert tokenizer.tokenize(app.a.value) == pair.tokens_a and tokenizer.tokenize(app.b.value) == pair.tokens_b
        assert app.p_is_next == pytest.approx(next_sentence_probability(tiny_pretraining, tokenizer, app.a.value,
                                                                        app.b.value), abs=1e-6)
        assert app.p_is_next != before
    app.b.value = " "
    assert app.p_is_next is None and "empty" in app.verdict.value


def test_pair_playground_needs_the_nsp_head(tokenizer, heldout):
    from bertcourse import BertConfig, BertModel
    from bertcourse.widgets.pairs import SentencePairPlayground

    with pytest.raises(ValueError, match="BertForPreTraining"):
        SentencePairPlayground(BertModel(BertConfig.tiny(vocab_size=len(tokenizer))), tokenizer, heldout, "a", "b")


# ---- models side by side and head ablation: 01_self_attention, 04_bert_architecture ---------------------
def without_heads(model, off):
    """An independent ablation: a copy whose attention output projection ignores the switched-off heads'
    slices of the context (what multiplying their weights by 0 amounts to)."""
    import copy

    clone = copy.deepcopy(model)
    bert = clone.bert if hasattr(clone, "bert") else clone
    size = bert.config.hidden_size // bert.config.num_attention_heads
    with torch.no_grad():
        for layer, head in off:
            bert.encoder.layer[layer].attention.output.dense.weight[:, head * size:(head + 1) * size] = 0
    return clone


def test_head_mask_switches_heads_off_in_the_attention(tokenizer, tiny_pretraining):
    ids = torch.tensor([tokenizer.encode("The cat sat on the [MASK].").input_ids])
    with torch.no_grad():
        plain = tiny_pretraining(ids, output_attentions=True)
        ones = tiny_pretraining(ids, output_attentions=True, head_mask=torch.ones(2, 2))
        mask = torch.ones(2, 2)
        mask[1, 0] = 0
        off = tiny_pretraining(ids, output_attentions=True, head_mask=mask)
        reference = without_heads(tiny_pretraining, [(1, 0)])(ids)
    torch.testing.assert_close(ones.mlm_logits, plain.mlm_logits)
    torch.testing.assert_close(off.mlm_logits, reference.mlm_logits)
    assert not torch.allclose(off.mlm_logits, plain.mlm_logits)
    assert off.attentions[1][0, 0].abs().max() == 0 and torch.equal(off.attentions[0], plain.attentions[0])
    with pytest.raises(ValueError, match=r"head_mask shape \(2,\)"):
        tiny_pretraining(ids, head_mask=torch.ones(2))


def test_head_ablation_shows_fill_mask_with_and_without_the_chosen_heads(tokenizer, tiny_pretraining):
    from bertcourse.pretraining import fill_mask
    from bertcourse.widgets.compare import head_ablation

    app = head_ablation(tiny_pretraining, tokenizer, "The cat sat on the [MASK] near the [MASK].")
    intact = fill_mask(tiny_pretraining, tokenizer, app.text.value, 5)
    assert app.result == (intact, intact)
    app.heads.value = ((0, 1), (1, 0))
    expected = fill_mask(without_heads(tiny_pretraining, [(0, 1), (1, 0)]), tokenizer, app.text.value, 5)
    got = app.result[1]
    assert [[t for t, _ in row] for row in got] == [[t for t, _ in row] for row in expected]
    np.testing.assert_allclose([[p for _, p in row] for row in got], [[p for _, p in row] for row in expected], rtol=1e-4)
    assert app.result[0] == intact and "L0H1, L1H0" in app.view.value and app.view.value.count("<tr>") == 3
    app.clear.click()
    assert app.result == (intact, intact)
    app.text.value = "no mask here"
    assert app.result is None and "[MASK]" in app.view.value


def test_head_ablation_on_a_qa_model_changes_its_answers(tokenizer):
    from bertcourse import BertConfig, BertForQuestionAnswering
    from bertcourse.tasks import qa
    from bertcourse.widgets.compare import head_ablation

    torch.manual_seed(1)
    model = BertForQuestionAnswering(BertConfig.tiny(vocab_size=len(tokenizer))).eval()
    app = head_ablation(model, tokenizer, "When was the tower finished?", PASSAGE)
    assert app.result[0] == [[(s.text, s.score) for s in qa.predict(model, tokenizer, app.text.value, PASSAGE, n_best=5)]]
    app.heads.value = ((0, 0), (0, 1), (1, 0), (1, 1))
    expected = qa.predict(without_heads(model, app.heads.value), tokenizer, app.text.value, PASSAGE, n_best=5)
    assert [t for t, _ in app.result[1][0]] == [s.text for s in expected] and app.result[1] != app.result[0]


def test_models_side_by_side_draw_each_models_own_attention(tokenizer, tiny_pretraining):
    from bertcourse import BertConfig, BertModel
    from bertcourse.widgets.compare import attention_comparison

    torch.manual_seed(2)
    other = BertModel(BertConfig.tiny(vocab_size=len(tokenizer))).eval()
    models = {"one": tiny_pretraining, "two": other}
    app = attention_comparison(models, tokenizer, "Dogs chase cats.")
    enc = tokenizer.encode("Dogs chase cats.")
    cached = dict(app.attentions)
    for layer, head in ((1, 0), (0, 1)):
        app.layer.value, app.head.value = layer, head
        for name, model in models.items():
            with torch.no_grad():
                weights = model(torch.tensor([enc.input_ids]), output_attentions=True).attentions[layer][0, head]
            rows, drawn = heatmap_cells(app.pictures[name].value)
            assert rows == enc.tokens
            np.testing.assert_allclose(drawn, weights.numpy(), atol=5e-4)
    assert all(app.attentions[n] is cached[n] for n in models)       # layer/head changes reuse the attentions
    assert app.pictures["one"].value != app.pictures["two"].value
    with pytest.raises(ValueError, match="same layers and heads"):
        attention_comparison({"a": tiny_pretraining, "b": BertModel(BertConfig.tiny(vocab_size=len(tokenizer),
                                                                                     num_hidden_layers=3))}, tokenizer)


def test_models_side_by_side_draw_each_model_as_soon_as_it_has_run(tokenizer, tiny_pretraining):
    """A new text is one update per model: each picture is redrawn right after its own model ran, while
    the pictures whose models have not run yet stay faded (the previous text) and the status counts them."""
    from bertcourse import BertConfig, BertModel
    from bertcourse.widgets.compare import STALE, attention_comparison

    torch.manual_seed(3)
    models = {"one": tiny_pretraining, "two": BertModel(BertConfig.tiny(vocab_size=len(tokenizer))).eval(),
              "three": BertModel(BertConfig.tiny(vocab_size=len(tokenizer))).eval()}
    app = attention_comparison(models, tokenizer, "Dogs chase cats.")
    assert not any(STALE in p._dom_classes for p in app.pictures.values())
    seen = []

    def record(change):
        seen.append((change["owner"], list(app.attentions), [STALE in p._dom_classes for p in app.pictures.values()],
                     app.status.value))
    for picture in app.pictures.values():
        picture.observe(record, "value")
    app.text.value = "The cat sat on the warm mat."
    names = list(models)
    assert [owner for owner, *_ in seen] == [app.pictures[n] for n in names]      # one redraw per model, in order
    for k, (_, ran, stale, status) in enumerate(seen):
        assert ran == names[:k + 1]                                                # the models up to its own had run
        assert stale == [False] * k + [True] * (len(names) - k)                    # its class goes just after
        waiting = len(names) - k - 1
        assert (f"其余 {waiting} 个模型计算中" in status) == (waiting > 0)
    assert not any(STALE in p._dom_classes for p in app.pictures.values())
    enc = tokenizer.encode(app.text.value)
    for name, model in models.items():
        with torch.no_grad():
            weights = model(torch.tensor([enc.input_ids]), output_attentions=True).attentions[-1][0, 0]
        np.testing.assert_allclose(heatmap_cells(app.pictures[name].value)[1], weights.numpy(), atol=5e-4)


# ---- fine-tuning race: 08_sentence_classification -------------------------------------------------------
def tiny_race_trainers(tokenizer, seed=0):
    from bertcourse import BertConfig, BertForSequenceClassification
    from bertcourse.finetuning import freeze_encoder
    from bertcourse.tasks import get_task
    from bertcourse.tasks.common import label_accuracy
    from bertcourse.training import Trainer, TrainingConfig

    task = get_task("sentiment")
    train = task.featurize(task.load("train")[:24], tokenizer, 32)
    dev = task.featurize(task.load("dev")[:16], tokenizer, 32)
    trainers = {}
    for name, frozen in (("full", False), ("frozen", True)):
        torch.manual_seed(seed)
        model = BertForSequenceClassification(BertConfig.tiny(vocab_size=len(tokenizer), num_labels=2))
        if frozen:
            freeze_encoder(model)
        trainers[name] = Trainer(model, train, task.collate, TrainingConfig(steps=4, batch_size=8, eval_every=2,
                                                                            progress=False), dev, label_accuracy)
    return trainers


def test_race_steps_every_run_to_the_end_and_draws_their_curves(tokenizer):
    from bertcourse.widgets.race import FinetuneRace

    race = FinetuneRace(tiny_race_trainers(tokenizer), eval_every=2)
    drawn = []
    draw = race.draw
    race.draw = lambda: drawn.append(draw())
    histories = race.run()
    assert set(histories) == {"full", "frozen"} and all(h["step"] == [2.0, 4.0] for h in histories.values())
    assert len(drawn) == 2 and drawn[0] != drawn[1] and drawn[-1][:4] == b"\x89PNG"    # redrawn as it goes
    alone = tiny_race_trainers(tokenizer)                 # racing in turns trains exactly as fit() alone
    for name, trainer in alone.items():
        torch.manual_seed(trainer.config.seed)            # its dropout stream, as a Trainer starts it
        trainer.fit()
        assert trainer.history.eval == histories[name]
        assert trainer.history.train["loss"] == race.trainers[name].history.train["loss"]
    from bertcourse import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    start = BertForSequenceClassification(BertConfig.tiny(vocab_size=len(tokenizer), num_labels=2))
    for run, same in (("frozen", True), ("full", False)):                # frozen features stay what they were
        weight = race.trainers[run].model.bert.encoder.layer[0].attention.self.qkv.weight
        assert torch.equal(weight, start.bert.encoder.layer[0].attention.self.qkv.weight) is same
    assert "第 4 步" in race.status.value and not race.start.disabled
