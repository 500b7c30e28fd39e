"""Execute the course notebooks in place, time them, and keep their committed outputs light.

    python benchmarks/run_notebooks.py                          # every notebooks/*.ipynb (`make notebooks`)
    python benchmarks/run_notebooks.py 02_transformer_encoder   # only these (names or paths)
    python benchmarks/run_notebooks.py --table                  # print the README's timing table

Each notebook runs top to bottom in a fresh `python3` kernel started from this interpreter, with
notebooks/ as its working directory; an error in any cell (a mistyped %magic included) stops the run
with that cell's traceback and leaves the file untouched. Then, before it is written back:

- Cells tagged `strip-output` keep only their text (printed lines, each output's text/plain) and a
  line saying the rest was dropped. Tag a cell whose output is heavy and only useful live, such as
  bertviz's head_view/model_view (hundreds of kB of inline JavaScript with random ids; the views of
  bertcourse.bertviz_offline carry a one-line text/plain summary, which stays). In JupyterLab: select the cell, open the property inspector
  (the gear icon on the right), add the tag `strip-output`; with nbformat:
  `cell.metadata.setdefault("tags", []).append("strip-output")`. Such a cell cannot also be tagged
  `nbval-check-output`, since its committed output is only that line.
- Any output still over 200 kB (the saved widget state counts as one) stops the run, naming the cell:
  tag it, or make it smaller (PNG figures at dpi 80-100).

The seconds each notebook took go to benchmarks/notebook_times.json, from which the README's table is
made. `make test` executes each notebook once (tests/test_notebooks.py with the same `execute`, or the
browser test in JupyterLab), compares the cells tagged `nbval-check-output` with their committed outputs
(`checked_output_differences`: nbval-lax's rules and tests/nbval_sanitize.cfg), and records its times in the
git-ignored tests/artifacts/notebook_times.json (`--times` reads or writes another file), so a test run
leaves the working tree clean.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbval.plugin import coalesce_streams, get_sanitize_patterns, transform_streams_for_comparison

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMES = Path(__file__).resolve().parent / "notebook_times.json"
TEST_TIMES = ROOT / "tests" / "artifacts" / "notebook_times.json"   # git-ignored: written by the test run
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
SKIP_TAG = "nbval-skip"
# What nbval does not compare (its IPyNbFile.skip_compare without --nbdime): volatile or binary parts.
SKIP_COMPARE = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}
STRIP_TAG = "strip-output"
CHECK_TAG = "nbval-check-output"       # the cells whose outputs must match the committed ones
MAX_OUTPUT_BYTES = 200_000        # one output (or a notebook's saved widget state): a 110-dpi figure fits
MAX_TOTAL_BYTES = 5_000_000       # all notebook files together
CELL_TIMEOUT = 300                # seconds; a notebook as a whole should take about 60 s
STRIPPED_NOTE = "[the rest of this output is not committed, to keep the notebook light: run the cell to see it]\n"


def notebook_paths(names: list[str] | None = None) -> list[Path]:
    """The notebooks to run: all of notebooks/*.ipynb, or the given names (with or without .ipynb) or paths."""
    if not names:
        return sorted(NOTEBOOKS.glob("*.ipynb"))
    paths = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            path = NOTEBOOKS / f"{path.stem}.ipynb"
        if not path.is_file():
            known = ", ".join(p.stem for p in sorted(NOTEBOOKS.glob("*.ipynb"))) or "none yet"
            raise FileNotFoundError(f"no notebook {name!r}; the notebooks are: {known}")
        paths.append(path)
    return paths


def execute(path: Path, cell_timeout: int = CELL_TIMEOUT) -> tuple[nbformat.NotebookNode, float]:
    """Run the notebook in a fresh kernel; return it with its new outputs and the seconds it took.

    Raises nbclient's CellExecutionError (with the cell and traceback) on any error, including the
    IPython UsageError of a mistyped magic that `pytest --nbval-lax` lets pass; cells tagged
    `raises-exception` are allowed to raise and cells tagged `nbval-skip` are not run, as in nbval.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", skip_cells_with_tag=SKIP_TAG,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def comparable(outputs: list, patterns: list[tuple[str, str]]) -> dict[str, list]:
    """nbval's view of a cell's outputs: streams merged by name, each output's parts keyed by kind
    (stdout, text/plain, ...; images and metadata left out), every string sanitized."""
    flat = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(copy.deepcopy(outputs))):
        for key, value in output.items():
            parts = value.items() if key == "data" else [(key, value)]
            for kind, part in parts:
                if key in SKIP_COMPARE or kind in SKIP_COMPARE:
                    continue
                for regex, replace in patterns if isinstance(part, str) else ():
                    part = re.sub(regex, replace, part)
                flat[kind].append(part)
    return dict(flat)


def checked_output_differences(committed: nbformat.NotebookNode, executed: nbformat.NotebookNode,
                               sanitize: Path = SANITIZE) -> list[str]:
    """What `pytest --nbval-lax` would report: every cell tagged `nbval-check-output` (and run when it was
    committed) must print what is committed, after tests/nbval_sanitize.cfg. One line per differing cell."""
    patterns = get_sanitize_patterns(sanitize.read_text(encoding="utf-8"))
    differences = []
    for index, (old, new) in enumerate(zip(committed.cells, executed.cells)):
        if old.cell_type != "code" or CHECK_TAG not in old.metadata.get("tags", []) or old.execution_count is None:
            continue
        want, got = comparable(old.outputs, patterns), comparable(new.outputs, patterns)
        if want != got:
            differences.append(f"cell {index} ({old.source[:60]!r}...): committed {want!r}, now {got!r}")
    return differences


def strip_tagged_outputs(nb: nbformat.NotebookNode) -> int:
    """Cells tagged `strip-output` keep only their text: printed lines and each output's text/plain
    (e.g. bertcourse.bertviz_offline's one-line summary of a view); the note says the rest was dropped.
    Returns how many cells were stripped."""
    stripped = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or STRIP_TAG not in cell.metadata.get("tags", []):
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream":
                kept.append(output)
            elif "text/plain" in output.get("data", {}):
                output.data = {"text/plain": output.data["text/plain"]}
                output.metadata = {}
                kept.append(output)
        cell.outputs = kept + [nbformat.v4.new_output("stream", name="stdout", text=STRIPPED_NOTE)]
        stripped += 1
    return stripped


def heavy_outputs(nb: nbformat.NotebookNode, limit: int = MAX_OUTPUT_BYTES) -> list[str]:
    """'cell N: K kB' for every output (and the widget state) over `limit` bytes of JSON."""
    heavy = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            size = len(json.dumps(output))
            if size > limit:
                heavy.append(f"cell {index} ({cell.source[:40]!r}...): an output of {size / 1000:.0f} kB")
    widgets = nb.metadata.get("widgets")
    if widgets and len(json.dumps(widgets)) > limit:
        heavy.append(f"the saved widget state: {len(json.dumps(widgets)) / 1000:.0f} kB")
    return heavy


def record_times(seconds: dict[str, float], path: Path = TIMES) -> None:
    """Merge {notebook: seconds} into the timings file, with the machine they were measured on."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data["machine"] = (f"{os.cpu_count()} CPU cores, {platform.machine()}, {platform.system()}, "
                       f"Python {platform.python_version()}")
    data["seconds"] = {**data.get("seconds", {}), **{k: round(v, 1) for k, v in seconds.items()}}
    data["seconds"] = dict(sorted(data["seconds"].items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def table(path: Path = TIMES) -> str:
    """The README's table: one row per notebook with the seconds it took to run top to bottom."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = [f"| `{name}` | {seconds:.0f} s |" for name, seconds in data["seconds"].items()]
    return "\n".join([f"Measured on {data['machine']}:", "", "| notebook | run time |", "|---|---:|", *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="names such as 02_transformer_encoder (default: all)")
    parser.add_argument("--table", action="store_true", help="print the timing table for the README and stop")
    parser.add_argument("--times", type=Path, default=TIMES, help="the timings file to write (or, with --table, "
                        f"read); default {TIMES.relative_to(ROOT)}, a test run's are in {TEST_TIMES.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.table:
        print(table(args.times))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")          # the kernel inherits it: nothing is downloaded
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for path in notebook_paths(args.notebooks):
        committed = nbformat.read(path, as_version=4)
        nb, seconds = execute(path)
        for change in checked_output_differences(committed, nb):   # rewritten on purpose: say what moved
            print(f"{path.name}: checked output changed, {change}")
        stripped = strip_tagged_outputs(nb)
        heavy = heavy_outputs(nb)
        if heavy:
            sys.exit(f"{path.name} is too heavy to commit: {'; '.join(heavy)}. Tag such cells "
                     f"'{STRIP_TAG}' or make their outputs smaller; the file was not changed.")
        nbformat.write(nb, path)
        record_times({path.stem: seconds}, args.times)
        print(f"{path.name}: {seconds:5.1f} s, {path.stat().st_size / 1000:6.0f} kB"
              + (f", {stripped} output(s) stripped" if stripped else ""))
    total = sum(p.stat().st_size for p in NOTEBOOKS.glob("*.ipynb"))
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"notebooks/ holds {total / 1e6:.1f} MB in all, over the {MAX_TOTAL_BYTES / 1e6:.0f} MB budget")


if __name__ == "__main__":
    main()
