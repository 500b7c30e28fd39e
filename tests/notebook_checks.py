"""What one execution of a course notebook must show, wherever it ran.

`make test` executes every notebook once: in JupyterLab in a real Chromium (tests/test_browser.py) for
the notebooks whose widgets and views the browser test drives, with nbclient (tests/test_notebooks.py)
for the others, or for all of them where no Chromium is installed. Either run is held to the same
checks: the cells tagged `nbval-check-output` print what is committed (nbval-lax's rules,
tests/nbval_sanitize.cfg), no output over 200 kB, at most 90 s top to bottom; its time goes to the
git-ignored tests/artifacts/notebook_times.json.
"""
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run_notebooks  # noqa: E402

TIME_LIMIT = 90  # seconds, top to bottom, on the 2-core reference machine
CHROMIUM = Path("/usr/bin/chromium")
# notebook number -> what it must show in JupyterLab; with Chromium there, the browser run is its execution
IN_BROWSER = {"01": {"slider"}, "04": {"bertviz"}, "05": {"slider"}, "10": {"qa question"}}


def runs_in_browser(path: Path) -> bool:
    """Does tests/test_browser.py execute (and so check) this notebook on this machine?"""
    return CHROMIUM.is_file() and path.stem[:2] in IN_BROWSER


def check_execution(path: Path, executed: nbformat.NotebookNode, seconds: float) -> None:
    """Assert that `executed` (the notebook at `path`, run top to bottom in `seconds`) is what is committed."""
    committed = nbformat.read(path, as_version=4)
    run_notebooks.record_times({path.stem: seconds}, run_notebooks.TEST_TIMES)
    differences = run_notebooks.checked_output_differences(committed, executed)
    assert not differences, f"{path.name}: outputs tagged nbval-check-output changed:\n" + "\n".join(differences)
    run_notebooks.strip_tagged_outputs(executed)
    assert not run_notebooks.heavy_outputs(executed), \
        f"{path.name} now makes outputs over 200 kB: {run_notebooks.heavy_outputs(executed)}"
    assert seconds <= TIME_LIMIT, f"{path.name} took {seconds:.0f} s; the course promises at most {TIME_LIMIT} s"
