"""Classroom models: built once, atomically, with a fingerprint; rebuilt when missing, stale, half-written or
corrupt; handed to notebooks only when ready. A tiny recipe (8 training sentences, frozen encoder) keeps it fast."""
import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from bertcourse import classroom
from bertcourse.classroom import ModelNotPrepared, Recipe
from bertcourse.finetuning import load_finetuned

TINY = Recipe("sentiment", dict(freeze=True, train_size=8, epochs=1, max_length=16, batch_size=8))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTCOURSE_CACHE", str(tmp_path))
    monkeypatch.setitem(classroom.RECIPES, "sentiment", TINY)
    return tmp_path / "models"


def weights(directory):
    return directory / "model.safetensors"


def test_an_absent_model_says_make_models(cache):
    with pytest.raises(ModelNotPrepared, match="make models"):
        classroom.model_dir("sentiment")
    with pytest.raises(ValueError, match="the classroom models are: pretraining, sentiment"):
        classroom.model_dir("sentimental")
    with pytest.raises(ValueError, match="no classroom model 'nope'"):
        classroom.prepare(["sentiment", "nope"], progress=False)
    assert not cache.exists() or not any(cache.iterdir())  # nothing was built before the bad name was caught


def test_prepare_builds_a_ready_model_that_predicts_and_records_what_built_it(cache):
    assert classroom.prepare(["sentiment"], progress=False) == {"sentiment": "built"}
    directory = classroom.model_dir("sentiment")
    assert directory == cache / "sentiment"
    task, model, tokenizer, meta = load_finetuned(directory)
    answer = task.predict(model, tokenizer, "What a wonderful, moving film.", max_length=16)
    assert set(answer) == {"positive", "negative"} and sum(answer.values()) == pytest.approx(1)
    manifest = classroom.manifest("sentiment")
    assert manifest["fingerprint"] == classroom.fingerprint("sentiment")
    assert manifest["settings"] == TINY.settings and manifest["seconds"] > 0
    assert set(manifest["scores"]) == {"dev", "test"} and 0 <= manifest["scores"]["dev"]["accuracy"] <= 1
    assert set(manifest["files"]) >= {"model.safetensors", "config.json", "vocab.txt", "finetune.json"}
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary directory left


def test_a_current_model_is_skipped_and_left_untouched(cache):
    classroom.prepare(["sentiment"], progress=False)
    stamp = weights(cache / "sentiment").stat().st_mtime_ns
    assert classroom.prepare(["sentiment"], progress=False) == {"sentiment": "current"}
    assert weights(cache / "sentiment").stat().st_mtime_ns == stamp


def test_changed_settings_make_a_model_stale_and_it_is_rebuilt(cache, monkeypatch):
    classroom.prepare(["sentiment"], progress=False)
    monkeypatch.setitem(classroom.RECIPES, "sentiment", Recipe("sentiment", {**TINY.settings, "seed": 1}))
    assert classroom.status("sentiment") == "stale"
    with pytest.raises(ModelNotPrepared, match="stale"):
        classroom.model_dir("sentiment")
    assert classroom.prepare(["sentiment"], progress=False) == {"sentiment": "rebuilt (stale)"}
    assert classroom.manifest("sentiment")["settings"]["seed"] == 1


def test_changed_data_makes_a_model_stale(cache, monkeypatch, tmp_path):
    classroom.prepare(["sentiment"], progress=False)
    data = tmp_path / "data"
    (data / "sentiment").mkdir(parents=True)
    for f in (classroom.DATA_DIR / "sentiment").glob("*.jsonl"):
        (data / "sentiment" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(classroom, "DATA_DIR", data)
    assert classroom.status("sentiment") == "ready"               # the same bytes: the same fingerprint
    with open(data / "sentiment" / "train.jsonl", "a") as f:
        f.write(json.dumps({"text": "One more review.", "label": "positive"}) + "\n")
    assert classroom.status("sentiment") == "stale"


@pytest.mark.parametrize("damage", ["truncated", "same-size", "no-manifest", "file-missing"])
def test_a_damaged_model_is_refused_and_rebuilt(cache, damage):
    classroom.prepare(["sentiment"], progress=False)
    path = weights(cache / "sentiment")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "same-size":  # flipped bytes: only the sha256 that prepare checks can tell
        data = bytearray(path.read_bytes())
        data[-100:] = bytes(100)
        path.write_bytes(bytes(data))
    elif damage == "no-manifest":  # e.g. a copy that stopped half-way
        (cache / "sentiment" / classroom.MANIFEST).unlink()
    else:
        (cache / "sentiment" / "vocab.txt").unlink()
    assert classroom.status("sentiment", verify=True) == "corrupt"
    assert classroom.prepare(["sentiment"], progress=False) == {"sentiment": "rebuilt (corrupt)"}
    assert classroom.status("sentiment", verify=True) == "ready"


def test_an_interrupted_build_leaves_the_previous_model_whole(cache, monkeypatch):
    classroom.prepare(["sentiment"], progress=False)
    before = weights(cache / "sentiment").read_bytes()
    monkeypatch.setitem(classroom.RECIPES, "sentiment", Recipe("sentiment", {**TINY.settings, "seed": 1}))

    def interrupted(name, r, directory, progress):
        (directory / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(classroom, "build", interrupted)
    with pytest.raises(KeyboardInterrupt):
        classroom.prepare(["sentiment"], progress=False)
    assert weights(cache / "sentiment").read_bytes() == before       # the old model is whole (stale, not damaged)
    assert classroom.status("sentiment", verify=True) == "stale"
    assert [p.name for p in cache.iterdir() if p.name.startswith(".sentiment.building")]  # the half-built one
    monkeypatch.undo()
    monkeypatch.setenv("BERTCOURSE_CACHE", str(cache.parent))
    monkeypatch.setitem(classroom.RECIPES, "sentiment", TINY)
    assert classroom.prepare(["sentiment"], progress=False) == {"sentiment": "current"}
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]   # the leftover was cleared


def test_the_command_line_prepares_and_reports(cache):
    env = {**os.environ, "PYTHONPATH": str(classroom.DATA_DIR.parent)}
    code = ("import sys; from bertcourse import classroom, __main__ as m; "
            f"classroom.RECIPES['sentiment'] = classroom.Recipe('sentiment', {TINY.settings!r}); "
            "sys.exit(m.main(['prepare', 'sentiment']))")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "sentiment" in first.stdout and "built" in first.stdout
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert "current" in again.stdout
    bad = subprocess.run([sys.executable, "-m", "bertcourse", "prepare", "sentimental"], env=env,
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr



def test_the_readme_classroom_table_is_the_committed_results():
    """README.md's classroom table is rendered from benchmarks/classroom_results.json, never retyped."""
    sys.path.insert(0, str(classroom.DATA_DIR.parent / "benchmarks"))
    import classroom_results
    from common import read_between

    results = json.loads(classroom_results.OUT.read_text())
    assert set(results["models"]) == set(classroom.NAMES)
    block = read_between(classroom_results.README, *classroom_results.MARKERS)
    assert block == classroom_results.table(results), \
        "rerun `python benchmarks/classroom_results.py --readme` after `make models`"


def test_two_workers_build_two_models_as_one_thread_builds_them_one_after_another(cache, monkeypatch, tmp_path):
    tiny_entailment = Recipe("entailment", dict(freeze=True, train_size=8, epochs=1, max_length=24, batch_size=8))
    monkeypatch.setitem(classroom.RECIPES, "entailment", tiny_entailment)
    assert classroom.prepare(["sentiment", "entailment"], progress=False, workers=2) == {
        "sentiment": "built", "entailment": "built"}
    for name in ("sentiment", "entailment"):
        assert classroom.status(name, verify=True) == "ready"
        assert classroom.manifest(name)["threads"] == 1                    # one core each
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]
    build = classroom.last_build()                                         # the README's total: the wall clock
    assert sorted(build["built"]) == ["entailment", "sentiment"] and build["workers"] == 2 and build["seconds"] > 0
    monkeypatch.setenv("BERTCOURSE_CACHE", str(tmp_path / "one_by_one"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        classroom.prepare(["sentiment", "entailment"], progress=False, workers=1)
    finally:
        torch.set_num_threads(threads)
    for name in ("sentiment", "entailment"):                    # the same computation, up to the last bit
        one_by_one = load_file(weights(classroom.model_dir(name)))
        side_by_side = load_file(weights(cache / name))
        assert all(torch.allclose(one_by_one[k], side_by_side[k], rtol=0, atol=1e-6) for k in one_by_one)
        assert classroom.manifest(name)["scores"] == json.loads((cache / name / "classroom.json").read_text())["scores"]


def test_a_build_needs_at_least_one_worker(cache):
    with pytest.raises(ValueError, match="workers=0: build with 1"):
        classroom.prepare(["sentiment"], progress=False, workers=0)
