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
- Any output still over 100 kB (the saved widget state counts as one) stops the run, naming the cell:
  tag it, or make it smaller (PNG figures at dpi 80-100).

The seconds each notebook took go to benchmarks/notebook_times.json, from which the README's table is
made; tests/test_notebooks.py runs the same `execute` and records there too.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMES = Path(__file__).resolve().parent / "notebook_times.json"
STRIP_TAG = "strip-output"
CHECK_TAG = "nbval-check-output"       # the cells whose outputs must match the committed ones
MAX_OUTPUT_BYTES = 100_000        # one output (or a notebook's saved widget state)
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
    `raises-exception` are allowed to raise, as in nbval.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


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
    args = parser.parse_args()
    if args.table:
        print(table())
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")          # the kernel inherits it: nothing is downloaded
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for path in notebook_paths(args.notebooks):
        nb, seconds = execute(path)
        stripped = strip_tagged_outputs(nb)
        heavy = heavy_outputs(nb)
        if heavy:
            sys.exit(f"{path.name} is too heavy to commit: {'; '.join(heavy)}. Tag such cells "
                     f"'{STRIP_TAG}' or make their outputs smaller; the file was not changed.")
        nbformat.write(nb, path)
        record_times({path.stem: seconds})
        print(f"{path.name}: {seconds:5.1f} s, {path.stat().st_size / 1000:6.0f} kB"
              + (f", {stripped} output(s) stripped" if stripped else ""))
    total = sum(p.stat().st_size for p in NOTEBOOKS.glob("*.ipynb"))
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"notebooks/ holds {total / 1e6:.1f} MB in all, over the {MAX_TOTAL_BYTES / 1e6:.0f} MB budget")


if __name__ == "__main__":
    main()
