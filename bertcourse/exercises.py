"""Checks for the notebooks' exercises: `check("05.2", answer)` says right or wrong, with a hint.

The answers are never stored in plain text: a number or a word is compared through a salted sha256 of
its normalised form, and a function the student writes is compared with the package's own implementation
on random inputs (so the reference is code the student has already read, not a printed answer).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import torch

from .attention import MultiHeadSelfAttention, additive_mask, left_to_right_mask, scaled_dot_product_attention
from .config import BertConfig
from .model import BertForPreTraining


def digest(exercise_id: str, answer: object, decimals: int | None = None) -> str:
    """The stored form of an answer: numbers rounded to `decimals`, text lowercased and stripped."""
    if decimals is not None:
        answer = f"{round(float(answer), decimals):.{decimals}f}"
    text = " ".join(str(answer).strip().lower().split())
    return hashlib.sha256(f"bertcourse:{exercise_id}:{text}".encode()).hexdigest()


@dataclass(frozen=True)
class ValueExercise:
    """A number (compared after rounding to `decimals` places) or a short text answer."""
    sha256: str
    hint: str
    decimals: int | None = None

    def is_right(self, exercise_id: str, answer: object) -> bool:
        return digest(exercise_id, answer, self.decimals) == self.sha256


@dataclass(frozen=True)
class FunctionExercise:
    """A function the student writes, compared with `reference` on `trials` random inputs."""
    reference: Callable
    make_inputs: Callable[[torch.Generator], tuple]   # random arguments for one trial
    hint: str
    trials: int = 20
    atol: float = 1e-5

    def is_right(self, exercise_id: str, answer: object) -> bool:
        g = torch.Generator().manual_seed(0)
        for _ in range(self.trials):
            args = self.make_inputs(g)
            if not same(answer(*args), self.reference(*args), self.atol):
                return False
        return True


def same(mine: object, theirs: object, atol: float) -> bool:
    """Tensors, numbers and (nested) tuples or lists compared elementwise within `atol`."""
    if isinstance(theirs, (tuple, list)):
        return (isinstance(mine, (tuple, list)) and len(mine) == len(theirs)
                and all(same(a, b, atol) for a, b in zip(mine, theirs)))
    if torch.is_tensor(theirs):
        mine = torch.as_tensor(mine)
        return mine.shape == theirs.shape and torch.allclose(mine.double(), theirs.double(), atol=atol)
    return mine == theirs


EXERCISES: dict[str, ValueExercise | FunctionExercise] = {}


def is_number(x: object) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) or (torch.is_tensor(x) and x.numel() == 1)


def register(exercise_id: str, exercise: ValueExercise | FunctionExercise) -> None:
    if exercise_id in EXERCISES:
        raise ValueError(f"exercise {exercise_id} is registered twice")
    EXERCISES[exercise_id] = exercise


def check(exercise_id: str, answer: object) -> bool:
    """Print a clear verdict (with a hint when wrong) and return it."""
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; the notebooks' exercises are {', '.join(sorted(EXERCISES))}")
    exercise = EXERCISES[exercise_id]
    if answer is None:
        print(f"⏳ {exercise_id}: 还没有作答 (no answer yet). 提示 (hint): {exercise.hint}")
        return False
    if isinstance(exercise, FunctionExercise) and not callable(answer):
        raise TypeError(f"exercise {exercise_id} expects a function, got {type(answer).__name__}")
    if isinstance(exercise, ValueExercise) and exercise.decimals is not None and not is_number(answer):
        raise TypeError(f"exercise {exercise_id} expects a number, got {type(answer).__name__}")
    try:
        right = exercise.is_right(exercise_id, answer)
    except NotImplementedError:
        print(f"⏳ {exercise_id}: 函数还没有写完 (not implemented yet). 提示 (hint): {exercise.hint}")
        return False
    except Exception as error:  # the student's function crashed: that is an answer too, and a wrong one
        print(f"❌ {exercise_id}: 你的函数出错了 (your function raised) {type(error).__name__}: {error}")
        return False
    print(f"✅ {exercise_id}: 正确 (correct)!" if right else f"❌ {exercise_id}: 还不对 (not yet). 提示 (hint): {exercise.hint}")
    return right


# ---- the notebooks' exercises, one section per notebook (ids are "NN.k") ---------------------------------


# ---- 01_self_attention -------------------------------------------------------------------------------------
def _attention_inputs(g: torch.Generator) -> tuple:
    """q, k, v of shape (B, nh, T, hs) and, every other trial, an additive padding mask."""
    B, nh, T, hs = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((1, 3), (1, 4), (2, 7), (2, 9)))
    q, k, v = torch.randn(3, B, nh, T, hs, generator=g).unbind(0)
    keep = (torch.rand(B, T, generator=g) < 0.7).long()
    keep[:, 0] = 1                                                      # every sequence has a real token
    return q, k, v, additive_mask(keep, q.dtype) if torch.rand(1, generator=g) < 0.5 else None


def _multi_head_inputs(g: torch.Generator) -> tuple:
    """x (B, T, H) and the three (H, H) projection matrices (no biases), with H = heads * head size."""
    heads, size = int(torch.randint(1, 5, (1,), generator=g)), int(torch.randint(2, 6, (1,), generator=g))
    x = torch.randn(2, int(torch.randint(2, 7, (1,), generator=g)), heads * size, generator=g)
    w_q, w_k, w_v = (torch.randn(heads * size, heads * size, generator=g) / size for _ in range(3))
    return x, w_q, w_k, w_v, heads


def _package_multi_head(x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor, w_v: torch.Tensor,
                        num_heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The package's MultiHeadSelfAttention with these projections: (context (B, T, H), weights (B, nh, T, T))."""
    mha = MultiHeadSelfAttention(BertConfig(hidden_size=x.size(-1), num_attention_heads=num_heads)).eval()
    with torch.no_grad():
        for layer, weight in zip((mha.query, mha.key, mha.value), (w_q, w_k, w_v)):
            layer.weight.copy_(weight)
            layer.bias.zero_()
        return mha(x, need_weights=True)


register("01.1", FunctionExercise(
    scaled_dot_product_attention, _attention_inputs,
    "scores = q @ k^T / sqrt(d_k)；有 mask 时在 softmax 之前加上它 (add the mask before the softmax)；"
    "返回 (输出, 权重) (return (output, weights))。"))
register("01.2", FunctionExercise(
    _package_multi_head, _multi_head_inputs,
    "x @ w.T 得到 Q、K、V；view 成 (B, T, nh, hs) 再 transpose(1, 2)；每个头做缩放点积注意力；"
    "最后 transpose 回来并 reshape 成 (B, T, H)。返回 (context, weights)。"))
register("01.3", ValueExercise(
    "62abcc2d202de8494b5d0f791d590b1cd4f38712644a1fb28304336c536b5205",
    "每层每个头都有一个 T×T 的权重矩阵 (one T×T matrix per head per layer)；float32 占 4 字节；"
    "1 MB = 2**20 字节。", decimals=1))


# ---- 04_bert_architecture ------------------------------------------------------------------------------------
NEXT_TOKEN_SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank."  # exercise 04.3


def _random_config(g: torch.Generator) -> tuple[BertConfig]:
    """A random BERT shape: the count must follow the formula for every size, not just base and large."""
    pick = [int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in
            ((100, 40000), (1, 17), (8, 97), (1, 13), (64, 1025), (64, 4097), (1, 4))]
    vocab, heads, head_size, layers, positions, ffn, types = pick
    return (BertConfig(vocab_size=vocab, hidden_size=heads * head_size, num_attention_heads=heads,
                       num_hidden_layers=layers, max_position_embeddings=positions, intermediate_size=ffn,
                       type_vocab_size=types),)


def _pretraining_parameters(config: BertConfig) -> int:
    """Parameters of BertForPreTraining, counted from its modules (on the meta device: shapes only)."""
    with torch.device("meta"):
        return sum(p.numel() for p in BertForPreTraining(config).parameters())


register("04.1", FunctionExercise(
    _pretraining_parameters, _random_config,
    "BertModel 的参数 (config.num_parameters()) 加上两个预训练头：MLM 头先 Dense(H→H) + LayerNorm，"
    "再投影到词表——那个 V×H 矩阵与词嵌入共享 (tied)，只有偏置是新的；NSP 头是 Dense(H→2)。"))
register("04.2", ValueExercise(
    "027c75b6a0dd1fc66f5f39ae5848cb7c3cbf92f48f775e76537704367e9b1c03",
    "与 BERT-base 只差词表大小 (only the vocabulary size differs)：哪些参数随词表变化？"
    "答案以百万为单位 (in millions)，保留 1 位小数。", decimals=1))
register("04.3", ValueExercise(
    "e0cc6ed16426a04d6449867142334cda78c42b7a262b60e078d8e6bba464d424",
    "用 NEXT_TOKEN_SENTENCE 跑 MiniLM (output_attentions=True)；第 1 层每个头求 w[h, i, i + 1] 对 i 的平均 "
    "(each head's mean weight on the next token)；答案是平均值最大的头号 (the head index, 0-11)。"))


# ---- 03_bert_inputs ------------------------------------------------------------------------------------------
def _pair_segments(len_a: int, len_b: int) -> list[int]:
    """token_type_ids of [CLS] A [SEP] B [SEP], as the package's encode_pair builds them."""
    from .pretraining import NspPair, encode_pair
    from .tokenizer import SPECIAL_TOKENS, BertTokenizer

    tokenizer = BertTokenizer({t: i for i, t in enumerate([*SPECIAL_TOKENS, "a", "b"])})
    return encode_pair(NspPair(["a"] * len_a, ["b"] * len_b, is_next=True), tokenizer)[1]


def _two_lengths(g: torch.Generator) -> tuple[int, int]:
    return tuple(int(n) for n in torch.randint(1, 30, (2,), generator=g))


register("03.1", FunctionExercise(
    _pair_segments, _two_lengths,
    "[CLS] 和第一个 [SEP] 属于句子 A (segment 0)；B 的词元和最后一个 [SEP] 属于句子 B (segment 1)。"
    "返回一个 list，长度 = len_a + len_b + 3。"))
register("03.2", ValueExercise(
    "a0ac204d9e853eb7afa8745eb7ad33bab5f25bf2910ff34c4fc1a9a86b2a3632",
    "三张表的形状都是 (行数, H)：词表大小、句段数 (type_vocab_size)、位置数 (max_position_embeddings)，"
    "都在 model.config 里；不算 LayerNorm。", decimals=0))
register("03.3", ValueExercise(
    "70297ff5d608e661248854edcd9d16e863c7d39513a0fb642786c52305bcd5c6",
    "tok.vocab 是 {词元: id} 的字典；数一数以 '##' 开头的词元 (count the keys starting with '##')。",
    decimals=0))


# ---- 05_masked_lm --------------------------------------------------------------------------------------------
def _one_length(g: torch.Generator) -> tuple[int]:
    return (int(torch.randint(1, 13, (1,), generator=g)),)


register("05.1", ValueExercise(
    "b78da5f0880cd4357e60bfb25516e7cdcd6f196cc9b8f40cc9e1c518de570b4b",
    "512 个位置里有几个是特殊词元 ([CLS]、[SEP])？一个真实词元最后变成 [MASK] 的概率是多少？保留 1 位小数。",
    decimals=1))
register("05.2", ValueExercise(
    "001df7a6131dfc145209213b617c67f71364a025b8699fe9d2c4c4fcbc517e54",
    "别忘了“至少选一个”的规则：5 个词元一个都没抽中的概率是多少？那时会补选几个？保留 3 位小数。",
    decimals=3))
register("05.3", ValueExercise(
    "06748ac7e0ec1413304d1fdc1b54e835fbe5d2fd1fb382bbfc5c5a3515b76373",
    "模型看得见的 (不是 [MASK] 的) 词元有两种来源：没被选中的，和被选中后变随机或保留的；"
    "问的是后者在所有看得见的词元里的比例。保留 3 位小数。", decimals=3))
register("05.4", FunctionExercise(
    left_to_right_mask, _one_length,
    "返回 (T, T) 的 bool 张量：第 i 行 (query) 第 j 列 (key) 为 True 当且仅当 j <= i。"))


# ---- 06_next_sentence ----------------------------------------------------------------------------------------
register("06.1", ValueExercise(
    "e967921296db95b7d7e33bde683df82a84c05db7c54506fc1571063d6eedd4f1",
    "想一想：只有一句的块，B 可能是正例吗？其余的块呢？保留 2 位小数。", decimals=2))
register("06.2", ValueExercise(
    "ad67b3f8ebe019998ed7228e5393ddedefa8f681126e7fe513db51cbe73a2386",
    "交叉熵 = -log(正确类别的概率)；NotNext 的句子对，正确类别的概率是 1 - P(IsNext)。保留 3 位小数。", decimals=3))
register("06.3", ValueExercise(
    "86e72d41c22305fa1e1251a429f66be9586f74a4d2b04a707ace1054e1a244ef",
    "[CLS] A [SEP] B [SEP]：三个特殊词元也占位置。", decimals=0))


# ---- 00_overview, 02_transformer_encoder ---------------------------------------------------------------------
@cache
def _tiny(kind: str) -> torch.nn.Module:
    """A small random 'classifier' (BertForSequenceClassification, 3 labels) or 'layer' (EncoderLayer), in
    eval mode, built once with its own seed so that checking leaves the notebook's random state alone."""
    from .encoder import EncoderLayer
    from .model import BertForSequenceClassification

    with torch.random.fork_rng():
        torch.manual_seed(0)
        config = BertConfig.tiny(vocab_size=100, num_labels=3)
        return (BertForSequenceClassification(config) if kind == "classifier" else EncoderLayer(config)).eval()


def _classifier_logits(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """What BertForSequenceClassification outputs for these ids: (B, num_labels)."""
    return model(input_ids).logits


def _classifier_inputs(g: torch.Generator) -> tuple:
    T = int(torch.randint(2, 12, (1,), generator=g))
    return _tiny("classifier"), torch.randint(0, 100, (2, T), generator=g)


def _exact_gelu(x: torch.Tensor) -> torch.Tensor:
    """The activation of BERT's feed-forward layer, as the package computes it (erf, not tanh)."""
    from .config import ACTIVATIONS

    return torch.nn.functional.gelu(x, approximate=ACTIVATIONS["gelu"])


def _gelu_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    rows, cols = (int(n) for n in torch.randint(1, 9, (2,), generator=g))
    return (4 * torch.randn(rows, cols, generator=g),)


def _block_output(layer: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The package's EncoderLayer applied to x (B, T, H) with an additive padding mask: (B, T, H)."""
    return layer(x, mask)[0]


def _block_inputs(g: torch.Generator) -> tuple:
    layer = _tiny("layer")
    T = int(torch.randint(2, 10, (1,), generator=g))
    keep = torch.ones(2, T, dtype=torch.long)
    keep[1, int(torch.randint(1, T, (1,), generator=g)):] = 0             # the second sequence is padded
    x = torch.randn(2, T, layer.attention.self.query.in_features, generator=g)
    return layer, x, additive_mask(keep, x.dtype)


register("00.1", ValueExercise(
    "ac3b82a401400953ef237f1ee67fe8578182a24ae07fbe4d17caad0e808bada4",
    "分类输出层是一个稠密层 (dense layer)：权重 H × 类别数，再加每个类别一个偏置 (bias)；BERT-base 的 H = 768。",
    decimals=0))
register("00.2", ValueExercise(
    "e90ecb4d8c800b62a45f6c1171fa417ae245882421377bab941e1ccffa7206f6",
    "用 tok.encode(问题, 段落) 编码；段落 (passage) 的词元句段编号 (segment id) 为 1，但最后的 [SEP] 不能当答案。",
    decimals=0))
register("00.3", FunctionExercise(
    _classifier_logits, _classifier_inputs,
    "model.bert(input_ids) 的 pooler_output 就是 tanh(dense(h_[CLS]))；再交给 model.classifier。"
    "注意：直接用 last_hidden_state[:, 0] 少了 pooler 这一步。"))
register("02.1", FunctionExercise(
    _exact_gelu, _gelu_inputs,
    "GELU(x) = x · Φ(x)，Φ 是标准正态分布的累积分布函数：Φ(x) = 0.5 · (1 + erf(x / √2))；用 torch.erf。"))
register("02.2", FunctionExercise(
    _block_output, _block_inputs,
    "h = LayerNorm(x + Dense(MHA(x)))，y = LayerNorm(h + Dense(GELU(Dense(h))))：后置 LayerNorm (post-LN)。"
    "权重在 layer.attention.self.query/key/value、layer.attention.output.dense/LayerNorm、"
    "layer.intermediate.dense、layer.output.dense/LayerNorm；mask 在 softmax 之前加到分数上。"))
register("02.3", ValueExercise(
    "195bd099f587a07898b33436d18019f194d6ddcd4741733e4c41f4fb95d53a41",
    "按本节的公式：注意力 4 × (H·H + H)，两个 LayerNorm 各 2H，前馈 H·I + I 和 I·H + H；BERT-base: H = 768，I = 3072。",
    decimals=0))


# ---- 08_sentence_classification ------------------------------------------------------------------------------
def _confusion_accuracy(counts: torch.Tensor) -> torch.Tensor:
    """tasks.classification.confusion_accuracy as a 0-d tensor, so that a float or a tensor answer is compared
    within atol."""
    from .tasks.classification import confusion_accuracy

    return torch.tensor(confusion_accuracy(counts))


def _confusion_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    C = int(torch.randint(2, 6, (1,), generator=g))
    counts = torch.randint(0, 30, (C, C), generator=g)                       # (C, C): gold rows, predicted columns
    return (counts + torch.diag(torch.randint(10, 60, (C,), generator=g)),)  # a fair classifier: a heavy diagonal


def _cls_head_probabilities(hidden: torch.Tensor, pooler_weight: torch.Tensor, pooler_bias: torch.Tensor,
                            classifier_weight: torch.Tensor, classifier_bias: torch.Tensor) -> torch.Tensor:
    """The package's own head modules (BertForSequenceClassification's pooler and classifier) run with
    these weights on hidden (B, T, H), then softmax: (B, C) class probabilities."""
    from torch.func import functional_call

    model = _tiny("classifier")
    with torch.no_grad():
        pooled = functional_call(model.bert.pooler, {"dense.weight": pooler_weight, "dense.bias": pooler_bias},
                                 (hidden,))                                   # (B, H)
        logits = functional_call(model.classifier, {"weight": classifier_weight, "bias": classifier_bias},
                                 (pooled,))                                   # (B, C)
    return logits.softmax(-1)


def _cls_head_inputs(g: torch.Generator) -> tuple[torch.Tensor, ...]:
    model = _tiny("classifier")
    H, C = model.config.hidden_size, model.config.num_labels
    B, T = (int(n) for n in torch.randint(1, 6, (2,), generator=g))
    return (torch.randn(B, T, H, generator=g), 0.1 * torch.randn(H, H, generator=g), 0.1 * torch.randn(H, generator=g),
            0.3 * torch.randn(C, H, generator=g), torch.randn(C, generator=g))


register("08.1", FunctionExercise(
    _confusion_accuracy, _confusion_inputs,
    "行 (row) 是真实类别，列 (column) 是预测类别：对角线 (diagonal) 上是分对的样本。准确率 = 对角线之和 / 全部样本数；"
    "不是各类召回率 (recall) 的平均。"))
register("08.2", ValueExercise(
    "b55c8909cb1ff44d34ecb7f00e32b1af95c753dd83fc8dc8f3178f9b3f30e695",
    "冻结后只剩输出层 (H × 类别数 + 类别数)；pooler 是一个 H × H 的稠密层加 H 个偏置。MiniLM 的 H = 384，"
    "蕴含任务有 3 类。可以用 freeze_encoder 再把 model.bert.pooler 的 requires_grad 打开来数一数。",
    decimals=0))
register("08.3", FunctionExercise(
    _cls_head_probabilities, _cls_head_inputs,
    "只取第 0 个位置 ([CLS]) 的向量：hidden[:, 0]；pooled = tanh(h W_p^T + b_p)；logits = pooled W_c^T + b_c；"
    "最后对类别维做 softmax。"))


# ---- 09_ner --------------------------------------------------------------------------------------------------
NER_WORDS = ["Carlos", "Alcaraz", "beat", "Jannik", "Sinner", "in", "Paris"]          # exercise 09.3
NER_GOLD = ["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC"]
NER_PREDICTED = ["B-PER", "I-PER", "O", "B-PER", "O", "O", "O"]


def _align_labels(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    """The package's tasks.ner.align_labels (imported when checked, like the other references)."""
    from .tasks.ner import align_labels

    return align_labels(word_ids, word_labels)


def _word_ids_and_labels(g: torch.Generator) -> tuple[list[int | None], list[int]]:
    """encode_words' word ids of a random sentence ([CLS], 1-4 sub-tokens per word, [SEP]) and a tag id per word."""
    pieces = torch.randint(1, 5, (int(torch.randint(1, 12, (1,), generator=g)),), generator=g).tolist()
    word_ids = [None] + [w for w, n in enumerate(pieces) for _ in range(n)] + [None]
    return word_ids, torch.randint(0, 9, (len(pieces),), generator=g).tolist()


def _count_entities(tags: list[str]) -> int:
    """How many entities the package's tasks.ner.entities reads in a BIO tag sequence."""
    from .tasks.ner import entities

    return len(entities(tags))


def _random_tags(g: torch.Generator) -> tuple[list[str]]:
    """Any sequence of tags, ill-formed ones included (an I-X after O or after another type), as taggers emit."""
    from .tasks.ner import TAGS

    return ([TAGS[i] for i in torch.randint(0, len(TAGS), (int(torch.randint(0, 16, (1,), generator=g)),),
                                            generator=g).tolist()],)


register("09.1", FunctionExercise(
    _align_labels, _word_ids_and_labels,
    "word_ids 里 None 是 [CLS]/[SEP]；一个词的第一个子词 (first sub-token) 是 word_ids[k] 不等于 word_ids[k - 1] 的位置。"
    "返回和 word_ids 一样长的 list：第一个子词放这个词的标签，其余位置放 -100。", trials=50))
register("09.2", FunctionExercise(
    _count_entities, _random_tags,
    "不能只数 B-：模型也会输出不合规的序列。按 conlleval / seqeval 的读法：I-X 如果不是接在同类型 X 的实体后面，"
    "它就开始一个新实体 (和 B-X 一样)；类型一变，前一个实体就结束。", trials=200))
register("09.3", ValueExercise(
    "43a60f81f44f4b356cff2ce4878b0ff7ee46663e67724628dba9cca08cffe971",
    "先列出金标准 (gold) 和预测各有哪些实体 (类型, 起点, 终点)；只有类型和两端都对才算命中 (hit)。"
    "precision = 命中 / 预测的实体数，recall = 命中 / 金标准实体数，F1 是两者的调和平均。保留 2 位小数。", decimals=2))


# ---- 10_question_answering -----------------------------------------------------------------------------------
def _best_span(start_logits: torch.Tensor, end_logits: torch.Tensor, max_answer_length: int) -> tuple[int, int]:
    """tasks.qa.decode_spans on one window whose every token is one character of the passage."""
    from .tasks.qa import decode_spans

    T = len(start_logits)
    best = decode_spans(start_logits[None], end_logits[None], [[(t, t + 1) for t in range(T)]], "x" * T,
                        max_answer_length, n_best=1)[0]
    return best.start_char, best.end_char - 1


def _span_logits(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, int]:
    T = int(torch.randint(2, 30, (1,), generator=g))
    return torch.randn(T, generator=g), torch.randn(T, generator=g), int(torch.randint(1, 6, (1,), generator=g))


register("10.1", FunctionExercise(
    _best_span, _span_logits,
    "在所有 i <= j 且 j - i + 1 <= max_answer_length 的 (i, j) 中找 start_logits[i] + end_logits[j] 最大的一对；"
    "不能分别取两个 argmax (终点可能在起点之前)。返回 (i, j) 两个 int。"))
register("10.2", ValueExercise(
    "c2dbb120fe013a5ea2452c9586325d3843c66610880674aa37924e8f4ac01ec1",
    "每个窗口放 256 - 问题词元数 - 3 个文本词元；窗口起点每次后移 128 个词元，直到某个窗口到达文本末尾。", decimals=0))


# ---- 07_pretraining ------------------------------------------------------------------------------------------
def _unigram_baseline(train_pairs: list, eval_pairs: list) -> torch.Tensor:
    """pretraining.unigram_baseline as a 0-d tensor, so a float or a tensor answer is compared within atol."""
    from .pretraining import unigram_baseline

    return torch.tensor(unigram_baseline(train_pairs, eval_pairs), dtype=torch.float64)


def _random_pairs(g: torch.Generator) -> tuple[list, list]:
    """Train and eval NspPairs over a few words; which word is most frequent changes from trial to trial,
    and a tie for the top is broken by one extra copy, so every correct answer agrees."""
    from collections import Counter

    from .pretraining import NspPair

    words = ["the", "cat", "sat", "on", "mat", "and", "dog"]
    weights = torch.tensor([8.0, 4, 3, 2, 2, 1, 1])[torch.randperm(len(words), generator=g)]

    def segment() -> list[str]:
        n = int(torch.randint(1, 12, (1,), generator=g))
        return [words[i] for i in torch.multinomial(weights, n, replacement=True, generator=g)]

    def pairs(n: int) -> list:
        return [NspPair(segment(), segment(), bool(torch.rand(1, generator=g) < 0.5)) for _ in range(n)]

    train, evaluation = pairs(int(torch.randint(3, 15, (1,), generator=g))), pairs(int(torch.randint(3, 15, (1,), generator=g)))
    (top, n), *rest = Counter(t for p in train for t in (*p.tokens_a, *p.tokens_b)).most_common()
    if rest and rest[0][1] == n:
        train[0].tokens_a.append(top)
    return train, evaluation


register("07.1", ValueExercise(
    "858360a4f594cb84b21f07038e23488cda27abb3e006fbe63ca5013e5023e546",
    "词元位置总数 = 步数 × 每批序列数 × 每个序列的词元数；再除以语料的词数。保留 1 位小数。", decimals=1))
register("07.2", FunctionExercise(
    _unigram_baseline, _random_pairs,
    "collections.Counter 数训练句子对里 tokens_a + tokens_b 的全部词元，most_common(1) 得到最常见的词元；"
    "再数它在评估句子对的全部词元里出现了几次，除以评估词元总数。"))
register("07.3", ValueExercise(
    "70bf9a850d70219f7a6c225c4882c98e3f74550798a5791f8bc2877b5a39b64d",
    "6 × N × D，N = 110 × 10**6，D = 10**6 × 256 × 512；1 EFLOP = 10**18 次浮点运算。保留 0 位小数。", decimals=0))


# ---- 11_semantic_similarity ----------------------------------------------------------------------------------
def _pool_inputs(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """hidden (B, T, H) and a right-padded 1/0 attention mask (B, T) with at least one real token per row."""
    B, T, H = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((1, 5), (1, 9), (1, 7)))
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    return torch.randn(B, T, H, generator=g), (torch.arange(T) < lengths[:, None]).long()


def _mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    from .sentence_embeddings import mean_pool

    return mean_pool(hidden, attention_mask)


def _spearman(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """tasks.classification.spearman as a 0-d tensor (compared within atol)."""
    from .tasks.classification import spearman

    return torch.tensor(spearman(x, y), dtype=torch.float64)


def _tied_scores(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (N,) score vectors with many ties (x on a coarse grid, y in steps of 0.25 as gold scores are)."""
    N = int(torch.randint(5, 40, (1,), generator=g))
    x = torch.randint(0, 6, (N,), generator=g).float()
    y = torch.round(20 * torch.rand(N, generator=g)) / 4
    x[:2], y[:2] = torch.tensor([0.0, 5.0]), torch.tensor([0.0, 5.0])   # never constant
    return x, y


register("11.1", FunctionExercise(
    _mean_pool, _pool_inputs,
    "把掩码变成 (B, T, 1) 的浮点数，乘到 hidden 上，沿 T 求和，再除以每句真实词元的个数 (掩码沿 T 的和)。"))
register("11.2", FunctionExercise(
    _spearman, _tied_scores,
    "名次 (rank) 从 1 开始；并列的值 (tie) 都取它们所占名次的平均，例如两个并列第 2 都记 2.5。"
    "然后对两组名次算 Pearson：去均值后的点积 / 两个范数之积。"))
register("11.3", ValueExercise(
    "d639c6b5f1cbb9946dcf908d0a5d4cbdd90f1df0609b884d70e1797de89350ba",
    "sentence_embeddings(model, tok, [句1, 句2]) 返回两个单位向量；余弦就是它们的点积。保留 2 位小数。", decimals=2))
