"""The course notebooks: committed clean, executed, light; and each runs top to bottom without an error.

`make test` also runs `pytest --nbval-lax notebooks/`, which compares the cells marked
`# NBVAL_CHECK_OUTPUT` with their committed outputs. The execution here (nbclient) adds what nbval-lax
lets pass, such as a mistyped %magic, measures each notebook's run time (benchmarks/notebook_times.json,
the README's table) and holds it to the course's promise of at most 90 s on 2 CPU cores.
The checks on the committed files are quick and run in `make test-fast` too.
"""
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

from bertcourse.exercises import EXERCISES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run_notebooks  # noqa: E402

NOTEBOOKS = run_notebooks.notebook_paths()
TIME_LIMIT = 90  # seconds, top to bottom, on the 2-core reference machine
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
    assert not any(heavy.values()), f"outputs over 100 kB: {heavy}; tag the cells 'strip-output' and {RERUN}"
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
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_and_fast(path):
    nb, seconds = run_notebooks.execute(path)  # raises CellExecutionError, with the cell, on any error
    run_notebooks.record_times({path.stem: seconds})
    run_notebooks.strip_tagged_outputs(nb)
    assert not run_notebooks.heavy_outputs(nb), \
        f"{path.name} now makes outputs over 100 kB: {run_notebooks.heavy_outputs(nb)}"
    assert seconds <= TIME_LIMIT, f"{path.name} took {seconds:.0f} s; the course promises at most {TIME_LIMIT} s"


def test_timings_file_holds_every_notebook():
    data = json.loads(run_notebooks.TIMES.read_text(encoding="utf-8"))
    missing = {p.stem for p in NOTEBOOKS} - data["seconds"].keys()
    assert not missing, f"no run time recorded for {sorted(missing)}: {RERUN}"
