"""One source for every number: each figure the prose cites equals the run it comes from.

The registry of cited figures is tests/number_claims.py; the README's fine-tuning table and the notebook
times are checked cell by cell against their JSON files, so a new row or column is checked without
registering anything."""
from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

import nbformat
import pytest

from number_claims import CLAIMS, ROOT, Claim, Value, finetune_results, run, times

FIGURE = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?")


@cache
def prose(doc: str) -> str:
    """The text a reader sees: a markdown file, or a notebook's markdown cells."""
    path = ROOT / doc
    if path.suffix != ".ipynb":
        return path.read_text()
    return "\n\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def _decimals(figure: str) -> int:
    return len(figure.split(".")[1]) if "." in figure else 0


def agrees(written: str, source: Value) -> bool:
    """Does the figure as written equal its source, at the precision the prose shows?
    A string source (read from an output) must itself carry at least that precision."""
    written = written.replace(",", "").replace("−", "-")
    if isinstance(source, str):
        if not FIGURE.fullmatch(source):                 # words such as "never" compare as words
            return written == source
        source = source.replace(",", "")
        if _decimals(source) < _decimals(written):
            return False
        return Decimal(source).quantize(Decimal(1).scaleb(-_decimals(written))) == Decimal(written)
    return f"{source:.{_decimals(written)}f}" == written


def test_agrees_rounds_to_the_prose_and_refuses_invented_precision():
    assert agrees("83.0", 0.83 * 100) and agrees("1,876,896", 1876896) and agrees("188", 187.6896)
    assert not agrees("83.1", 83.0) and not agrees("187", 187.6896)
    assert agrees("0.63", "0.63") and agrees("-0.101", "-0.101") and agrees("5", "5.4")
    assert not agrees("0.630", "0.63")            # more decimals than were measured
    assert agrees("never", "never") and not agrees("5", "never")


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.doc}:{c.pattern[:40]}")
def test_cited_figure_equals_its_source(claim: Claim):
    matches = list(re.finditer(claim.pattern, prose(claim.doc), flags=re.S))
    assert matches, (f"{claim.doc} no longer says {claim.pattern!r}: update or remove this claim in "
                     "tests/number_claims.py")
    values = list(claim.source())
    for match in matches:
        assert len(match.groups()) == len(values), f"{claim.pattern!r}: {len(values)} source values"
        wrong = [(w, v) for w, v in zip(match.groups(), values) if not agrees(w, v)]
        assert not wrong, (f"{claim.doc} says {match.group(0)!r}; its source gives {values} "
                           f"(written, source) that differ: {wrong}")


# --- the README's fine-tuning table, cell by cell -----------------------------------------------------

COLUMNS = {  # header of a column -> (init, mode, pooling) of the run it reports
    "pretrained MiniLM, fine-tuned": ("pretrained", "full", "cls"),
    "random init, fine-tuned": ("random", "full", "cls"),
    "pretrained, frozen, [CLS]": ("pretrained", "frozen", "cls"),
    "pretrained, frozen, mean-pooled": ("pretrained", "frozen", "mean"),
    "pretrained, frozen, bi-encoder": ("pretrained", "frozen", "bi-encoder"),
}
METRICS = {"accuracy": ["accuracy"], "Pearson / Spearman": ["pearson", "spearman"],
           "entity F1 (P / R)": ["f1", "precision", "recall"], "EM / F1": ["exact_match", "f1"]}


def finetune_table() -> tuple[list[str], list[list[str]]]:
    lines = prose("README.md").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| task (settings) | metric |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return header, rows


def test_finetune_table_equals_the_result_file():
    header, rows = finetune_table()
    assert len(rows) == len({r["task"] for r in finetune_results()}), "one row per task of finetune_results.json"
    for cells in rows:
        task, metric = cells[0].split(" (")[0], cells[1]
        steps = re.search(r"(\d+) steps", cells[0])
        if steps:
            assert int(steps.group(1)) == run(task)["steps"], f"{task}: steps in the row label"
        for name, cell in zip(header[2:], cells[2:]):
            init, mode, pooling = COLUMNS[name]
            if cell == "n/a":
                with pytest.raises(LookupError):
                    run(task, init, mode, pooling)
                continue
            record = run(task, init, mode, pooling)
            scale = 1 if task == "qa" else 100
            expected = [record["test"][m] * scale for m in METRICS[metric]] + [record["seconds"]]
            written = FIGURE.findall(cell)
            assert len(written) == len(expected), f"{task} / {name}: {cell!r}"
            wrong = [(w, e) for w, e in zip(written, expected) if not agrees(w, e)]
            assert not wrong, f"README fine-tuning table, {task} / {name}: {cell!r} vs {expected}"


def test_notebook_times_equal_the_recorded_run():
    rows = re.findall(r"^\| `(\d\d_\w+)` \|.*\| (\d+) s \|$", prose("notebooks/README.md"), flags=re.M)
    assert {name for name, _ in rows} == set(times()), "one row per notebook of notebook_times.json"
    for name, seconds in rows:
        assert agrees(seconds, times()[name]), f"notebooks/README.md: {name} takes {seconds} s, recorded {times()[name]}"
