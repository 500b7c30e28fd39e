"""`python -m bertcourse pretrain`: trains, saves a loadable model and vocabulary, and resumes."""
import json

import pytest
import torch

from bertcourse import BertForPreTraining, BertTokenizer, load_pretrained
from bertcourse.__main__ import main

pytestmark = pytest.mark.slow  # each test trains (a few seconds each; torchrun starts two processes)

DOCS = [["The bus was late again this morning.", "Anna waited at the stop for twenty minutes.",
         "When it finally came, it was full.", "She decided to walk to work instead."],
        ["Tomatoes need plenty of sun.", "Water them in the morning, not at night.",
         "A little support keeps the stems from breaking.", "Pick the fruit when it is deep red."],
        ["Our library opens a new reading room on Monday.", "It has big windows and soft chairs.",
         "Children can borrow three books at a time.", "The librarian will read stories every Friday."]]


def write_corpus(path, docs):
    path.write_text("\n\n".join("\n".join(d) for d in docs) + "\n")
    return str(path)


def pretrain(tmp_path, out, *extra):
    corpus = write_corpus(tmp_path / "corpus.txt", DOCS * 4)
    heldout = write_corpus(tmp_path / "heldout.txt", DOCS[::-1])
    return main(["pretrain", "--corpus", corpus, "--heldout", heldout, "--steps", "6", "--batch-size", "4",
                 "--max-length", "32", "--vocab-size", "200", "--checkpoint-every", "3", "--eval-every", "3",
                 "--out", str(out), *extra])


def test_pretrain_saves_a_loadable_model(tmp_path, capsys):
    assert pretrain(tmp_path, tmp_path / "run") == 0
    printed = capsys.readouterr().out
    assert "mlm_accuracy" in printed and "nsp_majority_baseline" in printed
    model = load_pretrained(tmp_path / "run", BertForPreTraining)
    tok = BertTokenizer.from_pretrained(tmp_path / "run")
    assert model.config.vocab_size == len(tok) and model.config.num_hidden_layers == 2
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["train"]["step"] == [1, 2, 3, 4, 5, 6] and history["eval"]["step"] == [3, 6]


def test_pretrain_resumes_from_the_latest_checkpoint(tmp_path, capsys):
    pretrain(tmp_path, tmp_path / "a")
    straight = load_pretrained(tmp_path / "a", BertForPreTraining).state_dict()
    pretrain(tmp_path, tmp_path / "b", "--vocab", str(tmp_path / "a"))
    (tmp_path / "b" / "checkpoint-6.pt").unlink()              # as if it had stopped after step 3
    pretrain(tmp_path, tmp_path / "b", "--resume")
    assert "resumed from" in capsys.readouterr().out
    resumed = load_pretrained(tmp_path / "b", BertForPreTraining).state_dict()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_torchrun_two_processes_match_one(tmp_path):
    """2 gloo processes with batch 8 (4 each) end where 1 process with batch 8 ends (dropout off)."""
    import subprocess
    import sys
    from pathlib import Path

    pretrain(tmp_path, tmp_path / "one", "--dropout", "0", "--batch-size", "8")
    one = load_pretrained(tmp_path / "one", BertForPreTraining).state_dict()
    torchrun = Path(sys.executable).with_name("torchrun")
    args = ["pretrain", "--corpus", str(tmp_path / "corpus.txt"), "--heldout", str(tmp_path / "heldout.txt"),
            "--steps", "6", "--batch-size", "8", "--max-length", "32", "--vocab", str(tmp_path / "one"),
            "--checkpoint-every", "3", "--eval-every", "3", "--dropout", "0", "--out", str(tmp_path / "two")]
    done = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "bertcourse", *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("held-out") == 1, "only rank 0 reports"
    two = load_pretrained(tmp_path / "two", BertForPreTraining).state_dict()
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-5, rtol=0, msg=k)
    assert not torch.equal(one["cls.predictions.bias"], torch.zeros_like(one["cls.predictions.bias"]))


def test_pretrain_saves_the_model_it_trained(tmp_path):
    """The saved model scores the held-out pairs (same masks) exactly as the trained one did at its last
    evaluation, and unlike the model it started from: the file holds what was trained, heads included."""
    import random

    from bertcourse.data import load_corpus
    from bertcourse.pretraining import PretrainingCollate, make_nsp_pairs, pretraining_metrics
    from bertcourse.training import Trainer, TrainingConfig

    pretrain(tmp_path, tmp_path / "run")
    trained = json.loads((tmp_path / "run" / "history.json").read_text())["eval"]
    tok = BertTokenizer.from_pretrained(tmp_path / "run")
    heldout = make_nsp_pairs(load_corpus(str(tmp_path / "heldout.txt")), tok, 32, rng=random.Random(1))

    def held_out_scores(model):
        return Trainer(model, heldout, PretrainingCollate(tok), TrainingConfig(steps=1, batch_size=4, progress=False),
                       eval_data=heldout, metrics=pretraining_metrics).evaluate()

    saved = held_out_scores(load_pretrained(tmp_path / "run", BertForPreTraining))
    assert trained["step"][-1] == 6
    for name in ("loss", "mlm_accuracy", "nsp_accuracy"):
        assert saved[name] == pytest.approx(trained[name][-1], rel=1e-6), name
    torch.manual_seed(0)                                        # the command's --seed: its initial weights
    start = held_out_scores(BertForPreTraining(load_pretrained(tmp_path / "run", BertForPreTraining).config))
    assert start["loss"] != pytest.approx(saved["loss"], rel=1e-3)
