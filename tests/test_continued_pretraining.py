"""fill_mask and next_sentence_probability against a by-hand forward pass; continued pretraining from MiniLM."""
import json
import sys
import warnings
from pathlib import Path

import pytest
import torch

from bertcourse import BertConfig, BertForPreTraining, BertTokenizer, load_pretrained
from bertcourse.checkpoints import read_state_dict
from bertcourse.default_model import default_model_dir
from bertcourse.pretrain_run import PretrainConfig, cloze_hits, cloze_score, cloze_sentences, pretrain
from bertcourse.pretraining import fill_mask, next_sentence_probability


@pytest.fixture(scope="module")
def tok():
    return BertTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def model(tok):
    torch.manual_seed(0)
    return BertForPreTraining(BertConfig.tiny(vocab_size=len(tok), hidden_size=32, num_attention_heads=2,
                                              intermediate_size=64)).eval()


def test_fill_mask_gives_the_heads_top_k_for_each_mask_in_order(model, tok):
    text = "She went to the [MASK] to buy some [MASK]."
    guesses = fill_mask(model, tok, text, top_k=4)
    enc = tok.encode(text)
    ids = torch.tensor([enc.input_ids])
    with torch.no_grad():
        logits = model(ids, torch.tensor([enc.token_type_ids]), torch.tensor([enc.attention_mask])).mlm_logits[0]
    positions = [i for i, t in enumerate(enc.tokens) if t == "[MASK]"]
    assert len(guesses) == 2 == len(positions)
    for guess, position in zip(guesses, positions):
        probs = logits[position].softmax(-1)
        best = probs.topk(4)
        assert [t for t, _ in guess] == tok.convert_ids_to_tokens(best.indices.tolist())
        assert [p for _, p in guess] == pytest.approx(best.values.tolist(), abs=1e-6)
        assert all(a >= b for (_, a), (_, b) in zip(guess, guess[1:]))


def test_fill_mask_refuses_text_without_a_mask_and_a_bad_top_k(model, tok):
    with pytest.raises(ValueError, match=r"no \[MASK\]"):
        fill_mask(model, tok, "Nothing to guess here.")
    with pytest.raises(ValueError, match="top_k"):
        fill_mask(model, tok, "A [MASK].", top_k=0)


def test_next_sentence_probability_is_the_softmax_of_class_is_next(model, tok):
    a, b = "this movie is great", "i like it"
    enc = tok.encode(a, b)
    assert enc.token_type_ids == [0] * 6 + [1] * 4                         # [CLS] A [SEP] | B [SEP]
    with torch.no_grad():
        nsp = model(torch.tensor([enc.input_ids]), torch.tensor([enc.token_type_ids]),
                    torch.tensor([enc.attention_mask])).nsp_logits[0]
    assert next_sentence_probability(model, tok, a, b) == pytest.approx(float(nsp.softmax(-1)[0]), abs=1e-6)


def test_continued_pretraining_starts_from_minilm_and_saves_trained_heads(tmp_path):
    sentences = ["The river rose after a week of rain.", "Farmers moved their animals to higher fields.",
                 "The old bridge held, but the road was closed.", "Children watched the water from the hill.",
                 "A new library opened in the town centre.", "It has a reading room for students.",
                 "The shelves hold books in twelve languages.", "Volunteers help visitors find what they need."]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(sentences[:4]) + "\n\n" + "\n".join(sentences[4:]) + "\n")
    out = tmp_path / "run"
    config = PretrainConfig(init="pretrained", corpus=(str(corpus),), heldout=str(corpus), steps=3, batch_size=4,
                            learning_rate=1e-4, head_learning_rate=1e-3, max_length=32, dupe_factor=2,
                            eval_every=0, checkpoint_every=0, progress=False)
    results = pretrain(config, out)
    assert {"mlm_accuracy", "mlm_top5_accuracy", "nsp_accuracy", "mlm_unigram_baseline",
            "nsp_majority_baseline"} <= set(results) and results["steps"] == 3
    assert (out / "vocab.txt").read_text() == (default_model_dir() / "vocab.txt").read_text()
    assert json.loads((out / "results.json").read_text())["config"]["init"] == "pretrained"
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # the heads were saved: nothing is newly initialised
        trained = load_pretrained(out, BertForPreTraining)
    minilm = read_state_dict(default_model_dir() / "model.safetensors")
    start = minilm["encoder.layer.0.output.dense.weight"]
    moved = trained.state_dict()["bert.encoder.layer.0.output.dense.weight"]
    assert 0 < (moved - start).abs().max() < 0.01                   # the encoder is adapted, not replaced
    bias = trained.cls.predictions.bias                 # a fresh head: zero as in BERT, then 3 steps at <= 1e-3
    assert 0 < bias.abs().max() <= 2.1e-3               # (Adam moves each weight by about the rate per step)
    hits = cloze_hits(trained, BertTokenizer.from_pretrained(out), cloze_sentences())
    assert cloze_score(out) == {"cloze_top5": sum(hits) / len(hits), "cloze_sentences": len(hits)}


def test_unknown_init_is_refused(tmp_path):
    with pytest.raises(ValueError, match="init 'minilm'"):
        pretrain(PretrainConfig(init="minilm"), tmp_path)


def test_the_readme_same_clock_table_is_the_committed_results_and_reads_as_the_issue_asks():
    """README.md's continued-vs-scratch table is rendered from benchmarks/pretrain_results.json: the classroom
    model beside a BERT-tiny from scratch given the same training time on as many cores, with both baselines."""
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(benchmarks))
    import pretrain_results
    from common import read_between

    rows = json.loads(pretrain_results.OUT.read_text())
    assert read_between(pretrain_results.README, *pretrain_results.MARKERS) == pretrain_results.table(rows), \
        "rerun `python benchmarks/pretrain_results.py --readme` after `make models`"
    continued, scratch = rows["continued (MiniLM + fresh heads)"], rows["from scratch (BERT-tiny)"]
    assert continued["threads"] == scratch["threads"]
    assert abs(scratch["training_seconds"] - continued["training_seconds"]) < 0.1 * continued["training_seconds"]
    classroom_rows = json.loads((benchmarks / "classroom_results.json").read_text())["models"]
    assert continued["mlm_accuracy"] == classroom_rows["pretraining"]["scores"]["heldout"]["mlm_accuracy"]
    assert continued["mlm_accuracy"] > scratch["mlm_accuracy"] + 0.1 > scratch["mlm_unigram_baseline"] + 0.1
    assert continued["nsp_accuracy"] > continued["nsp_majority_baseline"] + 0.1
