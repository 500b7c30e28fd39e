"""The exercise checker (digests, verdicts, messages), and every notebook exercise: a right answer, computed
here by code (never written out), passes; a wrong one fails."""
import math

import pytest
import torch

from bertcourse import BertConfig, BertModel, BertTokenizer, load_pretrained
from bertcourse.embeddings import Embeddings
from bertcourse.encoder import EncoderLayer
from bertcourse.model import Pooler, PreTrainingHeads
from bertcourse.exercises import NEXT_TOKEN_SENTENCE, check


# ---- 01_self_attention -------------------------------------------------------------------------------------
def einsum_attention(q, k, v, mask=None, scale=True):
    scores = torch.einsum("bhid,bhjd->bhij", q, k) / (math.sqrt(q.size(-1)) if scale else 1.0)
    weights = (scores if mask is None else scores + mask).softmax(-1)
    return torch.einsum("bhij,bhjd->bhid", weights, v), weights


def test_01_1_scaled_dot_product_attention():
    assert check("01.1", einsum_attention)
    assert not check("01.1", lambda q, k, v, mask=None: einsum_attention(q, k, v, mask, scale=False))
    assert not check("01.1", lambda q, k, v, mask=None: einsum_attention(q, k, v))  # ignores the padding mask


def per_head_attention(x, w_q, w_k, w_v, num_heads):
    B, T, H = x.shape
    size = H // num_heads
    contexts, weights = [], []
    for h in range(num_heads):                                              # one head at a time, on its slice
        rows = slice(h * size, (h + 1) * size)
        q, k, v = (x @ w[rows].T for w in (w_q, w_k, w_v))                 # (B, T, size)
        p = (q @ k.transpose(1, 2) / math.sqrt(size)).softmax(-1)
        contexts.append(p @ v)
        weights.append(p)
    return torch.cat(contexts, -1), torch.stack(weights, 1)


def test_01_2_multi_head_attention():
    assert check("01.2", per_head_attention)
    assert not check("01.2", lambda x, w_q, w_k, w_v, num_heads: per_head_attention(x, w_q, w_k, w_v, 1))


def test_01_3_memory_of_the_attention_weights():
    cfg = BertConfig.base()
    n_weights = cfg.num_hidden_layers * cfg.num_attention_heads * cfg.max_position_embeddings ** 2
    assert check("01.3", n_weights * torch.finfo(torch.float32).bits / 8 / 2 ** 20)
    assert not check("01.3", n_weights / 2 ** 20)                          # forgot the 4 bytes


# ---- 04_bert_architecture ------------------------------------------------------------------------------------
def module_count(config: BertConfig) -> int:
    """Counted from the modules (on the meta device: shapes only): embeddings + L blocks + pooler."""
    with torch.device("meta"):
        parts = (Embeddings(config), EncoderLayer(config), Pooler(config))
    embeddings, block, pooler = (sum(p.numel() for p in part.parameters()) for part in parts)
    return embeddings + config.num_hidden_layers * block + pooler


def test_04_1_parameters_with_the_pretraining_heads():
    def with_heads(config: BertConfig) -> int:                              # counted from the head modules
        with torch.device("meta"):
            heads = PreTrainingHeads(config)
        return module_count(config) + sum(p.numel() for p in heads.parameters())

    def untied(config: BertConfig) -> int:                                  # a decoder of its own: wrong
        return with_heads(config) + config.vocab_size * config.hidden_size

    assert check("04.1", with_heads)
    assert not check("04.1", untied)
    assert not check("04.1", module_count)                                  # forgot the heads


def test_04_2_bert_base_chinese_size():
    with torch.device("meta"):
        chinese = BertModel(BertConfig.base(vocab_size=21128))             # bert-base-chinese's vocabulary
    assert check("04.2", sum(p.numel() for p in chinese.parameters()) / 1e6)
    assert not check("04.2", module_count(BertConfig.base()) / 1e6)


def test_04_3_next_token_head():
    tokenizer, model = BertTokenizer.from_pretrained(), load_pretrained()
    enc = tokenizer.encode(NEXT_TOKEN_SENTENCE)
    with torch.no_grad():
        layer1 = model(torch.tensor([enc.input_ids]), output_attentions=True).attentions[1][0]  # (nh, T, T)
    on_next = layer1.diagonal(offset=1, dim1=1, dim2=2).mean(-1)           # (nh,): w[h, i, i + 1] averaged
    assert check("04.3", int(on_next.argmax()))
    assert not check("04.3", int(on_next.argmin()))


# ---- 03_bert_inputs ------------------------------------------------------------------------------------------
def test_03_1_segment_ids_of_a_pair():
    tokenizer = BertTokenizer.from_pretrained()

    def from_the_tokenizer(len_a, len_b):
        return tokenizer.encode(" ".join(["dog"] * len_a), " ".join(["cat"] * len_b)).token_type_ids

    assert check("03.1", from_the_tokenizer)
    assert not check("03.1", lambda len_a, len_b: [0] * (len_a + 1) + [1] * (len_b + 2))  # first [SEP] put in B
    assert not check("03.1", lambda len_a, len_b: [0] * (len_a + len_b + 3))


def test_03_2_parameters_of_the_three_embedding_tables():
    e = load_pretrained().embeddings
    tables = sum(t.weight.numel() for t in (e.word_embeddings, e.token_type_embeddings, e.position_embeddings))
    assert check("03.2", tables)
    assert not check("03.2", tables + sum(p.numel() for p in e.LayerNorm.parameters()))


def test_03_3_continuation_pieces_in_the_vocabulary():
    pieces = sum(token.startswith("##") for token in BertTokenizer.from_pretrained().vocab)
    assert check("03.3", pieces)
    assert not check("03.3", pieces + 1)


# ---- 05_masked_lm --------------------------------------------------------------------------------------------
def test_05_1_expected_mask_tokens_in_a_full_sequence():
    real = BertConfig.base().max_position_embeddings - 2                   # [CLS] and [SEP]
    assert check("05.1", real * 0.15 * 0.8)
    assert not check("05.1", 512 * 0.15 * 0.8)


def test_05_2_chosen_share_of_a_five_token_sentence():
    from bertcourse.pretraining import expected_masking_rates

    tokenizer = BertTokenizer.from_pretrained()
    enc = tokenizer.encode("the cat sat down quietly")
    assert len(enc.tokens) == 7
    assert check("05.2", expected_masking_rates(torch.tensor([enc.input_ids]), tokenizer, 0.15)["chosen"])
    assert not check("05.2", 0.15)


def test_05_3_share_of_visible_tokens_that_are_targets():
    from bertcourse.pretraining import IGNORE, mask_tokens

    tokenizer = BertTokenizer.from_pretrained()
    p, mask, random = 0.2, 0.7, 0.15
    assert check("05.3", p * (1 - mask) / (1 - p * mask))
    assert not check("05.3", p * (1 - mask))                                # forgot to condition on "visible"
    ids = torch.tensor([tokenizer.encode("a sentence of ordinary words " * 20).input_ids] * 200)
    masked, labels = mask_tokens(ids, tokenizer, p, mask, random, generator=torch.Generator().manual_seed(0))
    visible = (masked != tokenizer.mask_token_id) & ~torch.isin(ids, torch.tensor(sorted(tokenizer.all_special_ids)))
    measured = ((labels != IGNORE) & visible).sum() / visible.sum()
    assert abs(float(measured) - p * (1 - mask) / (1 - p * mask)) < 0.005   # the formula is what masking does


def test_05_4_left_to_right_mask():
    assert check("05.4", lambda T: torch.ones(T, T).tril().bool())
    assert not check("05.4", lambda T: torch.ones(T, T).triu().bool())


# ---- 06_next_sentence ----------------------------------------------------------------------------------------
def test_06_1_positive_rate_with_single_segment_chunks():
    single = 0.2
    assert check("06.1", single * 0.0 + (1 - single) * 0.5)
    assert not check("06.1", 0.5)


def test_06_2_nsp_loss_of_two_pairs():
    import torch.nn.functional as F

    probabilities = torch.tensor([[0.8, 0.2], [0.6, 0.4]])                 # P(IsNext), P(NotNext) per pair
    labels = torch.tensor([0, 1])                                           # an IsNext pair, a NotNext pair
    assert check("06.2", F.nll_loss(probabilities.log(), labels).item())
    assert not check("06.2", F.nll_loss(probabilities.log(), 1 - labels).item())  # labels the wrong way round


def test_06_3_room_for_a_and_b():
    import random

    from bertcourse.pretraining import make_nsp_pairs

    docs = [[" ".join(["word"] * 150)] * 3, [" ".join(["other"] * 150)] * 3]
    pairs = make_nsp_pairs(docs, BertTokenizer.from_pretrained(), max_length=128, rng=random.Random(0))
    longest = max(len(p.tokens_a) + len(p.tokens_b) for p in pairs)
    assert check("06.3", longest)
    assert not check("06.3", 128 - 2)


# ---- the checker itself ----------------------------------------------------------------------------------------
def test_digest_normalises_the_answer_and_depends_on_the_exercise():
    from bertcourse.exercises import digest

    assert digest("99.1", "  Hello   World ") == digest("99.1", "hello world")
    assert digest("99.1", 3.14159, decimals=2) == digest("99.1", 3.14, decimals=2) != digest("99.1", 3.15, decimals=2)
    assert digest("99.1", 3845, decimals=0) == digest("99.1", 3845.0, decimals=0) == digest("99.1", torch.tensor(3845.2), 0)
    assert digest("99.1", 42) != digest("99.2", 42)                        # the same number is no clue elsewhere


def test_value_and_function_exercises_decide_right_and_wrong():
    from bertcourse.exercises import FunctionExercise, ValueExercise, digest

    value = ValueExercise(digest("99.1", 0.25, decimals=2), "hint", decimals=2)
    assert value.is_right("99.1", 0.2500001) and not value.is_right("99.1", 0.26)
    calls = []

    def reference(x):
        calls.append(x)
        return x.exp()

    function = FunctionExercise(reference, lambda g: (torch.randn(3, generator=g),), "hint", trials=7)
    assert function.is_right("99.2", lambda x: x.double().exp() + 5e-6)   # within atol 1e-5: right
    assert len(calls) == 7                                                 # every trial compared
    assert not function.is_right("99.2", lambda x: x.exp() + 1e-4)
    assert not function.is_right("99.2", lambda x: x.exp()[:2])            # wrong shape


def test_check_says_right_wrong_unanswered_unfinished_and_crashed(monkeypatch, capsys):
    from bertcourse.exercises import EXERCISES, FunctionExercise, ValueExercise, digest

    monkeypatch.setitem(EXERCISES, "99.1", ValueExercise(digest("99.1", 12, 0), "count them", decimals=0))
    monkeypatch.setitem(EXERCISES, "99.2", FunctionExercise(torch.sin, lambda g: (torch.randn(4, generator=g),),
                                                            "use the sine"))

    def unfinished(x):
        raise NotImplementedError

    cases = [("99.1", 12, True, "✅ 99.1"), ("99.1", 13, False, "❌ 99.1: 还不对 (not yet). 提示 (hint): count them"),
             ("99.1", None, False, "⏳ 99.1: 还没有作答 (no answer yet). 提示 (hint): count them"),
             ("99.2", torch.sin, True, "✅ 99.2"), ("99.2", torch.cos, False, "提示 (hint): use the sine"),
             ("99.2", unfinished, False, "⏳ 99.2: 函数还没有写完 (not implemented yet). 提示 (hint): use the sine"),
             ("99.2", lambda x: 1 / 0, False, "your function raised) ZeroDivisionError: division by zero")]
    for exercise_id, answer, verdict, message in cases:
        assert check(exercise_id, answer) is verdict
        assert message in capsys.readouterr().out


def test_check_rejects_unknown_ids_wrong_kinds_of_answer_and_double_registration(monkeypatch):
    from bertcourse.exercises import EXERCISES, FunctionExercise, ValueExercise, digest, register

    monkeypatch.setitem(EXERCISES, "99.1", ValueExercise(digest("99.1", 12, 0), "count them", decimals=0))
    monkeypatch.setitem(EXERCISES, "99.2", FunctionExercise(torch.sin, lambda g: (torch.randn(4, generator=g),), "sine"))
    with pytest.raises(KeyError, match="no exercise '99.9'; the notebooks' exercises are .*99.1"):
        check("99.9", 1)
    with pytest.raises(TypeError, match="expects a number, got str"):
        check("99.1", "twelve")
    with pytest.raises(TypeError, match="expects a function, got int"):
        check("99.2", 3)
    with pytest.raises(ValueError, match="registered twice"):
        register("99.1", EXERCISES["99.1"])


# ---- 00_overview, 02_transformer_encoder ------------------------------------------------------------------------
def test_00_1_size_of_a_new_classification_layer():
    from bertcourse import BertForSequenceClassification

    with torch.device("meta"):
        model = BertForSequenceClassification(BertConfig.base(num_labels=5))
    new = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("bert."))
    assert check("00.1", new)
    assert not check("00.1", model.classifier.weight.numel())             # forgot the biases


def test_00_2_answer_start_positions_in_the_passage():
    enc = BertTokenizer.from_pretrained().encode("Who worked with Ada Lovelace?",
                                                 "Ada Lovelace worked with Charles Babbage in London in 1843.")
    passage = [t for t, s in zip(enc.tokens, enc.token_type_ids) if s == 1 and t != "[SEP]"]
    assert check("00.2", len(passage))
    assert not check("00.2", enc.token_type_ids.count(1))                  # counted the final [SEP]


def test_00_3_classification_logits_from_the_cls_vector():
    def unfinished(model, input_ids):
        raise NotImplementedError

    assert check("00.3", lambda model, ids: model.classifier(model.bert(ids).pooler_output))
    assert not check("00.3", lambda model, ids: model.classifier(model.bert(ids).last_hidden_state[:, 0]))  # no pooler
    assert not check("00.3", unfinished)


def test_02_1_exact_gelu():
    import torch.nn.functional as F

    assert check("02.1", lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2))))
    assert not check("02.1", lambda x: F.gelu(x, approximate="tanh"))     # off by up to 5e-4
    assert not check("02.1", torch.relu)


def block_by_hand(layer, x, mask, pre_ln=False):
    """One encoder block from its weights; post-LN as BERT, or pre-LN (the wrong answer)."""
    import torch.nn.functional as F

    B, T, H = x.shape
    sa, n = layer.attention.self, layer.attention.self.num_heads
    norm1, norm2 = layer.attention.output.LayerNorm, layer.output.LayerNorm

    def attend(z):
        q, k, v = (p(z).view(B, T, n, H // n).transpose(1, 2) for p in (sa.query, sa.key, sa.value))
        w = (q @ k.transpose(-1, -2) / math.sqrt(H // n) + mask).softmax(-1)
        return layer.attention.output.dense((w @ v).transpose(1, 2).reshape(B, T, H))

    def feed_forward(z):
        return layer.output.dense(F.gelu(layer.intermediate.dense(z)))

    if pre_ln:
        h = x + attend(norm1(x))
        return h + feed_forward(norm2(h))
    h = norm1(x + attend(x))
    return norm2(h + feed_forward(h))


def test_02_2_encoder_block_by_hand():
    assert check("02.2", block_by_hand)
    assert not check("02.2", lambda layer, x, mask: block_by_hand(layer, x, mask, pre_ln=True))
    assert not check("02.2", lambda layer, x, mask: block_by_hand(layer, x, torch.zeros_like(mask)))  # padding seen


def test_02_3_parameters_of_a_bert_base_block():
    with torch.device("meta"):
        block = EncoderLayer(BertConfig.base())
    count = sum(p.numel() for p in block.parameters())
    assert check("02.3", count)
    norms = sum(p.numel() for name, p in block.named_parameters() if "LayerNorm" in name)
    assert not check("02.3", count - norms)


# ---- 08_sentence_classification ------------------------------------------------------------------------------
def test_08_1_accuracy_from_a_confusion_matrix():
    def unfinished(counts):
        raise NotImplementedError

    assert check("08.1", lambda counts: counts.diagonal().sum() / counts.sum())
    assert check("08.1", lambda counts: float(counts.trace()) / float(counts.sum()))           # a float is fine too
    assert not check("08.1", lambda counts: (counts.diagonal() / counts.sum(1)).mean())         # mean recall
    assert not check("08.1", lambda counts: counts[0, 0] / counts[0].sum())                    # one class only
    assert not check("08.1", unfinished)


def test_08_2_trainable_weights_of_a_frozen_encoder_with_a_trained_pooler():
    from bertcourse import BertForSequenceClassification
    from bertcourse.checkpoints import default_model_dir
    from bertcourse.finetuning import freeze_encoder

    with torch.device("meta"):
        model = BertForSequenceClassification(BertConfig.from_json(default_model_dir(), num_labels=3))
    head_only = freeze_encoder(model)
    model.bert.pooler.requires_grad_(True)
    with_pooler = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert with_pooler == head_only + sum(p.numel() for p in Pooler(model.config).parameters())
    assert check("08.2", with_pooler)
    assert not check("08.2", head_only)                                     # forgot the pooler
    assert not check("08.2", with_pooler - model.config.hidden_size - 3)    # forgot the biases


def test_08_3_cls_head_forward_by_hand():
    def by_hand(hidden, pooler_weight, pooler_bias, classifier_weight, classifier_bias):
        pooled = torch.tanh(hidden[:, 0] @ pooler_weight.T + pooler_bias)
        return (pooled @ classifier_weight.T + classifier_bias).softmax(-1)

    assert check("08.3", by_hand)
    assert not check("08.3", lambda h, wp, bp, wc, bc: by_hand(h.mean(1, keepdim=True), wp, bp, wc, bc))  # mean pooling
    assert not check("08.3", lambda h, wp, bp, wc, bc: ((h[:, 0] @ wp.T + bp) @ wc.T + bc).softmax(-1))  # no tanh
    assert not check("08.3", lambda h, wp, bp, wc, bc: torch.tanh(h[:, 0] @ wp.T + bp) @ wc.T + bc)      # logits


# ---- 09_ner --------------------------------------------------------------------------------------------------
def first_piece_labels(word_ids, word_labels):
    labels, previous = [], None
    for w in word_ids:
        labels.append(-100 if w is None or w == previous else word_labels[w])
        previous = w
    return labels


def test_09_1_labels_on_first_sub_tokens():
    assert check("09.1", first_piece_labels)
    assert not check("09.1", lambda word_ids, labels: [-100 if w is None else labels[w] for w in word_ids])  # every piece
    assert not check("09.1", lambda word_ids, labels: [0 if x == -100 else x for x in first_piece_labels(word_ids, labels)])


def test_09_2_count_entities_like_seqeval():
    from seqeval.metrics.sequence_labeling import get_entities

    assert check("09.2", lambda tags: len(get_entities(list(tags))))
    assert not check("09.2", lambda tags: sum(t.startswith("B-") for t in tags))       # misses I-X after O


def test_09_3_entity_f1_of_one_sentence():
    from seqeval.metrics import accuracy_score, f1_score

    from bertcourse.exercises import NER_GOLD, NER_PREDICTED, NER_WORDS

    assert len(NER_WORDS) == len(NER_GOLD) == len(NER_PREDICTED)
    assert check("09.3", f1_score([NER_GOLD], [NER_PREDICTED]))
    assert not check("09.3", accuracy_score([NER_GOLD], [NER_PREDICTED]))             # token accuracy is not it


# ---- 07_pretraining ------------------------------------------------------------------------------------------
def test_07_1_epochs_of_bert_pretraining():
    positions, words = 1_000_000 * 256 * 512, 3.3e9
    assert check("07.1", positions / words)
    assert not check("07.1", 1_000_000 * 256 * 128 / words)                   # the length-128 phase only


def counted_baseline(train_pairs, eval_pairs):
    """An independent unigram baseline: list.count instead of a Counter (the inputs have no ties at the top)."""
    train = [t for p in train_pairs for t in p.tokens_a + p.tokens_b]
    evaluation = [t for p in eval_pairs for t in p.tokens_a + p.tokens_b]
    best = max(set(train), key=train.count)
    return evaluation.count(best) / len(evaluation)


def test_07_2_unigram_baseline():
    assert check("07.2", counted_baseline)

    def top_of_eval(train_pairs, eval_pairs):                                # peeks at the evaluation text
        return counted_baseline(eval_pairs, eval_pairs)

    def over_train_tokens(train_pairs, eval_pairs):                          # divides by the wrong count
        train = [t for p in train_pairs for t in p.tokens_a + p.tokens_b]
        evaluation = [t for p in eval_pairs for t in p.tokens_a + p.tokens_b]
        return evaluation.count(max(set(train), key=train.count)) / len(train)

    assert not check("07.2", top_of_eval)
    assert not check("07.2", over_train_tokens)


def test_07_3_flops_of_bert_pretraining():
    N, D = 110e6, 1_000_000 * 256 * 512
    assert check("07.3", 6 * N * D / 1e18)
    assert not check("07.3", 2 * N * D / 1e18)                                 # forward pass only


# ---- 11_semantic_similarity ----------------------------------------------------------------------------------
def test_11_1_mean_pool():
    def loop_mean(hidden, attention_mask):                                    # one sentence at a time
        return torch.stack([h[m.bool()].mean(0) for h, m in zip(hidden, attention_mask)])

    assert check("11.1", loop_mean)
    assert not check("11.1", lambda hidden, attention_mask: hidden.mean(1))  # averages the padding in
    assert not check("11.1", lambda hidden, attention_mask: hidden[:, 0])    # the [CLS] vector


def test_11_2_spearman_with_ties():
    from scipy.stats import pearsonr, spearmanr

    assert check("11.2", lambda x, y: float(spearmanr(x.numpy(), y.numpy()).statistic))
    assert not check("11.2", lambda x, y: float(pearsonr(x.numpy(), y.numpy()).statistic))

    def ranks_without_ties(x, y):                                             # ties get different ranks
        rx, ry = (v.argsort(stable=True).argsort().double() for v in (x, y))
        return float(pearsonr(rx.numpy(), ry.numpy()).statistic)

    assert not check("11.2", ranks_without_ties)


def test_11_3_cosine_of_two_sentences():
    from bertcourse.sentence_embeddings import sentence_embeddings

    tok, model = BertTokenizer.from_pretrained(), load_pretrained()
    plane, aeroplane, flute = sentence_embeddings(model, tok, ["A plane is taking off.", "An aeroplane is departing.",
                                                                "A man is playing a flute."])
    assert check("11.3", float(plane @ aeroplane))
    assert not check("11.3", float(plane @ flute))


# ---- 10_question_answering -----------------------------------------------------------------------------------
def test_10_1_best_span_over_valid_start_end_pairs():
    def brute_force(start, end, max_len):
        pairs = [(i, j) for i in range(len(start)) for j in range(i, min(len(end), i + max_len))]
        return max(pairs, key=lambda ij: float(start[ij[0]] + end[ij[1]]))

    def two_argmaxes(start, end, max_len):  # may end before it starts, or run too long
        return int(start.argmax()), int(end.argmax())

    def unfinished(start, end, max_len):
        raise NotImplementedError

    assert check("10.1", brute_force)
    assert not check("10.1", two_argmaxes)
    assert not check("10.1", lambda s, e, m: brute_force(s, e, m + 1))      # off by one in the length
    assert not check("10.1", unfinished)


def test_10_2_windows_of_the_long_test_passage():
    from bertcourse.tasks import qa

    tok = BertTokenizer.from_pretrained()
    long = max(qa.load("test"), key=lambda q: len(q.context))
    n = len(qa.make_windows(tok, long.question, long.context, max_length=256, doc_stride=128))
    assert check("10.2", n)
    assert not check("10.2", n - 1)
    assert not check("10.2", len(qa.make_windows(tok, long.question, long.context, max_length=128)))  # the notebook's
