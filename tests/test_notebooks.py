"""The course notebooks: committed clean, executed, light; and each runs top to bottom without an error.

Each notebook is executed once in `make test`, and that one run does everything (tests/notebook_checks.py):
it fails on any error (a mistyped %magic included, which `pytest --nbval-lax` lets pass), compares the
cells tagged `nbval-check-output` with their committed outputs by nbval-lax's rules and
tests/nbval_sanitize.cfg, and holds the notebook to the course's promise of at most 90 s on 2 CPU cores.
The notebooks the browser test drives run there, in JupyterLab (with Chromium installed); the others run
here, with nbclient (`test_notebook_runs_clean_and_fast`). Their times go to the git-ignored
tests/artifacts/notebook_times.json, so the tracked benchmarks/notebook_times.json (the README's table,
written by `make notebooks`) is never rewritten here. The checks on the committed files are quick and run
in `make test-fast` too.
"""
import copy
import json
import re
from pathlib import Path

import nbformat
import pytest

from bertcourse.exercises import EXERCISES

from notebook_checks import check_execution, run_notebooks, runs_in_browser

NOTEBOOKS = run_notebooks.notebook_paths()
RUN_HERE = [p for p in NOTEBOOKS if not runs_in_browser(p)]  # the others run once, in tests/test_browser.py
RERUN = "re-run it with `make notebooks` (or `python benchmarks/run_notebooks.py NAME`)"
CHECK_CALL = re.compile(r"""check\(\s*["'](\d\d\.\d+)["']""")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


def test_committed_notebooks_are_light():
    heavy = {p.name: run_notebooks.heavy_outputs(read(p)) for p in NOTEBOOKS}
    assert not any(heavy.values()), f"outputs over 200 kB: {heavy}; tag the cells 'strip-output' and {RERUN}"
    total = sum(p.stat().st_size for p in NOTEBOOKS)
    assert total < run_notebooks.MAX_TOTAL_BYTES, f"notebooks/ holds {total / 1e6:.1f} MB; the budget is 5 MB"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_follows_the_conventions(path):
    nb = read(path)
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", path.stem), "name notebooks NN_name.ipynb"
    assert nb.nbformat == 4 and nb.metadata.kernelspec.name == "python3", "use the python3 kernel"
    assert nb.cells[0].cell_type == "markdown" and "学习目标" in nb.cells[0].source, \
        "cell 1 is the markdown introduction: title, 学习目标, the slides it follows, the outline"
    setup = nb.cells[1].source
    assert nb.cells[1].cell_type == "code" and "bertcourse" in setup and "torch.manual_seed(0)" in setup \
        and "%matplotlib inline" in setup, "cell 2 imports bertcourse, calls torch.manual_seed(0), %matplotlib inline"
    for cell in code_cells(nb):
        assert not re.search(r"pip install|!\s*(wget|curl)|snapshot_download", cell.source), \
            f"no installs or downloads in the notebooks: {cell.source[:80]!r}"
        assert not {run_notebooks.STRIP_TAG, run_notebooks.CHECK_TAG} <= set(tags(cell)), \
            "a cell whose output is stripped cannot also have its output checked"


def test_no_nbval_comment_is_left_in_a_notebook():
    """Test markers are cell tags (nbval-check-output, ...), not comment lines in the code students read."""
    marked = [f"{p.name}: {c.source[:60]!r}" for p in NOTEBOOKS for c in code_cells(read(p)) if "NBVAL_" in c.source]
    assert not marked, f"move these # NBVAL_ comments to cell tags (e.g. nbval-check-output): {marked}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_ran_top_to_bottom_without_errors(path):
    cells = code_cells(read(path))
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name} was not run top to bottom in one kernel: {RERUN}"
    for cell in cells:
        if "raises-exception" in tags(cell):
            continue
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} has a committed error in {cell.source[:80]!r}"
            assert not (output.output_type == "stream" and re.search(r"Traceback|UsageError", output.text)), \
                f"{path.name} has a committed error message in {cell.source[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exercises_are_registered_and_unanswered(path):
    nb = read(path)
    number = path.stem[:2]
    assert any(c.cell_type == "markdown" and "练习" in c.source for c in nb.cells), "end with a 练习 section"
    used = {i for c in code_cells(nb) for i in CHECK_CALL.findall(c.source)}
    registered = {i for i in EXERCISES if i.startswith(number + ".")}
    assert used, f"{path.name} calls check(...) for no exercise"
    assert used == registered, f"{path.name} checks {sorted(used)} but exercises.py registers {sorted(registered)}"
    for cell in code_cells(nb):
        if CHECK_CALL.search(cell.source):
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "✅" not in text, f"the committed notebook answers an exercise: {cell.source[:80]!r}"


def test_every_registered_exercise_has_its_notebook():
    numbers = {p.stem[:2] for p in NOTEBOOKS}
    orphans = sorted(i for i in EXERCISES if i[:2] not in numbers)
    assert not orphans, f"exercises.py registers {orphans}, but notebooks/ has no notebook with that number"


@pytest.mark.notebook
@pytest.mark.parametrize("path", RUN_HERE, ids=[p.stem for p in RUN_HERE])
def test_notebook_runs_clean_and_fast(path):
    nb, seconds = run_notebooks.execute(path)  # raises CellExecutionError, with the cell, on any error
    check_execution(path, nb, seconds)


def test_timings_file_holds_every_notebook():
    data = json.loads(run_notebooks.TIMES.read_text(encoding="utf-8"))
    missing = {p.stem for p in NOTEBOOKS} - data["seconds"].keys()
    assert not missing, f"no run time recorded for {sorted(missing)}: {RERUN}"


def scratch_notebook(*cells: tuple[str, list[str], list]) -> nbformat.NotebookNode:
    """A notebook of (source, tags, committed outputs) code cells, each marked as run."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for number, (source, cell_tags, outputs) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": cell_tags}, execution_count=number)
        cell.outputs = outputs
        nb.cells.append(cell)
    return nb


def stdout(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_checked_outputs_are_compared_as_nbval_lax_does():
    check, ignore = [run_notebooks.CHECK_TAG], ["nbval-ignore-output"]
    figure = {"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": "iVBORw0KGgo="}
    committed = scratch_notebook(("print(1)", check, [stdout("1\n")]),
                                 ("print(2)", check, [stdout("2\n")]),
                                 ("print(3)", ignore, [stdout("3\n")]),
                                 ("object()", check, [nbformat.v4.new_output(
                                     "execute_result", {"text/plain": "<object at 0x7f00aa11bb22>"})]),
                                 ("plot()", check, [nbformat.v4.new_output("display_data", figure)]),
                                 ("print(6)", check, [stdout("6\n")]))
    committed.cells[5].execution_count = None                           # committed unrun: nothing to compare
    executed = copy.deepcopy(committed)
    executed.cells[0].outputs = [stdout("1"), stdout("\n")]            # streams are merged before comparing
    executed.cells[1].outputs = [stdout("two\n")]                      # checked and changed: reported
    executed.cells[2].outputs = [stdout("three\n")]                    # not checked
    executed.cells[3].outputs[0].data["text/plain"] = "<object at 0x7fffee0011cc>"  # sanitized address
    executed.cells[4].outputs[0].data["image/png"] = "AAAA"            # pixels are not compared, as in nbval
    executed.cells[5].outputs = [stdout("anything\n")]
    differences = run_notebooks.checked_output_differences(committed, executed)
    assert len(differences) == 1 and differences[0].startswith("cell 1 ('print(2)'") and "two" in differences[0]
    executed.cells[4].outputs[0].data["text/plain"] = "<Figure size 640x480 with 2 Axes>"
    assert len(run_notebooks.checked_output_differences(committed, executed)) == 2


@pytest.mark.notebook
def test_execution_honours_the_nbval_tags_and_fails_on_a_mistyped_magic(tmp_path):
    from nbclient.exceptions import CellExecutionError

    path = tmp_path / "scratch.ipynb"
    nbformat.write(scratch_notebook(("raise SystemExit('skipped')", ["nbval-skip"], []),
                                    ("raise ValueError('allowed')", ["raises-exception"], []),
                                    ("print('ran')", [], [])), path)
    nb, seconds = run_notebooks.execute(path)
    assert nb.cells[0].outputs == [] and nb.cells[1].outputs[0].ename == "ValueError"
    assert nb.cells[2].outputs[0].text == "ran\n" and seconds > 0
    nbformat.write(scratch_notebook(("%matplotlb inline", [], [])), path)
    with pytest.raises(CellExecutionError, match="matplotlb"):
        run_notebooks.execute(path)


def test_a_test_run_writes_its_timings_to_an_ignored_file():
    import subprocess

    root = run_notebooks.ROOT
    ignored = subprocess.run(["git", "check-ignore", "-q", str(run_notebooks.TEST_TIMES)], cwd=root)
    assert ignored.returncode == 0, f"{run_notebooks.TEST_TIMES} must be git-ignored: a test run leaves the tree clean"
    assert run_notebooks.TEST_TIMES != run_notebooks.TIMES
