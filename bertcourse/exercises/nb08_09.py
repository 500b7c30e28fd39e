"""Exercises of 08_sentence_classification and 09_ner."""
from __future__ import annotations

import torch

from .common import minilm, randint, tiny
from .core import FunctionExercise, PredictionExercise, ValueExercise, register
from .nb00_01 import NUMBER, PREDICT

NER_WORDS = ["Carlos", "Alcaraz", "beat", "Jannik", "Sinner", "at", "Roland", "Garros", "in", "Paris", "for",
             "Spain"]                                                                   # exercise 09.3
NER_GOLD = ["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-LOC", "O", "B-LOC"]
NER_PREDICTED = ["B-PER", "I-PER", "O", "B-PER", "O", "O", "B-ORG", "I-ORG", "O", "B-LOC", "O", "O"]


# ---- 08_sentence_classification ------------------------------------------------------------------------------
def _confusion_accuracy(counts: torch.Tensor) -> torch.Tensor:
    """tasks.classification.confusion_accuracy as a 0-d tensor, so that a float or a tensor answer is compared
    within atol."""
    from ..tasks.classification import confusion_accuracy

    return torch.tensor(confusion_accuracy(counts))


def _mean_recall(counts: torch.Tensor) -> torch.Tensor:
    return (counts.diagonal() / counts.sum(1)).mean()


def _confusion_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    C = randint(g, 2, 6)
    counts = torch.randint(0, 30, (C, C), generator=g)                       # (C, C): gold rows, predicted columns
    return (counts + torch.diag(torch.randint(10, 60, (C,), generator=g)),)  # a fair classifier: a heavy diagonal


def _cls_head_probabilities(hidden: torch.Tensor, pooler_weight: torch.Tensor, pooler_bias: torch.Tensor,
                            classifier_weight: torch.Tensor, classifier_bias: torch.Tensor) -> torch.Tensor:
    """The package's own head modules (BertForSequenceClassification's pooler and classifier) run with
    these weights on hidden (B, T, H), then softmax: (B, C) class probabilities."""
    from torch.func import functional_call

    model = tiny("classifier")
    with torch.no_grad():
        pooled = functional_call(model.bert.pooler, {"dense.weight": pooler_weight, "dense.bias": pooler_bias},
                                 (hidden,))                                   # (B, H)
        logits = functional_call(model.classifier, {"weight": classifier_weight, "bias": classifier_bias},
                                 (pooled,))                                   # (B, C)
    return logits.softmax(-1)


def _head_logits(hidden, pooler_weight, pooler_bias, classifier_weight, classifier_bias) -> torch.Tensor:
    return _cls_head_probabilities(hidden, pooler_weight, pooler_bias, classifier_weight, classifier_bias).log()


def _head_without_tanh(hidden, pooler_weight, pooler_bias, classifier_weight, classifier_bias) -> torch.Tensor:
    return ((hidden[:, 0] @ pooler_weight.T + pooler_bias) @ classifier_weight.T + classifier_bias).softmax(-1)


def _cls_head_inputs(g: torch.Generator) -> tuple[torch.Tensor, ...]:
    model = tiny("classifier")
    H, C = model.config.hidden_size, model.config.num_labels
    B, T = randint(g, 1, 6), randint(g, 1, 6)
    return (torch.randn(B, T, H, generator=g), 0.1 * torch.randn(H, H, generator=g), 0.1 * torch.randn(H, generator=g),
            0.3 * torch.randn(C, H, generator=g), torch.randn(C, generator=g))


def _pooled_cosine() -> float:
    """Cosine of MiniLM's frozen pooler outputs (tanh(dense([CLS]))) for two opposite sentences."""
    tok, model = minilm()
    with torch.no_grad():
        pooled = [model(torch.tensor([tok.encode(text).input_ids])).pooler_output[0]
                  for text in ("I loved this film.", "I hated this film.")]
    return round(float(torch.nn.functional.cosine_similarity(*pooled, dim=0)), 2)


register("08.1", FunctionExercise(
    _confusion_accuracy, _confusion_inputs,
    ("行 (row) 是真实类别，列 (column) 是预测类别：分对的样本在哪里？",
     "分对的样本在对角线 (diagonal) 上；准确率 = 分对的 / 全部样本数。",
     "return counts.diagonal().sum() / counts.sum()"),
    forbid=("bertcourse.tasks.classification.confusion_accuracy",),
    mistakes=((_mean_recall, "这是各类召回率 (recall) 的平均：准确率是对角线之和除以全部样本数。"),)))
register("08.2", ValueExercise(
    "b55c8909cb1ff44d34ecb7f00e32b1af95c753dd83fc8dc8f3178f9b3f30e695", NUMBER,
    ("冻结后哪些层还在训练？pooler 和输出层各有多少参数？",
     "pooler：H × H 的稠密层加 H 个偏置；输出层：H × 类别数加类别数个偏置；MiniLM 的 H = 384，蕴含任务 3 类。",
     "384 × 384 + 384 + 384 × 3 + 3；可以用 freeze_encoder 再打开 model.bert.pooler 的 requires_grad 数一数。"),
    decimals=0, mistakes=(("095fa5f5cf1fa39186636bf179ab2dec3453e417235052adcd87dfae116c06fd", "这只是输出层：题目里 pooler 也一起训练。"),
                          ("df8b928742f0a96a8027081c839257ba90ee13c228b7e066092f99f575130033", "少了偏置 (bias)：pooler 有 384 个，输出层有 3 个。"))))
register("08.3", FunctionExercise(
    _cls_head_probabilities, _cls_head_inputs,
    ("分类头只读一个位置的向量：哪一个？它经过哪两层？最后要返回概率。",
     "hidden[:, 0] 是 [CLS]；pooled = tanh(h W_p^T + b_p)；logits = pooled W_c^T + b_c。",
     "return (torch.tanh(hidden[:, 0] @ pooler_weight.T + pooler_bias) @ classifier_weight.T "
     "+ classifier_bias).softmax(-1)"),
    forbid=("bertcourse.model.Pooler.forward", "bertcourse.model.BertForSequenceClassification.forward"),
    mistakes=((_head_without_tanh, "pooler 少了 tanh：pooled = tanh(h W_p^T + b_p)。"),
              (_head_logits, "返回的是 log 概率：最后对类别维做 softmax，返回概率。"))))
register("08.4", PredictionExercise(
    _pooled_cosine, PREDICT + "：两句的 pooler 输出的余弦 (a number in [-1, 1])",
    ("冻结的 [CLS] 特征在 §4 比完整微调差一截：它们能分清正负情感吗？",
     "MiniLM 从没训练过 pooler 去表示整句的意思：意思相反的两句，pooler 输出几乎一样。"),
    tolerance=0.05))


# ---- 09_ner --------------------------------------------------------------------------------------------------
def _align_labels(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    """The package's tasks.ner.align_labels (imported when checked, like the other references)."""
    from ..tasks.ner import align_labels

    return align_labels(word_ids, word_labels)


def _every_piece(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    return [-100 if w is None else word_labels[w] for w in word_ids]


def _word_ids_and_labels(g: torch.Generator) -> tuple[list[int | None], list[int]]:
    """encode_words' word ids of a random sentence ([CLS], 1-4 sub-tokens per word, [SEP]) and a tag id per word."""
    pieces = torch.randint(1, 5, (randint(g, 1, 12),), generator=g).tolist()
    word_ids = [None] + [w for w, n in enumerate(pieces) for _ in range(n)] + [None]
    return word_ids, torch.randint(0, 9, (len(pieces),), generator=g).tolist()


def _count_entities(tags: list[str]) -> int:
    """How many entities the package's tasks.ner.entities reads in a BIO tag sequence."""
    from ..tasks.ner import entities

    return len(entities(tags))


def _count_b_tags(tags: list[str]) -> int:
    return sum(t.startswith("B-") for t in tags)


def _random_tags(g: torch.Generator) -> tuple[list[str]]:
    """Any sequence of tags, ill-formed ones included (an I-X after O or after another type), as taggers emit."""
    from ..tasks.ner import TAGS

    return ([TAGS[i] for i in torch.randint(0, len(TAGS), (randint(g, 0, 16),), generator=g).tolist()],)


def _ignored_positions() -> int:
    """Tokens of one sentence whose training label is -100 ([CLS], [SEP] and continuation pieces)."""
    from ..tasks.ner import align_labels, encode_words

    words = "Arnold Schwarzenegger visited Ouagadougou yesterday .".split()
    _, word_ids = encode_words(minilm()[0], words, max_length=64)
    return align_labels(word_ids, [0] * len(words)).count(-100)


register("09.1", FunctionExercise(
    _align_labels, _word_ids_and_labels,
    ("一个词被切成几个子词时，标签放在哪一个上？特殊词元 (None) 放什么？",
     "第一个子词 (first sub-token) 是 word_ids[k] 不等于 word_ids[k − 1] 的位置；其余位置和 None 放 -100。",
     "labels, previous = [], None; for w in word_ids: labels.append(-100 if w is None or w == previous "
     "else word_labels[w]); previous = w"),
    forbid=("bertcourse.tasks.ner.align_labels",),
    mistakes=((_every_piece, "每个子词都放了词的标签：只有第一个子词有标签，其余放 -100。"),), trials=50))
register("09.2", FunctionExercise(
    _count_entities, _random_tags,
    ("不能只数 B-：模型也会输出不合规的序列。I-X 跟在 O 后面时算什么？",
     "按 conlleval / seqeval 的读法：I-X 如果不是接在同类型 X 的实体后面，它就开始一个新实体 (和 B-X 一样)。",
     "从左到右走：遇到 B-X，或遇到 I-X 而前一个标签不是同类型的 B-X / I-X，就多一个实体。"),
    forbid=("bertcourse.tasks.ner.entities", "seqeval.metrics.sequence_labeling.get_entities"),
    mistakes=((_count_b_tags, "只数了 B- 标签：接在 O 或别的类型后面的 I-X 也开始一个新实体。"),), trials=200))
register("09.3", ValueExercise(
    "9d0af7e8a6bad93dd5ee2ba3086f5b086c04c7be951a7e0b048e1bceec9c4aa8", "把答案 (precision, recall, F1) 赋给 answer，例如 (0.25, 0.75, 0.375)，各保留 3 位小数",
    ("先列出金标准 (gold) 和预测各有哪些实体 (类型, 起点, 终点)。",
     "只有类型和两端都对才算命中 (hit)：precision = 命中 / 预测的实体数，recall = 命中 / 金标准实体数。",
     "F1 是 precision 和 recall 的调和平均：2PR / (P + R)。"),
    decimals=3, mistakes=(("be01661aa0e56fbbb0eb1cd70717d710b7f48d307769bc2c2c1a61b255a43246",
                          "precision 和 recall 弄反了：precision 的分母是预测的实体数。"),)))
register("09.4", PredictionExercise(
    _ignored_positions, PREDICT + "：标签为 -100 的词元个数 (an integer)",
    ("哪些词元的标签是 -100？[CLS]、[SEP]，还有每个词第一个子词之后的那些。",
     "罕见的人名、地名会被 WordPiece 切成好几块：用 tok.tokenize 看看会切成几块。"),
    tolerance=0))
