"""The exercise checker and every notebook exercise: a right answer, computed here by independent code (never
written out), passes; known wrong answers fail with their message; the package's reference, a wrapper around it
and the function the exercise forbids are refused while the student's function runs; hints are graded."""
import math

import pytest
import torch
import torch.nn.functional as F

from bertcourse import BertConfig, BertModel, BertTokenizer, load_pretrained
from bertcourse.encoder import EncoderLayer
from bertcourse.exercises import (EXERCISES, NEXT_TOKEN_SENTENCE, STATE, FunctionExercise, PredictionExercise,
                                  ValueExercise, check, digest, hint, progress, register)

REFUSED = "is switched off during this check"


@pytest.fixture(autouse=True)
def fresh_attempts():
    """Each test starts as a student who has not tried anything yet."""
    STATE.clear()
    yield
    STATE.clear()


def verdict(capsys, exercise_id, answer):
    """(returned verdict, printed text) of one check."""
    right = check(exercise_id, answer)
    return right, capsys.readouterr().out


# ---- independent solutions of every function exercise ------------------------------------------------------
def einsum_attention(q, k, v, mask=None):
    scores = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(q.size(-1))
    weights = torch.exp(scores if mask is None else scores + mask)
    weights = weights / weights.sum(-1, keepdim=True)
    return torch.einsum("bhij,bhjd->bhid", weights, v), weights


def per_head_attention(x, w_q, w_k, w_v, num_heads):
    size = x.size(-1) // num_heads
    contexts, weights = [], []
    for h in range(num_heads):                                              # one head at a time, on its slice
        rows = slice(h * size, (h + 1) * size)
        q, k, v = (x @ w[rows].T for w in (w_q, w_k, w_v))                 # (B, T, size)
        p = (q @ k.transpose(1, 2) / math.sqrt(size)).softmax(-1)
        contexts.append(p @ v)
        weights.append(p)
    return torch.cat(contexts, -1), torch.stack(weights, 1)


def block_by_hand(layer, x, mask):
    """One post-LN encoder block from its weights."""
    B, T, H = x.shape
    sa, n = layer.attention.self, layer.attention.self.num_heads

    def attend(z):
        q, k, v = (t.reshape(B, T, n, H // n).transpose(1, 2) for t in sa.qkv(z).chunk(3, dim=-1))
        w = (q @ k.transpose(-1, -2) / math.sqrt(H // n) + mask).softmax(-1)
        return layer.attention.output.dense((w @ v).transpose(1, 2).reshape(B, T, H))

    h = layer.attention.output.LayerNorm(x + attend(x))
    inner = layer.intermediate.dense(h)
    return layer.output.LayerNorm(h + layer.output.dense(inner * 0.5 * (1 + torch.erf(inner / math.sqrt(2)))))


def pretraining_count(config):
    H, V, I, L = config.hidden_size, config.vocab_size, config.intermediate_size, config.num_hidden_layers
    embeddings = (V + config.max_position_embeddings + config.type_vocab_size) * H + 2 * H
    block = 4 * (H * H + H) + (H * I + I) + (I * H + H) + 4 * H
    return embeddings + L * block + (H * H + H) + (H * H + H + 2 * H + V) + (2 * H + 2)


def mlm_loss_by_hand(logits, input_ids, labels):
    chosen = labels != -100
    logp = logits[chosen].log_softmax(-1)                                   # (N, V)
    return -logp.gather(1, labels[chosen][:, None]).mean()


def counted_baseline(train_pairs, eval_pairs):
    train = [t for p in train_pairs for t in p.tokens_a + p.tokens_b]
    evaluation = [t for p in eval_pairs for t in p.tokens_a + p.tokens_b]
    return evaluation.count(max(set(train), key=train.count)) / len(evaluation)


def cls_head_by_hand(hidden, pooler_weight, pooler_bias, classifier_weight, classifier_bias):
    pooled = torch.tanh(hidden[:, 0] @ pooler_weight.T + pooler_bias)
    return (pooled @ classifier_weight.T + classifier_bias).softmax(-1)


def first_piece_labels(word_ids, word_labels):
    labels, previous = [], None
    for w in word_ids:
        labels.append(-100 if w is None or w == previous else word_labels[w])
        previous = w
    return labels


def count_entities_by_hand(tags):
    count, previous = 0, "O"
    for tag in tags:
        if tag.startswith("B-") or (tag.startswith("I-") and previous[2:] != tag[2:]):
            count += 1
        previous = tag
    return count


def brute_force_span(start, end, max_len):
    pairs = [(i, j) for i in range(len(start)) for j in range(i, min(len(end), i + max_len))]
    return max(pairs, key=lambda ij: float(start[ij[0]] + end[ij[1]]))


def averaged_ranks(v):
    order = sorted(range(len(v)), key=lambda i: float(v[i]))
    ranks, i = [0.0] * len(v), 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and float(v[order[j + 1]]) == float(v[order[i]]):
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return torch.tensor(ranks, dtype=torch.float64)


def spearman_by_hand(x, y):
    rx, ry = averaged_ranks(x), averaged_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / (rx.norm() * ry.norm()))


def pooled_by_the_package(hidden, pooler_weight, pooler_bias):
    from bertcourse.model import Pooler

    pooler = Pooler(BertConfig.tiny(hidden_size=hidden.size(-1), num_attention_heads=1))
    with torch.no_grad():
        pooler.dense.weight.copy_(pooler_weight)
        pooler.dense.bias.copy_(pooler_bias)
    return pooler(hidden)


def _import(dotted):
    from bertcourse.exercises.guard import resolve

    return resolve(dotted)[2]


# id -> (an independent correct solution, a call of a function the exercise forbids)
FUNCTIONS = {
    "00.3": (lambda model, ids: model.classifier(model.bert(ids).pooler_output), lambda model, ids: model(ids).logits),
    "01.1": (einsum_attention,
             lambda q, k, v, mask=None: (F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None)),
    "01.2": (per_head_attention,
             lambda x, w_q, w_k, w_v, n: _import("bertcourse.attention.scaled_dot_product_attention")(x, x, x)),
    "02.1": (lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2))), lambda x: F.gelu(x)),
    "02.2": (block_by_hand, lambda layer, x, mask: layer.attention(x, mask, False)[0]),
    "03.1": (lambda len_a, len_b: [0] * (len_a + 2) + [1] * (len_b + 1),
             lambda len_a, len_b: BertTokenizer.from_pretrained().encode("a " * len_a, "b " * len_b).token_type_ids),
    "04.1": (pretraining_count, lambda config: sum(p.numel() for p in _import("bertcourse.model.PreTrainingHeads")(
        config).parameters()) + config.num_parameters()),
    "05.4": (lambda T: torch.arange(T)[None, :] <= torch.arange(T)[:, None],
             lambda T: _import("bertcourse.attention.left_to_right_mask")(T)),
    "05.6": (mlm_loss_by_hand, lambda logits, ids, labels: F.nll_loss(logits.flatten(0, 1).log_softmax(-1),
                                                                        labels.flatten())),
    "07.2": (counted_baseline, lambda t, e: _import("bertcourse.pretraining.unigram_baseline")(t, e)),
    "08.1": (lambda counts: counts.diagonal().sum() / counts.sum(),
             lambda counts: _import("bertcourse.tasks.classification.confusion_accuracy")(counts)),
    "08.3": (cls_head_by_hand, lambda h, wp, bp, wc, bc: pooled_by_the_package(h, wp, bp) @ wc.T + bc),
    "09.1": (first_piece_labels, lambda w, l: _import("bertcourse.tasks.ner.align_labels")(w, l)),
    "09.2": (count_entities_by_hand,
             lambda tags: len(__import__("seqeval.metrics.sequence_labeling", fromlist=["x"]).get_entities(tags))),
    "10.1": (brute_force_span, lambda s, e, m: _import("bertcourse.tasks.qa.decode_spans")(
        s[None], e[None], [[(t, t + 1) for t in range(len(s))]], "x" * len(s), m)[0][1:3]),
    "11.1": (lambda hidden, mask: torch.stack([h[m.bool()].mean(0) for h, m in zip(hidden, mask)]),
             lambda hidden, mask: _import("bertcourse.sentence_embeddings.mean_pool")(hidden, mask)),
    "11.2": (spearman_by_hand, lambda x, y: float(__import__("scipy.stats", fromlist=["x"]).spearmanr(x, y).statistic)),
}


def test_every_function_exercise_is_covered():
    assert sorted(FUNCTIONS) == sorted(i for i, e in EXERCISES.items() if isinstance(e, FunctionExercise))


@pytest.mark.parametrize("exercise_id", sorted(FUNCTIONS))
def test_function_exercise_passes_an_independent_solution_and_refuses_the_package(exercise_id, capsys):
    correct, forbidden = FUNCTIONS[exercise_id]
    reference = EXERCISES[exercise_id].reference

    def wrapper(*args):
        return reference(*args)

    assert verdict(capsys, exercise_id, correct) == (True, f"✅ {exercise_id}: 正确 (correct)!\n")
    for answer in (reference, wrapper, forbidden):
        right, out = verdict(capsys, exercise_id, answer)
        assert not right and out.startswith(f"🚫 {exercise_id}: write it yourself: ") and REFUSED in out, out
    assert verdict(capsys, exercise_id, correct)[0]                       # everything was put back


# ---- known mistakes, named by the issue: √d_k, [CLS]/[SEP], the softmax axis, the loss over every position --
def test_known_mistakes_get_their_own_message(capsys):
    def unscaled(q, k, v, mask=None):
        return einsum_attention(q * math.sqrt(q.size(-1)), k, v, mask)

    def wrong_axis(q, k, v, mask=None):
        w = ((q @ k.transpose(-1, -2)) / math.sqrt(q.size(-1)) + (0 if mask is None else mask)).softmax(-2)
        return w @ v, w

    def loss_everywhere(logits, input_ids, labels):
        return mlm_loss_by_hand(logits, input_ids, input_ids)

    cases = [("01.1", unscaled, "√d_k"), ("01.1", wrong_axis, "wrong axis"),
             ("05.6", loss_everywhere, "the loss over every position"),
             ("05.1", 512 * 0.15 * 0.8, "[CLS] 和 [SEP]"), ("06.3", 0.9 * 128 + 0.1 * 65, "三个特殊词元"),
             ("00.2", 15 * 16 // 2, "[SEP]")]
    for exercise_id, answer, words in cases:
        right, out = verdict(capsys, exercise_id, answer)
        assert not right and "常见错误 (a known mistake)" in out and words in out, out


# ---- graded hints, empty answers, crashes ------------------------------------------------------------------
def test_hints_are_graded_and_the_most_specific_only_on_request(capsys):
    hints = EXERCISES["01.3"].hints
    assert hint("01.3") is None and "先用 check 交一次答案" in capsys.readouterr().out   # no hint before trying
    right, out = verdict(capsys, "01.3", None)
    assert not right and "还没有作答" in out and "赋给 answer" in out and "提示" not in out  # says what to fill in
    assert "01.3" not in STATE                                             # an empty answer is no attempt
    outs = [verdict(capsys, "01.3", 100 + n)[1] for n in range(4)]
    assert hints[0] in outs[0] and hints[1] in outs[1] and all(hints[1] in o for o in outs[2:])
    assert not any(hints[-1] in o for o in outs)                           # the last hint is never volunteered
    assert hint("01.3") == hints[-1] and hints[-1] in capsys.readouterr().out


def test_unfinished_crashed_and_wrongly_typed_answers(capsys, monkeypatch):
    def unfinished(x):
        raise NotImplementedError

    right, out = verdict(capsys, "02.1", unfinished)
    assert not right and out.startswith("⏳ 02.1: 还没有作答") and "raise NotImplementedError" in out
    right, out = verdict(capsys, "02.1", lambda x: 1 / 0)
    assert not right and "your function raised) ZeroDivisionError: division by zero" in out
    with pytest.raises(KeyError, match="no exercise '99.9'; the notebooks' exercises are .*01.1"):
        check("99.9", 1)
    with pytest.raises(TypeError, match="expects a number, got str"):
        check("01.3", "twelve")
    with pytest.raises(TypeError, match="expects a function, got int"):
        check("02.1", 3)
    with pytest.raises(ValueError, match="registered twice"):
        register("01.3", EXERCISES["01.3"])
    with pytest.raises(ValueError, match="graded hints"):
        register("99.1", ValueExercise(digest("99.1", 1, 0), "a number", ("only one",), decimals=0))


def test_digest_normalises_numbers_tuples_and_text():
    assert digest("99.1", "  Hello   World ") == digest("99.1", "hello world")
    assert digest("99.1", 3.14159, decimals=2) == digest("99.1", 3.14, decimals=2) != digest("99.1", 3.15, decimals=2)
    assert digest("99.1", (3, 0.6086), 2) == digest("99.1", [3.0, torch.tensor(0.61)], 2)
    assert digest("99.1", 42) != digest("99.2", 42)                        # the same number is no clue elsewhere


# ---- the guard: names put back, aliases and swallowed refusals caught ----------------------------------------
def test_the_guard_restores_every_name_and_catches_aliases_and_swallowed_refusals(capsys):
    import sys

    import bertcourse.attention as attention

    before = (F.gelu, attention.scaled_dot_product_attention, EncoderLayer.forward)
    main = vars(sys.modules["__main__"])
    main["alias_in_the_notebook"] = attention.scaled_dot_product_attention      # as `from ... import` in a cell
    try:
        assert not verdict(capsys, "01.1", lambda q, k, v, m=None: main["alias_in_the_notebook"](q, k, v, m))[0]

        def swallowed(x):
            try:
                return F.gelu(x)
            except RuntimeError:
                return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))

        right, out = verdict(capsys, "02.1", swallowed)
        assert not right and "torch.nn.functional.gelu" + " " + REFUSED in out
        assert not verdict(capsys, "02.2", lambda layer, x, mask: 1 / 0)[0]    # an error inside the guard
    finally:
        del main["alias_in_the_notebook"]
    assert (F.gelu, attention.scaled_dot_product_attention, EncoderLayer.forward) == before
    assert sys.getprofile() is None


# ---- predictions: recorded first, measured at check time -------------------------------------------------------
def test_a_prediction_counts_once_and_is_compared_with_a_measurement(capsys, monkeypatch):
    measured = []

    def measure():
        measured.append(1)
        return 0.5

    monkeypatch.setitem(EXERCISES, "99.1", PredictionExercise(measure, "a share", ("nudge", "why"), tolerance=0.05))
    right, out = verdict(capsys, "99.1", None)
    assert not right and "还没有作答" in out and not measured                # nothing runs before a prediction
    right, out = verdict(capsys, "99.1", 0.9)
    assert not right and "测量结果 (measured) 0.5" in out and "nudge" in out
    right, out = verdict(capsys, "99.1", 0.52)                              # changed after seeing the result
    assert not right and "只算第一次记下的预测 (only the first prediction counts): 0.9" in out
    monkeypatch.setitem(EXERCISES, "99.2", PredictionExercise(lambda: "same", "same or different", ("a", "b"),
                                                              choices=("same", "different")))
    assert verdict(capsys, "99.2", "Same")[0]
    with pytest.raises(ValueError, match="expects one of same, different"):
        check("99.2", "maybe")


PREDICTIONS = {  # id -> what the measurement must be, from the course's own reasoning
    "00.4": lambda m: 0.3 < m < 0.95, "01.4": lambda m: m in ("trophy", "suitcase"),
    "02.4": lambda m: m == "same", "03.4": lambda m: m == len(BertTokenizer.from_pretrained().tokenize(
        "The unaffordable headphones were unboxed yesterday.")),
    "04.4": lambda m: 0 < m < 1, "05.5": lambda m: abs(m - (1 - 0.15 * 0.9)) < 0.01,
    "06.4": lambda m: 0.2 < m < 0.9, "07.4": lambda m: abs(m - math.log(4000)) < 0.3,
    "08.4": lambda m: m > 0.8, "09.4": lambda m: m == 8, "10.3": lambda m: 1 / 14 <= m < 0.2,
    "11.4": lambda m: 0.4 < m < 0.95,
}


def test_every_prediction_exercise_measures_what_its_reasoning_expects(capsys):
    assert sorted(PREDICTIONS) == sorted(i for i, e in EXERCISES.items() if isinstance(e, PredictionExercise))
    for exercise_id, expected in PREDICTIONS.items():
        exercise = EXERCISES[exercise_id]
        measured = exercise.measure()
        assert expected(measured), (exercise_id, measured)
        assert verdict(capsys, exercise_id, measured)[0]                   # the measurement itself is right


# ---- progress ----------------------------------------------------------------------------------------------------
def test_progress_shows_right_wrong_and_not_tried(capsys):
    check("01.3", 1.0)
    check("01.1", einsum_attention)
    capsys.readouterr()
    status = progress("01")
    out = capsys.readouterr().out
    assert status == {"01.1": "✅", "01.2": "未作答 (not tried)", "01.3": "❌", "01.4": "未作答 (not tried)"}
    assert "01.3  compute" in out and "(1 次不对 wrong)" in out and "01.4  predict" in out
    with pytest.raises(KeyError, match="no exercises for notebook '99'"):
        progress("99")


def test_every_notebook_has_three_exercises_of_at_least_two_kinds():
    for number in sorted({i[:2] for i in EXERCISES}):
        kinds = [e.kind for i, e in EXERCISES.items() if i.startswith(number + ".")]
        assert len(kinds) >= 3 and len(set(kinds)) >= 2 and "predict" in kinds, (number, kinds)


# ---- compute / read-the-figure answers, each computed here from the package or the weights ----------------------
def value_answers():
    from seqeval.metrics import f1_score, precision_score, recall_score

    from bertcourse.exercises import NER_GOLD, NER_PREDICTED
    from bertcourse.sentence_embeddings import sentence_embeddings
    from bertcourse.tasks import qa

    tok, model = BertTokenizer.from_pretrained(), load_pretrained()
    enc = tok.encode("Who worked with Ada Lovelace?", "Ada Lovelace worked with Charles Babbage in London in 1843.")
    n = sum(1 for t, s in zip(enc.tokens, enc.token_type_ids) if s == 1 and t != "[SEP]")
    with torch.device("meta"):
        block, chinese = EncoderLayer(BertConfig.base()), BertModel(BertConfig.base(vocab_size=21128))
    e = model.embeddings
    with torch.no_grad():
        layer1 = model(torch.tensor([tok.encode(NEXT_TOKEN_SENTENCE).input_ids]), output_attentions=True).attentions[1]
    on_next = layer1[0].diagonal(offset=1, dim1=1, dim2=2).mean(-1)        # (nh,)
    long = max(qa.load("test"), key=lambda q: len(q.context))
    windows = qa.make_windows(tok, long.question, long.context, max_length=256, doc_stride=128)
    plane, aeroplane = sentence_embeddings(model, tok, ["A plane is taking off.", "An aeroplane is departing."])
    gold, predicted = [NER_GOLD], [NER_PREDICTED]
    return {
        "00.1": 5 * 768 + 5, "00.2": n * (n + 1) / 2, "01.3": 12 * 12 * 512 ** 2 * 4 / 2 ** 20,
        "02.3": sum(p.numel() for p in block.parameters()),
        "03.2": sum(t.weight.numel() for t in (e.word_embeddings, e.token_type_embeddings, e.position_embeddings)),
        "03.3": sum(t.startswith("##") for t in tok.vocab), "04.2": sum(p.numel() for p in chinese.parameters()) / 1e6,
        "04.3": (int(on_next.argmax()), float(on_next.max())), "05.1": 510 * 0.15 * 0.8,
        "05.2": (5 * 0.15 + 0.85 ** 5) / 5, "05.3": 0.2 * 0.3 / (1 - 0.2 * 0.7), "06.1": 0.77 * 0.5,
        "06.2": F.nll_loss(torch.tensor([[0.8, 0.2], [0.6, 0.4]]).log(), torch.tensor([0, 1])).item(),
        "06.3": 0.9 * 125 + 0.1 * sum(range(2, 126)) / 124, "07.1": 1e6 * 256 * 512 / 3.3e9,
        "07.3": 6 * 110e6 * 1e6 * 256 * 512 / 1e18, "08.2": (384 * 384 + 384) + (384 * 3 + 3),
        "09.3": tuple(f(gold, predicted) for f in (precision_score, recall_score, f1_score)),
        "10.2": sum(sum(o is not None for o in w.offsets) for w in windows), "11.3": float(plane @ aeroplane),
    }


def test_every_value_exercise_accepts_its_computed_answer_and_refuses_a_near_miss(capsys):
    answers = value_answers()
    assert sorted(answers) == sorted(i for i, e in EXERCISES.items() if isinstance(e, ValueExercise))
    for exercise_id, answer in answers.items():
        assert verdict(capsys, exercise_id, answer)[0], exercise_id
        step = 10.0 ** -(EXERCISES[exercise_id].decimals or 0)
        near = tuple(a + step for a in answer) if isinstance(answer, tuple) else answer + step
        assert not verdict(capsys, exercise_id, near)[0], exercise_id
