"""bertviz's views made offline: no CDN left, the local libraries inlined in a race-free order, the
attention JSON equal to our tensors, and the matplotlib stand-in when bertviz cannot render."""
import json
import re

import pytest
import torch
from matplotlib.figure import Figure

from bertcourse import BertTokenizer, load_pretrained
from bertcourse import bertviz_offline as bo


@pytest.fixture(scope="module")
def pair_attention():
    """MiniLM's attention on a sentence pair: the model's per-layer list, the tokens, where B starts."""
    tokenizer, model = BertTokenizer.from_pretrained(), load_pretrained()
    enc = tokenizer.encode("The cat sat on the mat.", "It was warm there.")
    with torch.no_grad():
        out = model(torch.tensor([enc.input_ids]), torch.tensor([enc.token_type_ids]), output_attentions=True)
    return out.attentions, enc.tokens, enc.token_type_ids.index(1)


@pytest.fixture
def fresh_loader():
    bo.loader.cache_clear()
    yield
    bo.loader.cache_clear()


def params_of(page: str) -> dict:
    """The JSON bertviz's script is given (`const params = {...}; ...`)."""
    start = page.index("const params = ") + len("const params = ")
    return json.JSONDecoder().raw_decode(page, start)[0]


def scripts_of(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", page, re.S)


def test_head_view_page_has_no_cdn_and_inlines_the_installed_libraries(pair_attention):
    attentions, tokens, b_start = pair_attention
    view = bo.head_view(attentions, tokens, b_start)
    assert isinstance(view, bo.BertvizView)
    page = view.html
    assert "cdnjs" not in page and not re.search(r"<script[^>]+src=", page)
    requirejs, libraries, bertviz_script = scripts_of(page)                 # in this order
    assert "require.config" not in bertviz_script                          # its CDN paths are gone
    assert bo.library_path("requirejs").read_text() in requirejs
    assert requirejs.lstrip().startswith('if (typeof window.requirejs === "undefined")')  # never a second copy
    for name in ("d3", "jquery"):
        assert bo.library_path(name).read_text() in libraries
    assert libraries.index("var define, module, exports;") < libraries.index("d3js.org")  # AMD hidden first
    assert 'window.define("d3"' in libraries and 'window.define("jquery"' in libraries
    assert "requirejs(['jquery', 'd3']" in bertviz_script                  # bertviz asks by those names


def test_head_view_json_is_our_attention(pair_attention):
    attentions, tokens, b_start = pair_attention
    page = bo.head_view(attentions, tokens, b_start, layer=2, heads=[0, 3]).html
    params = params_of(page)
    assert page.count('"attention": [') == 1, "the JSON must be in the page once (bertviz pastes it twice)"
    assert params["layer"] == 2 and params["heads"] == [0, 3]
    views = {view["name"]: view for view in params["attention"]}
    weights = torch.stack([a[0] for a in attentions])                      # (L, nh, T, T)
    everything = torch.tensor(views["All"]["attn"], dtype=torch.float64)
    torch.testing.assert_close(everything, weights.double().round(decimals=3), rtol=0, atol=1e-12)
    torch.testing.assert_close(everything, weights.double(), rtol=0, atol=5e-4)
    assert views["All"]["left_text"] == tokens == views["All"]["right_text"]
    a_to_b = views["Sentence A -> Sentence B"]
    assert a_to_b["left_text"] == tokens[:b_start] and a_to_b["right_text"] == tokens[b_start:]
    torch.testing.assert_close(torch.tensor(a_to_b["attn"], dtype=torch.float64),
                               weights[:, :, :b_start, b_start:].double(), rtol=0, atol=5e-4)


def test_model_view_json_and_layer_subset(pair_attention):
    attentions, tokens, _ = pair_attention
    view = bo.model_view(attentions, tokens, layers=[1, 4])
    params = params_of(view.html)
    assert params["include_layers"] == [1, 4] and params["display_mode"] == "light"
    drawn = torch.tensor(params["attention"][0]["attn"], dtype=torch.float64)
    torch.testing.assert_close(drawn, torch.stack([attentions[1][0], attentions[4][0]]).double(), rtol=0, atol=5e-4)
    assert "cdnjs" not in view.html
    assert repr(view).startswith("bertviz model view: 6 layers x 12 heads over")


def test_views_accept_a_stacked_tensor_and_pick_the_example():
    weights = torch.rand(2, 3, 2, 4, 4).softmax(-1)                         # layers as a list of (B=3, nh, T, T)
    view = bo.head_view(list(weights), ["[CLS]", "a", "b", "[SEP]"], example=2)
    drawn = torch.tensor(params_of(view.html)["attention"][0]["attn"], dtype=torch.float64)
    torch.testing.assert_close(drawn, weights[:, 2].double(), rtol=0, atol=5e-4)


def test_wrong_arguments_raise_instead_of_falling_back(pair_attention):
    attentions, tokens, _ = pair_attention
    with pytest.raises(ValueError, match="tokens for attention over"):
        bo.head_view(attentions, tokens[:-1])
    with pytest.raises(ValueError, match="sentence_b_start"):
        bo.head_view(attentions, tokens, sentence_b_start=0)
    with pytest.raises(IndexError, match="layer 6"):
        bo.head_view(attentions, tokens, layer=6)
    with pytest.raises(IndexError, match="head 12"):
        bo.model_view(attentions, tokens, heads=[12])
    with pytest.raises(ValueError, match="display_mode"):
        bo.model_view(attentions, tokens, display_mode="blue")


def test_missing_library_falls_back_to_the_matplotlib_heads(pair_attention, monkeypatch, capsys, fresh_loader):
    attentions, tokens, _ = pair_attention
    monkeypatch.setitem(bo.LIBRARIES, "d3", ("mpld3", "js/no-such-d3.js"))
    shown = bo.head_view(attentions, tokens, layer=3)
    notice = capsys.readouterr().out
    assert isinstance(shown, Figure) and notice.count("\n") == 1
    assert "no-such-d3.js" in notice and "the heads of layer 3" in notice
    panels = [ax for ax in shown.axes if ax.images]
    assert len(panels) == 12
    torch.testing.assert_close(torch.as_tensor(panels[5].images[0].get_array()), attentions[3][0, 5])


def test_missing_package_falls_back_too(pair_attention, monkeypatch, capsys, fresh_loader):
    attentions, tokens, _ = pair_attention
    monkeypatch.setitem(bo.LIBRARIES, "requirejs", ("no_such_package_for_bertviz", "require.js"))
    shown = bo.model_view(attentions, tokens)
    assert "pip install no_such_package_for_bertviz" in capsys.readouterr().out
    thumbnails = [ax for ax in shown.axes if ax.images]                    # the model view's stand-in
    assert len(thumbnails) == 6 * 12
    torch.testing.assert_close(torch.as_tensor(thumbnails[12 * 4 + 7].images[0].get_array()), attentions[4][0, 7])


def test_without_bertviz_the_stand_in_is_shown(pair_attention, monkeypatch, capsys):
    attentions, tokens, _ = pair_attention
    monkeypatch.setitem(__import__("sys").modules, "bertviz", None)       # import bertviz -> ImportError
    assert isinstance(bo.head_view(attentions, tokens), Figure)
    assert "matplotlib" in capsys.readouterr().out


def test_a_changed_bertviz_page_is_refused():
    with pytest.raises(bo.OfflineUnavailable, match="bertviz==1.4.1"):
        bo.offline_html("<div id='bertviz-x'></div><script>requirejs(['d3'], function (d3) {});</script>")


@pytest.mark.browser
def test_views_draw_in_chromium_with_the_network_cut(pair_attention, tmp_path):
    """Two head views and a model view on one page, opened with every http(s) request refused."""
    from test_browser import CHROMIUM, require_chromium  # one rule: fail in CI without Chromium, skip elsewhere
    from playwright.sync_api import sync_playwright

    require_chromium()
    attentions, tokens, b_start = pair_attention
    views = [bo.head_view(attentions, tokens, b_start), bo.model_view(attentions, tokens),
             bo.head_view(attentions, tokens)]
    page_file = tmp_path / "views.html"
    page_file.write_text("<html><body>" + "".join(v.html for v in views) + "</body></html>", encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        errors, remote = [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.route("http*://**", lambda route: (remote.append(route.request.url), route.abort()))
        page.goto(page_file.as_uri())
        page.wait_for_function("() => [...document.querySelectorAll('[id^=bertviz-]')]"
                               ".every(view => view.querySelectorAll('svg text').length > 0)", timeout=30_000)
        drawn = page.evaluate("() => [...document.querySelectorAll('[id^=bertviz-]')]"
                              ".map(v => v.querySelectorAll('svg').length)")
        leaked = page.evaluate("() => [typeof window.d3, typeof window.jQuery]")
        browser.close()
    assert not errors and not remote, (errors, remote)
    assert drawn == [1, 1, 1]
    assert leaked == ["undefined", "undefined"], "d3 and jQuery stay private to the views"
