"""Exercises of 06_next_sentence and 07_pretraining."""
from __future__ import annotations

import math

import torch

from .common import randint, sentence_cosine
from .core import FunctionExercise, PredictionExercise, ValueExercise, register
from .nb00_01 import NUMBER, PREDICT


# ---- 06_next_sentence ----------------------------------------------------------------------------------------
def _continuation_cosine() -> float:
    return round(sentence_cosine("The train was delayed by the snow.",
                                 "Passengers waited an hour on the cold platform."), 2)


register("06.1", ValueExercise(
    "58b1d4454be80a6dabe06b45e0cbacce0944eb8ab03827d3a5732dfcd544d965", NUMBER,
    ("只有一句的块，B 可能是正例吗？其余的块呢？",
     "只有一句的块总是负例 (随机的 B)；其余的块正负各半。",
     "0.23 × 0 + 0.77 × 0.5。"),
    decimals=3, mistakes=(("afd241e2a41effe26c95270f9a803df61f029e8250f3051dbff15c60c3a611cc", "0.5 只对可正可负的块成立：只有一句的块总是负例。"),)))
register("06.2", ValueExercise(
    "ad67b3f8ebe019998ed7228e5393ddedefa8f681126e7fe513db51cbe73a2386", NUMBER,
    ("NSP 损失是交叉熵 (cross-entropy)：-log(正确类别的概率)。",
     "IsNext 的句子对，正确类别的概率是 P(IsNext)；NotNext 的是 1 − P(IsNext)。",
     "(−ln 0.8 − ln 0.4) / 2。"),
    decimals=3, mistakes=(("1f553131769fb6a6dd95b3b05aac702fe5c58c9ed875563a46c2fb0b11e81b2a", "两个标签用反了：NotNext 的句子对，正确类别的概率是 1 − P(IsNext)。"),)))
register("06.3", ValueExercise(
    "0d3af7006792d71e2acc8b5de68a2b9316f5baabf5546aa27f2392225292c7c2", NUMBER,
    ("先算 A 和 B 最多能放多少个词元：128 个位置里有几个特殊词元？",
     "最多 128 − 3 = 125；有 10% 的概率 (short_seq_prob) 目标长度改为 2 到 125 之间均匀的随机整数。",
     "0.9 × 125 + 0.1 × (2 + 125) / 2。"),
    decimals=2, mistakes=(("6adc2be4a5dce6a48bdfb82acd9fd5426d2b2c22ab37bf4532c517a253f8252f", "这是最长的长度：有 10% 的句子对用更短的随机目标长度 (short_seq_prob)。"),
                          ("312da8bb939c5686d084b46b7cc0d639ec4a5118a2d3470743daedf8f74a6984", "[CLS] A [SEP] B [SEP] 的三个特殊词元也占 128 个位置中的 3 个。"))))
register("06.4", PredictionExercise(
    _continuation_cosine, PREDICT + "：两句的句向量余弦 (a number in [-1, 1])",
    ("§8 的直方图：真正的下一句和随机的 B，余弦大多落在哪里？",
     "这两句说的是同一件事 (火车晚点)，却几乎没有相同的词：句向量看的是意思，不是字面。"),
    tolerance=0.1))


# ---- 07_pretraining ------------------------------------------------------------------------------------------
def _unigram_baseline(train_pairs: list, eval_pairs: list) -> torch.Tensor:
    """pretraining.unigram_baseline as a 0-d tensor, so a float or a tensor answer is compared within atol."""
    from ..pretraining import unigram_baseline

    return torch.tensor(unigram_baseline(train_pairs, eval_pairs), dtype=torch.float64)


def _over_train_tokens(train_pairs: list, eval_pairs: list) -> torch.Tensor:
    evaluation = sum((p.tokens_a + p.tokens_b for p in eval_pairs), [])
    train = sum((p.tokens_a + p.tokens_b for p in train_pairs), [])
    return _unigram_baseline(train_pairs, eval_pairs) * len(evaluation) / len(train)


def _random_pairs(g: torch.Generator) -> tuple[list, list]:
    """Train and eval NspPairs over a few words; which word is most frequent changes from trial to trial,
    and a tie for the top is broken by one extra copy, so every correct answer agrees."""
    from collections import Counter

    from ..pretraining import NspPair

    words = ["the", "cat", "sat", "on", "mat", "and", "dog"]
    weights = torch.tensor([8.0, 4, 3, 2, 2, 1, 1])[torch.randperm(len(words), generator=g)]

    def segment() -> list[str]:
        return [words[i] for i in torch.multinomial(weights, randint(g, 1, 12), replacement=True, generator=g)]

    def pairs(n: int) -> list:
        return [NspPair(segment(), segment(), bool(torch.rand(1, generator=g) < 0.5)) for _ in range(n)]

    train, evaluation = pairs(randint(g, 3, 15)), pairs(randint(g, 3, 15))
    (top, n), *rest = Counter(t for p in train for t in (*p.tokens_a, *p.tokens_b)).most_common()
    if rest and rest[0][1] == n:
        train[0].tokens_a.append(top)
    return train, evaluation


def _initial_mlm_loss() -> float:
    """MLM loss of a freshly initialised tiny BERT with a 4,000-token vocabulary, on random ids (2 decimals)."""
    from ..config import BertConfig
    from ..model import BertForPreTraining

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = BertForPreTraining(BertConfig.tiny(vocab_size=4000)).eval()
        ids = torch.randint(5, 4000, (8, 64))
        labels = torch.where(torch.rand(8, 64) < 0.15, ids, -100)
        with torch.no_grad():
            logits = model(ids, labels=labels).mlm_logits                # (N, V): the chosen positions
        return round(float(torch.nn.functional.cross_entropy(logits, labels[labels != -100])), 2)


register("07.1", ValueExercise(
    "858360a4f594cb84b21f07038e23488cda27abb3e006fbe63ca5013e5023e546", NUMBER,
    ("一共处理了多少个词元位置？语料有多少个词？",
     "词元位置总数 = 步数 × 每批序列数 × 每个序列的词元数。",
     "10**6 × 256 × 512 / (3.3 × 10**9)。"),
    decimals=1, mistakes=(("91370a7b29865f08036dc3770b5e7bef401b489c3891fd2da7d70b7a5d1106a8", "这是长度 128 时的遍数：题目按 512 个词元算。"),)))
register("07.2", FunctionExercise(
    _unigram_baseline, _random_pairs,
    ("两步：在训练句子对里找最常见的词元；再看它在评估句子对里占多大比例。",
     "collections.Counter 数训练对里 tokens_a + tokens_b 的全部词元，most_common(1) 得到最常见的那个。",
     "再数它在评估对的全部词元里出现了几次，除以评估词元总数 (不是训练词元总数)。"),
    forbid=("bertcourse.pretraining.unigram_baseline",),
    mistakes=((_over_train_tokens, "除以了训练词元的总数：比例要在评估词元里算。"),)))
register("07.3", ValueExercise(
    "85713d577f773cabb2512d68af758008bae448d3edbb5b363379a5c19c5a99f0", NUMBER,
    ("N 和 D 各是多少？6·N·D 是多少次浮点运算？",
     "N = 110 × 10**6，D = 10**6 × 256 × 512 个词元；1 EFLOP = 10**18。",
     "6 × 110e6 × 1e6 × 256 × 512 / 1e18，保留 1 位小数。"),
    decimals=1, mistakes=(("5ec526faceb1910f91a5768fa92372637c69449f1f05e88803659d4f8dbd24e2", "只算了前向 (2·N·D)：训练还要反向 (4·N·D)。"),)))
register("07.4", PredictionExercise(
    _initial_mlm_loss, PREDICT + "：训练前的 MLM 损失 (a number)",
    ("刚初始化的模型对 4,000 个词几乎一视同仁：它给正确词元的概率大约是多少？",
     f"均匀分布时交叉熵 = ln V：ln 4000 ≈ {math.log(4000):.1f}。"),
    tolerance=0.3))
