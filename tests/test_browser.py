"""The notebooks in JupyterLab in a real headless Chromium: they run, their widgets answer, bertviz draws.

JupyterLab serves a temporary copy of notebooks/ (so autosave never touches the committed files) on
127.0.0.1, on a port the OS picks, without a token. Playwright for Python drives Debian's Chromium
(`apt-get install chromium`; `playwright install` would download a browser, which CI must not do).
For each notebook: run all cells, then no error output and no "require is not defined" (bertviz's
offline failure), a slider moved changes the figure beside it, a bertviz view has its SVG drawn, a new
question typed into the QA explorer redraws its probability plots. That run is the notebook's one execution
in `make test`: saved from JupyterLab, it is held to the checks an nbclient run would be (notebook_checks.py).
Screenshots go to tests/artifacts/ (git-ignored). With CI=true a missing Chromium fails the test.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from notebook_checks import CHROMIUM, IN_BROWSER, check_execution
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
RUN_ALL_TIMEOUT = 240_000  # ms: a notebook runs in about 60 s; the browser adds rendering on the same 2 cores

pytestmark = pytest.mark.browser
LAB_ROOTS: dict[str, Path] = {}  # a served JupyterLab's URL -> the folder it serves

# JavaScript run in the page (JupyterLab exposes itself as window.jupyterapp with expose_app_in_browser).
PANEL = "window.jupyterapp.shell.currentWidget"
KERNEL_IDLE = f"""() => {{
    const panel = window.jupyterapp && {PANEL};
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
                   && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle';
}}"""
RUN_ALL = f"""() => {{
    window.runAllResult = undefined;
    window.jupyterapp.commands.execute('notebook:run-all-cells')
        .then(ok => {{ window.runAllResult = ok; }}, error => {{ window.runAllResult = String(error); }});
}}"""
PROBLEMS = f"""() => {{
    const problems = [];
    for (const cell of {PANEL}.content.model.cells) {{
        if (cell.type !== 'code' || !cell.sharedModel.source.trim()) continue;
        const head = cell.sharedModel.source.slice(0, 60);
        if (cell.executionCount === null) problems.push('not run: ' + head);
        for (const out of cell.outputs.toJSON()) {{
            const text = [].concat(out.text || '').join('');
            if (out.output_type === 'error') problems.push(out.ename + ': ' + out.evalue + ' in ' + head);
            if (out.output_type === 'stream' && /UsageError|Traceback/.test(text)) problems.push(text.slice(0, 200));
        }}
    }}
    // a failing Javascript output is shown (not stored) as stderr text: "Javascript Error: require is not defined"
    for (const node of document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')) {{
        if (/require is not defined|Javascript Error/.test(node.textContent)) problems.push(node.textContent.slice(0, 200));
    }}
    return problems;
}}"""
FIGURE = ".jp-OutputArea-output :is(img, svg, table)"
BERTVIZ_DRAWN = """() => [...document.querySelectorAll('[id^="bertviz-"]')].every(
    view => view.querySelectorAll('svg text').length > 0) && !!document.querySelector('[id^="bertviz-"]')"""


def require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium` (never `playwright install`)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


def write_settings(directory: Path) -> None:
    """Render every cell (no windowing, so all outputs are in the DOM) and never ask about news."""
    settings = {"notebook-extension/tracker": {"windowingMode": "none"},
                "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}
    for name, values in settings.items():
        path = directory / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The base URL of a JupyterLab serving a copy of the repository's notebooks/ (and data/, benchmarks/: the
    notebooks read the committed result files there, as in the repository)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "data").symlink_to(ROOT / "data")
    (root / "benchmarks").symlink_to(ROOT / "benchmarks")
    write_settings(root / "settings")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces")}
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0",
         "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = wait_for_server(root / "runtime", server, root / "lab.log")
        LAB_ROOTS[url] = root
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def wait_for_server(runtime: Path, server: subprocess.Popen, log: Path, timeout: float = 60) -> str:
    """The server writes jpserver-PID.json with its URL once it listens; then /api/status answers.
    The file is not written atomically: it may be seen empty or half-written, so read it until it parses."""
    deadline = time.monotonic() + timeout
    info = runtime / f"jpserver-{server.pid}.json"
    while time.monotonic() < deadline and server.poll() is None:
        try:
            url = json.loads(info.read_text())["url"]
            urllib.request.urlopen(url + "api/status", timeout=5)
            return url
        except (OSError, ValueError, KeyError):  # not there yet, half-written, or not listening yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"JupyterLab did not start within {timeout} s:\n{log.read_text()[-3000:]}")


def test_waiting_for_the_server_survives_its_info_file_being_half_written(tmp_path):
    """CI once read jpserver-PID.json while JupyterLab was still writing it (JSONDecodeError)."""
    import functools
    import http.server
    import threading
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    status = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=status.serve_forever, daemon=True).start()
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "status").write_text("{}")
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    info = tmp_path / f"jpserver-{server.pid}.json"
    info.write_text("")                                          # seen empty first, then half-written
    url = f"http://127.0.0.1:{status.server_address[1]}/"
    later = threading.Timer(0.5, lambda: info.write_text('{"url": "' + url[:10]))
    final = threading.Timer(1.0, lambda: info.write_text(json.dumps({"url": url})))
    later.start(), final.start()
    try:
        log = tmp_path / "lab.log"
        log.write_text("")
        assert wait_for_server(tmp_path, server, log, timeout=20) == url
    finally:
        server.kill()
        status.shutdown()


def notebook_for(number: str) -> Path:
    found = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    assert found, f"no notebook {number}_*.ipynb in notebooks/"
    return found[0]


def move_a_slider(page, name: str) -> bool:
    """Move the first slider that sits beside a figure by one step and assert the figure changes.
    A figure is a PNG (matplotlib, or a widget's picture), an SVG or an HTML heatmap table. False if none."""
    cells = page.locator(".jp-Notebook .jp-CodeCell").filter(has=page.locator(".widget-slider")).filter(
        has=page.locator(FIGURE))
    if cells.count() == 0:
        return False
    cell = cells.first
    before = cell.locator(FIGURE).evaluate_all("nodes => nodes.map(node => node.outerHTML).join()")
    cell.screenshot(path=ARTIFACTS / f"{name}-slider-before.png")
    handle = cell.locator(".widget-slider .noUi-handle").first
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    handle.press("ArrowLeft" if at_max else "ArrowRight")
    try:
        page.wait_for_function(
            """([cell, selector, before]) => {
                   const now = [...cell.querySelectorAll(selector)].map(node => node.outerHTML).join();
                   return now.length > 0 && now !== before; }""",
            arg=[cell.element_handle(), FIGURE, before], timeout=60_000)
    except PlaywrightTimeout:
        pytest.fail(f"{name}: moving the slider ({handle.get_attribute('aria-valuenow')} now) did not change the "
                    f"figure beside it within 60 s; see {ARTIFACTS / (name + '.png')}")
    cell.screenshot(path=ARTIFACTS / f"{name}-slider-after.png")
    return True


def ask_another_question(page, name: str) -> bool:
    """Type a new question into the QA explorer (a passage Textarea, a question Text, its bars and score
    grid) and press Enter; assert the view changes. False if the notebook has no such explorer."""
    # a visible passage box: the fill-mask head ablation carries a hidden one and is not a QA explorer
    cells = page.locator(".jp-Notebook .jp-CodeCell").filter(has=page.locator(".widget-textarea:visible")).filter(
        has=page.locator(".widget-text input")).filter(has=page.locator(FIGURE))
    if cells.count() == 0:
        return False
    cell = cells.first
    cell.screenshot(path=ARTIFACTS / f"{name}-question-before.png")
    question = cell.locator(".widget-text input").first
    view_changes(page, cell, lambda: (question.fill("What is this passage about?"), question.press("Enter")),
                 f"{name}: a new question in the QA explorer")
    cell.screenshot(path=ARTIFACTS / f"{name}-question-after.png")
    return True


def run_all_cells(page, lab: str, name: str) -> float:
    """Open notebooks/NAME in JupyterLab, run every cell, wait until the kernel is idle: no error shown.
    Returns the seconds from "run all" to the idle kernel."""
    page.goto(f"{lab}lab/tree/notebooks/{name}?reset", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    start = time.perf_counter()
    page.evaluate(RUN_ALL)
    page.wait_for_function("() => window.runAllResult !== undefined", timeout=RUN_ALL_TIMEOUT)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    seconds = time.perf_counter() - start
    problems = page.evaluate(PROBLEMS)
    assert not problems, f"{name} in JupyterLab: {problems}"
    return seconds


def saved_notebook(page, lab: str, name: str) -> nbformat.NotebookNode:
    """The open notebook as JupyterLab saves it (its outputs as run in the browser)."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")  # resolves once written
    return nbformat.read(LAB_ROOTS[lab] / "notebooks" / name, as_version=4)


def view_changes(page, cell, act, what: str) -> None:
    """Do `act` (a student's move) and wait until the cell's output (everything it shows) is different."""
    output = cell.locator(".jp-OutputArea").first
    before = output.evaluate("node => node.innerHTML")
    act()
    try:
        page.wait_for_function("([node, before]) => node.innerHTML !== before",
                               arg=[output.element_handle(), before], timeout=60_000)
    except PlaywrightTimeout:
        pytest.fail(f"{what} did not change the view within 60 s")


def settled(cell, what: str) -> None:
    """Wait until no picture in the cell is still faded as waiting for its model (widgets.compare.STALE):
    an update drawn in steps must end with every picture drawn and shown at full strength."""
    from bertcourse.widgets.compare import STALE

    try:
        cell.locator(f".{STALE}").first.wait_for(state="detached", timeout=60_000)
    except PlaywrightTimeout:
        pytest.fail(f"{what} left a picture faded ({STALE}) 60 s after the move")
    assert cell.locator(f".{STALE}").count() == 0


@pytest.mark.parametrize("number", sorted(IN_BROWSER))
def test_notebook_runs_and_its_views_work_in_jupyterlab(browser, lab, number):
    path = notebook_for(number)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(str(error)))
    try:
        seconds = run_all_cells(page, lab, path.name)
        assert page.evaluate("window.runAllResult") is True, f"run all cells of {path.name} did not succeed"
        check_execution(path, saved_notebook(page, lab, path.name), seconds)  # before any widget is moved
        assert not [m for m in console if "require is not defined" in m], console

        shown = set()
        if move_a_slider(page, path.stem):
            shown.add("slider")
        if ask_another_question(page, path.stem):
            shown.add("qa question")
        if page.locator('[id^="bertviz-"]').count():
            try:
                page.wait_for_function(BERTVIZ_DRAWN, timeout=30_000)
            except PlaywrightTimeout:
                pytest.fail(f"{path.name}: a bertviz view drew no SVG within 30 s (offline JavaScript missing?)")
            page.locator('[id^="bertviz-"]').first.screenshot(path=ARTIFACTS / f"{path.stem}-bertviz.png")
            shown.add("bertviz")
        assert IN_BROWSER[number] <= shown, f"{path.name} shows {sorted(shown)}, needs {sorted(IN_BROWSER[number])}"
        problems = page.evaluate(PROBLEMS)
        assert not problems, f"{path.name} after moving the widgets: {problems}"
    finally:
        page.screenshot(path=ARTIFACTS / f"{path.stem}.png")
        page.evaluate("() => window.jupyterapp && window.jupyterapp.serviceManager.sessions.shutdownAll()")
        page.close()


# ---- every widget of bertcourse.widgets, on tiny random models (no notebook's own cells needed) --------
WIDGET_SETUP = """import torch
from bertcourse import BertConfig, BertForPreTraining, BertForQuestionAnswering, BertForSequenceClassification
from bertcourse import BertModel, BertTokenizer, widgets as w
from bertcourse.data import load_corpus
from bertcourse.tasks import get_task
from bertcourse.tasks.common import label_accuracy
from bertcourse.training import Trainer, TrainingConfig
tok = BertTokenizer.from_pretrained()
torch.manual_seed(0)
cfg = BertConfig.tiny(vocab_size=len(tok))
pre, qa_model, other = BertForPreTraining(cfg).eval(), BertForQuestionAnswering(cfg).eval(), BertModel(cfg).eval()
task = get_task("sentiment")
train, dev = (task.featurize(task.load(s)[:n], tok, 32) for s, n in (("train", 16), ("dev", 8)))
"""
# marker comment -> (code, what the student does: a function of (page, cell))
WIDGET_CELLS = {
    "wordpiece": ("w.wordpiece_steps(tok, 'Unaffable tokenizers')",
                  lambda page, cell: (cell.locator(".widget-text input").first.fill("playing snowboards"),
                                      cell.locator(".widget-text input").first.press("Enter"))),
    "pairs": ("w.sentence_pair_playground(pre, tok, load_corpus('course-heldout')[:6])",
              lambda page, cell: cell.locator("button", has_text="真正接在 A 后面").click()),
    "masking": ("w.masking_playground(tok, draws=200, model=pre)",
                lambda page, cell: (cell.locator(".widget-slider .noUi-handle").first.focus(),
                                    cell.locator(".widget-slider .noUi-handle").first.press("ArrowRight"))),
    "side by side": ("w.attention_comparison({'a': pre, 'b': other}, tok, 'Dogs chase cats.')",
                     lambda page, cell: (cell.locator(".widget-text input").first.fill("The old cat sleeps."),
                                         cell.locator(".widget-text input").first.press("Enter"))),
    "ablation": ("w.head_ablation(pre, tok, 'The cat sat on the [MASK].')",
                 lambda page, cell: cell.locator(".widget-select-multiple select").first.select_option(index=1)),
    "qa": ("w.qa_explorer(qa_model, tok, 'Who designed it?', 'It was designed by Gustave Eiffel in Paris. ' * 30)",
           lambda page, cell: (cell.locator(".widget-text input").first.fill("Where is it?"),
                               cell.locator(".widget-text input").first.press("Enter"))),
    "race": ("w.FinetuneRace({name: Trainer(BertForSequenceClassification(BertConfig.tiny(vocab_size=len(tok), "
             "num_labels=2)), train, task.collate, TrainingConfig(steps=4, batch_size=8, eval_every=2, progress=False), "
             "dev, label_accuracy) for name in ('a', 'b')}, eval_every=2)",
             lambda page, cell: cell.locator("button", has_text="开始比赛").click()),
}


def test_every_widget_answers_a_move_in_jupyterlab(browser, lab):
    """A scratch notebook shows each widget on tiny models; each gets one move and must change its view."""
    import nbformat

    root = LAB_ROOTS[lab]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(WIDGET_SETUP)] + [
        nbformat.v4.new_code_cell(f"# widget: {name}\n{code}") for name, (code, _) in WIDGET_CELLS.items()]
    notebook.metadata.kernelspec = nbformat.read(notebook_for("01"), as_version=4).metadata.kernelspec  # no prompt
    nbformat.write(notebook, root / "notebooks" / "widgets_check.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        run_all_cells(page, lab, "widgets_check.ipynb")
        for name, (_, act) in WIDGET_CELLS.items():
            cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=f"# widget: {name}").first
            cell.scroll_into_view_if_needed()
            view_changes(page, cell, lambda: act(page, cell), f"the {name} widget")
            settled(cell, f"the {name} widget")
            cell.screenshot(path=ARTIFACTS / f"widget-{name.replace(' ', '-')}.png")
        problems = page.evaluate(PROBLEMS)
        assert not problems, f"the widgets after their moves: {problems}"
    finally:
        page.screenshot(path=ARTIFACTS / "widgets_check.png")
        page.evaluate("() => window.jupyterapp && window.jupyterapp.serviceManager.sessions.shutdownAll()")
        page.close()
