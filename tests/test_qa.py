"""Extractive QA: SQuAD loading, windows (against the fast tokenizer), the loss on cut-off answers (against
transformers), exact n-best decoding (against brute force), SQuAD v1.1 EM/F1 (by hand), and the task end to end."""
import json
import warnings

import pytest
import torch
import torch.nn.functional as F
import transformers

from bertcourse import BertConfig, BertForQuestionAnswering, BertTokenizer, load_pretrained
from bertcourse.tasks import get_task
from bertcourse.tasks import qa
from bertcourse.tasks.qa import (QA, SquadExample, decode_spans, featurize, load, load_squad, make_windows, merge_nbest,
                                 predict, squad_scores)
from bertcourse.training import Trainer, TrainingConfig


@pytest.fixture(scope="module")
def tok():
    return BertTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def long_examples():
    """Shipped test questions on the long passages (over 2,000 characters: several windows even at 256)."""
    return [ex for ex in load("test") if len(ex.context) > 2000]


def squad_json(context: str, qas: list[tuple[str, str, list[tuple[str, int]]]]) -> dict:
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": i, "question": q, "answers": [{"text": t, "answer_start": s} for t, s in answers]}
        for i, q, answers in qas]}]}]}


def tiny_qa_model(tok: BertTokenizer, max_position_embeddings: int = 128) -> BertForQuestionAnswering:
    torch.manual_seed(0)
    return BertForQuestionAnswering(BertConfig.tiny(vocab_size=len(tok), hidden_size=32, num_attention_heads=2,
                                                    intermediate_size=64, num_hidden_layers=2,
                                                    max_position_embeddings=max_position_embeddings))


# ---- loading ---------------------------------------------------------------------------------------
CONTEXT = "Zürich's café opened in 1852. The café served coffee."


def test_load_squad_reads_the_v11_format(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(squad_json(CONTEXT, [
        ("q1", "When did it open?", [("1852", 24), ("in 1852", 21)]),
        ("q2", "What did the café serve?", [("coffee", 46)])])), encoding="utf-8")
    assert load_squad(path) == [SquadExample("q1", "When did it open?", CONTEXT, [("1852", 24), ("in 1852", 21)]),
                                SquadExample("q2", "What did the café serve?", CONTEXT, [("coffee", 46)])]
    assert load("dev", tmp_path) == load_squad(path)


def test_squad_files_load_from_their_folder_or_alone(tmp_path):
    """SQuAD's dev-v1.1.json as downloaded, in a folder or passed itself; its test set is hidden, so a
    folder's test split is dev-v1.1.json too."""
    path = tmp_path / "dev-v1.1.json"
    path.write_text(json.dumps(squad_json(CONTEXT, [("q1", "When did it open?", [("1852", 24)])])), encoding="utf-8")
    expected = [SquadExample("q1", "When did it open?", CONTEXT, [("1852", 24)])]
    assert load("dev", tmp_path) == load("test", tmp_path) == load("test", path) == load("train", path) == expected
    with pytest.raises(FileNotFoundError, match=r"holds no train.json or train-v1.1.json; pass a directory holding "
                                                r"train.json or train-v1.1.json \(SQuAD v1.1 format\), one such file"):
        load("train", tmp_path)


def test_shipped_splits_load_with_every_answer_checked():
    splits = {split: load(split) for split in ("train", "dev", "test")}
    assert [len(v) for v in splits.values()] == [3049, 74, 86]  # the datasheet's counts
    for ex in (ex for examples in splits.values() for ex in examples):
        assert all(ex.context[s:s + len(t)] == t for t, s in ex.answers)


def test_load_squad_name_uses_the_official_files(tmp_path, monkeypatch):
    path = tmp_path / "file.json"
    path.write_text(json.dumps(squad_json(CONTEXT, [("q", "When?", [("1852", 24)])])), encoding="utf-8")
    asked = []
    monkeypatch.setattr(qa, "fetch", lambda name: asked.append(name) or path)
    for split in ("train", "dev", "test"):
        assert load(split, "squad")[0].id == "q"
    assert asked == ["squad-train", "squad-dev", "squad-dev"]  # SQuAD's test set is hidden


def test_load_explains_bad_files(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad_json(CONTEXT, [("bq-7", "When?", [("1852", 23)])])), encoding="utf-8")
    with pytest.raises(ValueError, match=r"question 'bq-7': answer '1852' should start at character 23.*' 185'"):
        load_squad(path)
    no_context = squad_json(CONTEXT, [("q", "When?", [("1852", 24)])])
    del no_context["data"][0]["paragraphs"][0]["context"]
    path.write_text(json.dumps(no_context), encoding="utf-8")
    with pytest.raises(ValueError, match="not in the SQuAD v1.1 format.*'context'"):
        load_squad(path)
    path.write_text(json.dumps(squad_json(CONTEXT, [("q", "Why?", [])])), encoding="utf-8")
    with pytest.raises(ValueError, match="'q' has no answer"):
        load_squad(path)
    with pytest.raises(FileNotFoundError, match=r"missing is neither a file nor a directory; pass a directory "
                                                r"holding dev.json or dev-v1.1.json"):
        load("dev", tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown split"):
        load("valid")


@pytest.mark.parametrize("question, context, match", [
    ("", CONTEXT, "the question is empty"), ("  \n", CONTEXT, "the question is empty"),
    ("When?", "", "the context is empty"), ("When?", "\t ", "the context is empty"),
    ("When?", None, "no context was given"),
])
def test_empty_question_or_context_is_refused(tok, question, context, match):
    with pytest.raises(ValueError, match=match):
        SquadExample("x", question, context, [])
    with pytest.raises(ValueError, match=match):
        predict(tiny_qa_model(tok), tok, question, context)


def test_invisible_question_is_refused(tok):
    with pytest.raises(ValueError, match="the question has no tokens"):
        make_windows(tok, "\u200b\u200b", CONTEXT)  # zero-width spaces: not whitespace, yet no tokens


# ---- windows ---------------------------------------------------------------------------------------
def test_windows_by_hand(tok):
    context = "The cat sat on the mat."
    # [CLS] where ? [SEP] | the cat sat on the mat . | [SEP]: 3 context tokens fit max_length=8, the
    # windows start at context tokens 0, 2, 4, and only the last holds all of "the mat" (tokens 4-5)
    windows = make_windows(tok, "Where?", context, ("the mat", 15), max_length=8, doc_stride=2)
    assert [tok.convert_ids_to_tokens(w.input_ids)[4:7] for w in windows] == [
        ["the", "cat", "sat"], ["sat", "on", "the"], ["the", "mat", "."]]
    assert [(w.start_position, w.end_position) for w in windows] == [(0, 0), (0, 0), (4, 5)]
    assert windows[2].offsets == [None, None, None, None, (15, 18), (19, 22), (22, 23), None]
    assert windows[2].token_type_ids == [0, 0, 0, 0, 1, 1, 1, 1]
    one = make_windows(tok, "Where?", context, ("mat", 19))  # fits: one window, answer at token 9
    assert len(one) == 1 and (one[0].start_position, one[0].end_position) == (9, 9)


def test_default_stride_is_half_the_window(tok, long_examples):
    ex = long_examples[0]
    doc = tok.tokenize_with_offsets(ex.context)  # (piece, start_char, end_char, word)
    for max_length in (64, 256):
        windows = make_windows(tok, ex.question, ex.context, max_length=max_length)
        first_chars = [next(o for o in w.offsets if o is not None)[0] for w in windows]
        assert first_chars == [doc[k * (max_length // 2)][1] for k in range(len(windows))]


def test_a_passage_is_tokenized_once_per_tokenizer(tok, long_examples, monkeypatch):
    """New questions on one passage (the QA explorer, a test split of 86 questions on 15 passages) reuse its
    tokens; another tokenizer (here cased, so 'Carrow' is not 'carrow') tokenizes it afresh."""
    ex = long_examples[-1]
    cased = BertTokenizer(dict(tok.vocab), do_lower_case=False)
    calls = []
    for t in (tok, cased):
        monkeypatch.setattr(t, "tokenize_with_offsets", lambda text, t=t: calls.append(t) or
                            BertTokenizer.tokenize_with_offsets(t, text))
    context = ex.context + " A sentence no other test has seen."     # not cached by an earlier test
    first = make_windows(tok, "Who lived there?", context, max_length=128)
    again = make_windows(tok, ex.question, context, max_length=128)
    fresh = [(a, b) for _, a, b, _ in BertTokenizer.tokenize_with_offsets(tok, context)]
    for windows in (first, again):                                     # every context token, in order
        assert list(dict.fromkeys(o for w in windows for o in w.offsets if o is not None)) == fresh
    cased_windows = make_windows(cased, ex.question, context, max_length=128)
    assert calls == [tok, tok, tok, cased, cased]      # question and context; the question only; both afresh
    assert [w.input_ids for w in cased_windows] != [w.input_ids for w in again]


@pytest.mark.parametrize("max_length, doc_stride", [(64, 20), (96, 128), (128, 50)])
def test_windows_match_the_fast_tokenizer(tok, hf_tokenizer, long_examples, max_length, doc_stride):
    """Our doc_stride is run_squad.py's step between windows; the fast tokenizer's stride is the overlap."""
    for ex in long_examples[::3]:
        windows = make_windows(tok, ex.question, ex.context, max_length=max_length, doc_stride=doc_stride)
        room = max_length - len(tok.tokenize(ex.question)) - 3
        ref = hf_tokenizer(ex.question, ex.context, truncation="only_second", max_length=max_length,
                           stride=room - min(room, doc_stride), return_overflowing_tokens=True,
                           return_offsets_mapping=True)
        assert len(windows) == len(ref["input_ids"]) > 2
        for k, w in enumerate(windows):
            assert w.input_ids == ref["input_ids"][k]
            assert w.token_type_ids == ref["token_type_ids"][k]
            assert w.offsets == [tuple(o) if s == 1 else None
                                 for o, s in zip(ref["offset_mapping"][k], ref.sequence_ids(k))]


def test_answer_labels_cover_the_answer_or_point_at_cls(tok):
    """Each window is labelled with the tightest token span around the answer, or [CLS] (0, 0) when the
    answer is not entirely inside it, as run_squad.py does; every answer is inside some window."""
    n_cut = 0
    for ex in load("train"):
        text, start = ex.answers[0]
        end = start + len(text)
        windows = make_windows(tok, ex.question, ex.context, ex.answers[0], max_length=96, doc_stride=32)
        for w in windows:
            s, e = w.start_position, w.end_position
            chars = [o for o in w.offsets if o is not None]
            if (s, e) == (0, 0):
                n_cut += 1
                assert not chars[0][0] <= start < end <= chars[-1][1]
            else:
                assert 0 < s <= e and w.offsets[s][0] <= start < w.offsets[s][1]
                assert w.offsets[e][0] < end <= w.offsets[e][1]
        assert any(w.start_position > 0 for w in windows), ex.id
    assert n_cut > 300  # the check above really ran on cut-off answers


def test_features_collate_into_a_training_batch(tok, long_examples):
    features = featurize(long_examples[:3], tok, max_length=64, doc_stride=32, unanswered_rate=1.0)
    batch = QA.collate(features)
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions"}
    assert batch["input_ids"].shape == (len(features), 64) and batch["start_positions"].shape == (len(features),)
    assert (batch["start_positions"] <= batch["end_positions"]).all()
    assert 0 < (batch["start_positions"] > 0).sum() < len(features)


def test_training_keeps_every_answered_window_and_the_asked_share_of_the_others(tok):
    """unanswered_rate=1.0 is run_squad.py (every window); below it, answerless windows are sampled,
    repeatably, and a window that holds the answer is never dropped."""
    examples = load("train")
    every = [(w.input_ids, w.start_position, w.end_position) for ex in examples
             for w in make_windows(tok, ex.question, ex.context, ex.answers[0], max_length=128)]
    answered = [w for w in every if w[1] > 0]
    n_unanswered = len(every) - len(answered)
    assert n_unanswered > 1000

    def kept(rate: float, seed: int = 0) -> list[tuple]:
        return [(f["input_ids"], f["start_positions"], f["end_positions"])
                for f in featurize(examples, tok, 128, unanswered_rate=rate, seed=seed)]

    assert kept(1.0) == every
    assert kept(0.0) == answered
    quarter = kept(0.25)
    assert [w for w in quarter if w[1] > 0] == answered
    assert abs((len(quarter) - len(answered)) / n_unanswered - 0.25) < 0.04
    assert kept(0.25) == quarter and kept(0.25, seed=1) != quarter
    assert featurize(examples[:5], tok, 128) == featurize(examples[:5], tok, 128, unanswered_rate=qa.UNANSWERED_RATE)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"unanswered_rate={bad} .*choose a value in \[0, 1\]"):
            featurize(examples[:2], tok, 128, unanswered_rate=bad)


def test_question_too_long_is_refused(tok):
    question = "Which of the many bridges over the river was built first in the old town and why?"
    with pytest.raises(ValueError, match="question 'q': the question has 18 tokens.*no room.*max_length=21"):
        featurize([SquadExample("q", question, CONTEXT, [("1852", 24)])], tok, max_length=21)
    windows = make_windows(tok, question, CONTEXT, max_length=22)  # one context token per window still works
    assert len(windows) == len(tok.tokenize(CONTEXT)) and all(len(w.input_ids) == 22 for w in windows)
    short = make_windows(tok, question, CONTEXT, max_query_length=5)  # run_squad.py cuts long questions
    assert tok.convert_ids_to_tokens(short[0].input_ids[:7]) == ["[CLS]", "which", "of", "the", "many", "bridges",
                                                                 "[SEP]"]


def test_max_length_beyond_the_position_table_is_refused(tok):
    model = tiny_qa_model(tok, max_position_embeddings=64)
    with pytest.raises(ValueError, match="max_length=128 is beyond the model's 64 position embeddings"):
        predict(model, tok, "When did it open?", CONTEXT, max_length=128)
    with pytest.raises(ValueError, match="beyond the model's 64 position"):
        QA.evaluate(model, tok, load("dev")[:2], 65, 8)


# ---- the loss on answers outside a window ----------------------------------------------------------
def test_qa_loss_ignores_answers_outside_a_window_as_the_reference_does(tmp_path, tok, long_examples):
    cfg = transformers.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=48, max_position_embeddings=64, num_labels=2)
    torch.manual_seed(0)
    transformers.BertForQuestionAnswering(cfg).save_pretrained(tmp_path)
    hf = transformers.BertForQuestionAnswering.from_pretrained(tmp_path).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every weight, the QA head included, must come from the checkpoint
        ours = load_pretrained(tmp_path, BertForQuestionAnswering)
    features = featurize(long_examples[:2], tok, max_length=64, doc_stride=40, unanswered_rate=1.0)
    labels = [(f["start_positions"], f["end_positions"]) for f in features]
    assert (0, 0) in labels and any(s > 0 for s, _ in labels)  # windows with and without the answer
    batch = QA.collate(features)
    T = batch["input_ids"].size(1)
    beyond = {**batch, "start_positions": batch["start_positions"].clone(),
              "end_positions": batch["end_positions"].clone()}
    beyond["start_positions"][:3] = T + 5   # positions past the window: both models clamp them to T, ignore them
    beyond["end_positions"][1:4] = 10 * T
    with torch.no_grad():
        for b in (batch, beyond):
            torch.testing.assert_close(ours(**b).loss, hf(**b).loss, atol=1e-5, rtol=1e-5)
        # ignored means "not counted": each half of the loss is the mean over the rows it keeps
        out = ours(**beyond)
        start_loss = F.cross_entropy(out.start_logits[3:], batch["start_positions"][3:])
        end_rows = [0] + list(range(4, len(features)))
        end_loss = F.cross_entropy(out.end_logits[end_rows], batch["end_positions"][end_rows])
        torch.testing.assert_close(out.loss, (start_loss + end_loss) / 2, atol=1e-6, rtol=1e-6)


# ---- decoding --------------------------------------------------------------------------------------
def brute_force(start_logits, end_logits, offsets, context, max_answer_length, n_best):
    """Every (window, start, end) triple, one by one; the best score of each character span."""
    best = {}
    for w, window in enumerate(offsets):
        for s, a in enumerate(window):
            for e, b in enumerate(window):
                if a is None or b is None or e < s or e - s + 1 > max_answer_length:
                    continue
                score = float(start_logits[w, s]) + float(end_logits[w, e])
                best[a[0], b[1]] = max(score, best.get((a[0], b[1]), -float("inf")))
    ranked = sorted(best.items(), key=lambda item: -item[1])[:n_best]
    return [(context[a:b], a, b, score) for (a, b), score in ranked]


def assert_same_spans(got, expected):
    """The same spans with the same scores, ranked the same; spans whose scores tie within float noise
    (a padded batch rounds differently from a window run alone) may swap places."""
    assert [s.score for s in got] == pytest.approx([s[3] for s in expected], abs=1e-5)
    got_scores, expected_scores = {tuple(s[:3]): s.score for s in got}, {tuple(s[:3]): s[3] for s in expected}
    assert got_scores.keys() == expected_scores.keys()
    assert all(abs(got_scores[k] - expected_scores[k]) <= 1e-5 for k in got_scores)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_answer_length, n_best", [(30, 20), (4, 50), (1, 5)])
@pytest.mark.parametrize("agree", [False, True], ids=["independent", "windows-agree"])
def test_decode_spans_equals_brute_force_over_windows(tok, long_examples, seed, max_answer_length, n_best, agree):
    """Random logits, either independent per window or nearly equal for the same token in overlapping
    windows (as a trained model gives), so that one span proposed by several windows competes with itself."""
    ex = long_examples[seed]
    windows = make_windows(tok, ex.question, ex.context, max_length=48, doc_stride=16)
    offsets = [w.offsets for w in windows]
    assert len(windows) > 8
    g = torch.Generator().manual_seed(seed)
    W, T = len(windows), max(len(o) for o in offsets) + 3  # 3 extra columns: padding, never an answer
    start, end = torch.randn(W, T, generator=g), torch.randn(W, T, generator=g)
    if agree:
        per_char = torch.randn(2, len(ex.context), generator=g)
        for w, window in enumerate(offsets):
            for t, span in enumerate(window):
                if span is not None:
                    start[w, t] = per_char[0, span[0]] + 1e-3 * start[w, t]
                    end[w, t] = per_char[1, span[0]] + 1e-3 * end[w, t]
    got = decode_spans(start, end, offsets, ex.context, max_answer_length, n_best)
    expected = brute_force(start, end, offsets, ex.context, max_answer_length, n_best)
    assert len(got) == n_best
    assert_same_spans(got, expected)
    alone = [decode_spans(start[w:w + 1], end[w:w + 1], offsets[w:w + 1], ex.context, max_answer_length, n_best)
             for w in range(W)]                               # each window decoded alone, then merged
    assert merge_nbest(alone, n_best) == got
    assert merge_nbest(alone[:3], n_best) == decode_spans(start[:3], end[:3], offsets[:3], ex.context,
                                                          max_answer_length, n_best)


def test_decode_spans_by_hand():
    context = "Ada Lovelace wrote the first program."
    offsets = [[None, None, (0, 3), (4, 12), (13, 18), None]]  # [CLS] who [SEP] Ada Lovelace wrote [SEP]
    start = torch.tensor([[9.0, 9.0, 2.0, 1.0, 4.0, 9.0]])
    end = torch.tensor([[9.0, 9.0, 4.0, 3.0, 0.0, 9.0]])
    # start + end for the context tokens (rows: start, columns: end):
    #            Ada  Lovelace  wrote
    # Ada         6      5        2     <- "Ada Lovelace wrote" is 3 tokens: only with max_answer_length 3
    # Lovelace    5      4        1
    # wrote       8      7        4     <- end before start: never a span
    # the specials and the question (score 18) never count; equal scores keep reading order
    spans = decode_spans(start, end, offsets, context, max_answer_length=2)
    assert [(s.text, s.start_char, s.end_char, s.score) for s in spans] == [
        ("Ada", 0, 3, 6.0), ("Ada Lovelace", 0, 12, 5.0), ("Lovelace", 4, 12, 4.0), ("wrote", 13, 18, 4.0),
        ("Lovelace wrote", 4, 18, 1.0)]
    longer = decode_spans(start, end, offsets, context, max_answer_length=3, n_best=5)
    assert [s.text for s in longer] == ["Ada", "Ada Lovelace", "Lovelace", "wrote", "Ada Lovelace wrote"]


def test_decode_spans_explains_bad_shapes():
    logits = torch.zeros(2, 5)
    with pytest.raises(ValueError, match=r"\(windows, tokens\).*unsqueeze"):
        decode_spans(logits[0], logits[0], [[None] * 5], "text")
    with pytest.raises(ValueError, match="one list of at most 5 token offsets per window for 2 windows"):
        decode_spans(logits, logits, [[None] * 5], "text")


# ---- SQuAD v1.1 scores -----------------------------------------------------------------------------
@pytest.mark.parametrize("prediction, truths, em, f1", [
    ("the Eiffel Tower!", ["Eiffel Tower"], 1, 1),         # article and punctuation dropped
    ("U.S.", ["US"], 1, 1),                                # punctuation inside a word too
    ("An apple", ["apple"], 1, 1),                         # case, then the article
    ("another", ["other"], 0, 0),                          # "an" only as a whole word
    ("in 1852", ["1852", "in 1852"], 1, 1),                # the best of several ground truths
    ("a big red dog", ["the red dog"], 0, 0.8),            # P = 2/3, R = 2/2: 2PR/(P+R) = 0.8
    ("red dog", ["dog", "the red dog house"], 0, 0.8),     # max(P=1/2,R=1 -> 2/3; P=1,R=2/3 -> 0.8)
    ("dog dog", ["dog"], 0, 2 / 3),                        # repeated words count once per match: P = 1/2
    ("", ["Paris"], 0, 0),                                 # an empty prediction scores nothing
    ("the", ["a"], 1, 0),                                  # both normalise to "": equal, but no shared word
])
def test_squad_scores_by_hand(prediction, truths, em, f1):
    assert squad_scores([prediction], [truths]) == pytest.approx({"exact_match": 100 * em, "f1": 100 * f1})


def test_squad_scores_average_over_questions():
    scores = squad_scores(["Paris", "red dog", "1852"], [["paris"], ["the red dog house"], ["1851"]])
    assert scores == pytest.approx({"exact_match": 100 / 3, "f1": 100 * (1 + 0.8 + 0) / 3})


def test_squad_scores_explains_bad_input():
    with pytest.raises(ValueError, match="2 predictions for 1 questions"):
        squad_scores(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="at least one question"):
        squad_scores([], [])
    with pytest.raises(ValueError, match="at least one reference answer"):
        squad_scores(["a"], [[]])


# ---- the task ---------------------------------------------------------------------------------------
def test_evaluate_batches_windows_without_changing_answers(tok, long_examples):
    """Padding, batching and regrouping windows by question must give the answers of each window run alone."""
    model = tiny_qa_model(tok)
    examples = long_examples[:2] + load("dev")[:3]
    model.eval()
    alone = []
    with torch.no_grad():
        for ex in examples:
            windows = make_windows(tok, ex.question, ex.context, max_length=64)
            outs = [model(torch.tensor([w.input_ids]), torch.tensor([w.token_type_ids])) for w in windows]
            T = max(len(w.input_ids) for w in windows)
            start, end = torch.full((len(windows), T), -1e4), torch.full((len(windows), T), -1e4)
            for k, (w, out) in enumerate(zip(windows, outs)):
                start[k, :len(w.input_ids)], end[k, :len(w.input_ids)] = out.start_logits[0], out.end_logits[0]
            alone.append(decode_spans(start, end, [w.offsets for w in windows], ex.context, n_best=10**6))
    assert min(len(make_windows(tok, ex.question, ex.context, max_length=64)) for ex in examples) > 1
    model.train()  # evaluate must switch dropout off itself
    for batch_size in (1, 7):
        batched = qa.answer_questions(model, tok, examples, max_length=64, batch_size=batch_size, n_best=10**6)
        for a, b in zip(alone, batched):  # every valid span of every window, not just the best 20
            assert_same_spans(b, a)
    assert not model.training
    assert predict(model, tok, examples[0].question, examples[0].context, max_length=64) == \
        qa.answer_questions(model, tok, examples[:1], max_length=64)[0]
    scores = QA.evaluate(model, tok, examples, 64, 3)
    assert scores == squad_scores([spans[0].text for spans in alone], [[t for t, _ in ex.answers] for ex in examples])
    assert len(predict(model, tok, "When did it open?", CONTEXT, max_length=64)) == 20  # n-best


def test_training_labels_and_decoding_agree(tok):
    """Memorise two questions (one of them split into six windows): the labels featurize() writes must be
    exactly the spans evaluate() reads back, or the memorised answers would not score EM 100."""
    examples = sorted(load("train"), key=lambda ex: len(ex.context))[:40:20]
    torch.manual_seed(0)
    model = BertForQuestionAnswering(BertConfig.tiny(vocab_size=len(tok), hidden_size=32, num_attention_heads=2,
                                                     intermediate_size=64, max_position_embeddings=64))
    features = featurize(examples, tok, max_length=64, doc_stride=32, unanswered_rate=1.0)
    assert len(features) == 7 and sum(f["start_positions"] > 0 for f in features) == 2
    config = TrainingConfig(steps=40, batch_size=len(features), learning_rate=1e-2, progress=False)
    Trainer(model, features, QA.collate, config).fit()
    assert QA.evaluate(model, tok, examples, 64, 8, doc_stride=32) == {"exact_match": 100.0, "f1": 100.0}


def test_qa_is_a_registered_task():
    assert get_task("qa") is QA
    assert QA.model_cls is BertForQuestionAnswering and QA.metric == "f1"
