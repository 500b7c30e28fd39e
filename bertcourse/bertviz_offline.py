"""bertviz's head view and model view on our model's attentions, rendered with no network.

bertviz fetches require.js, d3 and jQuery from cdnjs.cloudflare.com. Offline, the view stays blank; and in
JupyterLab 4 the first view often fails anyway ("require is not defined"), because bertviz's script runs
before the require.js it asked for has arrived. So we take bertviz's own page (html_action="return") and
swap its CDN scripts for inline copies of the files that installed packages ship (d3 5.7.0 in mpld3, jQuery
and require.js in nbclassic), in an order that cannot race. Nothing third-party is stored in this
repository. Where a piece is missing, the matplotlib grid of heads stands in, with a one-line notice.

Committed notebooks stay light: a view is ~0.5 MB of HTML (the three libraries and the attention JSON),
so the cells that show one are tagged ``strip-output`` and the notebook runner keeps only their one-line
text summary.
"""
from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import torch
from matplotlib.figure import Figure

from .viz.attention import attention_heads, attention_overview, attention_stack

# library -> (package that ships it, path inside that package)
LIBRARIES = {"d3": ("mpld3", "js/d3.v5.min.js"),
             "jquery": ("nbclassic", "static/components/jquery/dist/jquery.min.js"),
             "requirejs": ("nbclassic", "static/components/requirejs/require.js")}
# the two places bertviz 1.4.1 points at the CDN: a <script src> for require.js, and require.config paths
CDN_SCRIPT = re.compile(r'<script src="https://cdnjs\.cloudflare\.com/[^"]*/require\.min\.js"></script>')
CDN_PATHS = re.compile(r"require\.config\(\{\s*paths:\s*\{[^{}]*\}\s*\}\);")
# bertviz's template comment names its marker, so the attention JSON is pasted into the comment too
SECOND_COPY = re.compile(r"// HACK: .*? is a template marker that is replaced by actual params\.")

# 1) require.js only if the page has none (a second view must not replace the first one's modules);
# 2) d3 and jQuery with AMD and CommonJS hidden, so they attach to `lib` instead of registering anonymously
#    (which require.js rejects), then registered under the names bertviz asks for;
# 3) bertviz's own script follows in the same output, so everything it needs is already defined.
LOADER = """<script type="text/javascript">
if (typeof window.requirejs === "undefined") {{
{requirejs}
}}
</script>
<script type="text/javascript">
(function () {{
  var define, module, exports;
  var lib = {{}};
  (function () {{
{d3}
  }}).call(lib);
{jquery}
  lib.jquery = window.jQuery.noConflict(true);
  if (!window.require.specified("d3")) window.define("d3", [], function () {{ return lib.d3; }});
  if (!window.require.specified("jquery")) window.define("jquery", [], function () {{ return lib.jquery; }});
}})();
</script>
"""


class OfflineUnavailable(RuntimeError):
    """bertviz cannot render offline here: a package or file is missing, or bertviz's page changed."""


def library_path(name: str) -> Path:
    """Where an installed package keeps the library, found without importing the package."""
    package, relative = LIBRARIES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise OfflineUnavailable(f"{name} comes from the {package} package, which is not installed "
                                 f"(pip install {package})")
    path = Path(spec.submodule_search_locations[0]) / relative
    if not path.is_file():
        raise OfflineUnavailable(f"{package} is installed but lacks {relative}; reinstall {package}")
    return path


@cache
def loader() -> str:
    """The inline <script> blocks that stand in for bertviz's CDN (read once per session)."""
    source = {name: library_path(name).read_text(encoding="utf-8").replace("</script", "<\\/script")
              for name in LIBRARIES}
    return LOADER.format(**source)


def offline_html(page: str) -> str:
    """bertviz's html_action="return" page -> the same page with the CDN replaced by inline libraries."""
    page, n_scripts = CDN_SCRIPT.subn(lambda _: loader(), page)
    page, n_paths = CDN_PATHS.subn("", page)
    page = SECOND_COPY.sub("", page, count=1)
    if (n_scripts, n_paths) != (1, 1):
        raise OfflineUnavailable("bertviz's page no longer loads require.js, d3 and jQuery the way bertviz "
                                 "1.4.1 does, so they cannot be swapped for local copies; pin bertviz==1.4.1")
    return page


@dataclass(frozen=True)
class BertvizView:
    """The page for JupyterLab (text/html) and a one-line summary for everything else (text/plain)."""
    html: str
    summary: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.summary


def head_view(attentions: Sequence[torch.Tensor] | torch.Tensor, tokens: Sequence[str],
              sentence_b_start: int | None = None, layer: int = 0, heads: Sequence[int] | None = None,
              example: int = 0, decimals: int = 3) -> BertvizView | Figure:
    """bertviz's head view: lines from each token to the tokens it attends to, one colour per head.

    attentions: the model's out.attentions (L tensors (B, nh, T, T)) or one (L, nh, T, T) tensor;
    tokens: the T tokens of that example; sentence_b_start: index of the first token of sentence B
    (enc.token_type_ids.index(1)), which adds bertviz's A->B / B->A filter.
    """
    weights = _checked(attentions, tokens, sentence_b_start, example, [layer], heads, decimals)
    fallback = partial(attention_heads, weights[layer], list(tokens), layer=layer)
    return _render("head_view", weights, list(tokens), decimals, dict(
        sentence_b_start=sentence_b_start, layer=layer, heads=None if heads is None else list(heads)),
        fallback, f"the heads of layer {layer}")


def model_view(attentions: Sequence[torch.Tensor] | torch.Tensor, tokens: Sequence[str],
               sentence_b_start: int | None = None, layers: Sequence[int] | None = None,
               heads: Sequence[int] | None = None, example: int = 0, display_mode: str = "light",
               decimals: int = 3) -> BertvizView | Figure:
    """bertviz's model view: one thumbnail per head of every layer (rows: layers); click one to enlarge it."""
    weights = _checked(attentions, tokens, sentence_b_start, example, layers, heads, decimals)
    if display_mode not in ("light", "dark"):
        raise ValueError(f"display_mode {display_mode!r}: use 'light' or 'dark'")
    fallback = partial(attention_overview, weights, list(tokens))
    return _render("model_view", weights, list(tokens), decimals, dict(
        sentence_b_start=sentence_b_start, display_mode=display_mode,
        include_layers=None if layers is None else list(layers), include_heads=None if heads is None else list(heads)),
        fallback, "every layer and head")


def _checked(attentions, tokens, sentence_b_start, example, layers, heads, decimals) -> torch.Tensor:
    """Our own checks first, so a wrong argument gets a clear error and never the silent fallback."""
    weights = attention_stack(attentions, example)                          # (L, nh, T, T)
    L, n_heads, T, _ = weights.shape
    if len(tokens) != T:
        raise ValueError(f"{len(tokens)} tokens for attention over {T} positions: pass the tokens of the "
                         "encoding the model read (enc.tokens)")
    if sentence_b_start is not None and not 0 < sentence_b_start < T:
        raise ValueError(f"sentence_b_start {sentence_b_start} must lie in 1..{T - 1}: the index of the first "
                         "token of sentence B (enc.token_type_ids.index(1))")
    for name, values, n in (("layer", layers, L), ("head", heads, n_heads)):
        bad = [v for v in values or () if not 0 <= v < n]
        if bad:
            raise IndexError(f"{name} {bad[0]} is outside 0..{n - 1}")
    if decimals < 1:
        raise ValueError(f"decimals={decimals}: keep at least 1 decimal of the weights")
    return weights


def _render(kind: str, weights: torch.Tensor, tokens: list[str], decimals: int, options: dict,
            fallback: Callable[[], Figure], fallback_shows: str) -> BertvizView | Figure:
    """bertviz's page made offline or, where that cannot be done, the matplotlib figure `fallback`."""
    L, n_heads, T, _ = weights.shape
    try:
        import bertviz
        # rounded float64 so the JSON holds "0.123", not float32's "0.12300000339746475" (4x smaller)
        rounded = [w.double().round(decimals=decimals)[None] for w in weights]  # L x (1, nh, T, T)
        page = getattr(bertviz, kind)(rounded, tokens, html_action="return", **options).data
        html = offline_html(page)
    except (ImportError, OfflineUnavailable) as error:
        print(f"bertviz 无法离线显示 (cannot render offline): {error}. Showing {fallback_shows} with matplotlib instead.")
        return fallback()
    summary = (f"bertviz {kind.replace('_', ' ')}: {L} layers x {n_heads} heads over {T} tokens "
               "(run this cell in JupyterLab to see and explore it)")
    return BertvizView(html, summary)
