"""Exercises of 10_question_answering and 11_semantic_similarity."""
from __future__ import annotations

import torch

from .common import minilm, randint, sentence_cosine
from .core import FunctionExercise, PredictionExercise, ValueExercise, register
from .nb00_01 import NUMBER, PREDICT


# ---- 10_question_answering -----------------------------------------------------------------------------------
def _best_span(start_logits: torch.Tensor, end_logits: torch.Tensor, max_answer_length: int) -> tuple[int, int]:
    """tasks.qa.decode_spans on one window whose every token is one character of the passage."""
    from ..tasks.qa import decode_spans

    T = len(start_logits)
    best = decode_spans(start_logits[None], end_logits[None], [[(t, t + 1) for t in range(T)]], "x" * T,
                        max_answer_length, n_best=1)[0]
    return best.start_char, best.end_char - 1


def _two_argmaxes(start_logits: torch.Tensor, end_logits: torch.Tensor, max_answer_length: int) -> tuple[int, int]:
    return int(start_logits.argmax()), int(end_logits.argmax())


def _span_logits(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, int]:
    T = randint(g, 2, 30)
    return torch.randn(T, generator=g), torch.randn(T, generator=g), randint(g, 1, 6)


def _untrained_start_probability() -> float:
    """The largest start probability over the passage tokens of a QA head not trained yet (3 decimals)."""
    import warnings

    from .. import load_pretrained
    from ..model import BertForQuestionAnswering

    tok = minilm()[0]
    enc = tok.encode("Who worked with Ada Lovelace?", "Ada Lovelace worked with Charles Babbage in London in 1843.")
    passage = torch.tensor(enc.token_type_ids[:-1]) == 1                       # (T - 1,): without the last [SEP]
    with torch.random.fork_rng(), warnings.catch_warnings():
        torch.manual_seed(0)
        warnings.simplefilter("ignore")                                        # "newly initialised: qa_outputs"
        model = load_pretrained(None, BertForQuestionAnswering)
        with torch.no_grad():
            start = model(torch.tensor([enc.input_ids])).start_logits[0, :-1]  # (T - 1,)
    return round(float(start[passage].softmax(-1).max()), 3)


register("10.1", FunctionExercise(
    _best_span, _span_logits,
    ("不能分别取两个 argmax：为什么？",
     "终点可能在起点之前，或片段太长：只在 i <= j 且 j − i + 1 <= max_answer_length 的 (i, j) 里找。",
     "在这些 (i, j) 中找 start_logits[i] + end_logits[j] 最大的一对，返回两个 int。"),
    forbid=("bertcourse.tasks.qa.decode_spans",),
    mistakes=((_two_argmaxes, "分别取了两个 argmax：终点可能在起点之前，片段也可能太长。"),)))
register("10.2", ValueExercise(
    "e2f235487c3f4a094fc2032e3e3b78827b9f371b9fadc0e772bbd67689cdf82b", NUMBER,
    ("每个窗口能放多少个文本词元？窗口起点每次后移多少？",
     "每个窗口放 256 − 问题词元数 − 3 个文本词元；起点每次后移 128 个，直到某个窗口到达文本末尾；最后一个窗口可能不满。",
     "len(qa.make_windows(tok, long.question, long.context, max_length=256, doc_stride=128)) 个窗口，"
     "每个窗口数 offsets 里不是 None 的个数，加起来。"),
    decimals=0, mistakes=(("ced031a5d15475bacbd6d5de9ef9ec570eddba3dd04a7a9150c5d41ac1d235b2", "这是文本本身的词元数：重叠的部分在两个窗口里各算一次。"),)))
register("10.3", PredictionExercise(
    _untrained_start_probability, PREDICT + "：段落词元中最大的起点概率 (a number in [0, 1])",
    ("还没训练的输出层里，s 是很小的随机向量：⟨s, v_i⟩ 对不同的词元差多少？",
     "分数都接近 0 时，softmax 接近均匀分布：每个词元约 1 / 段落词元数。"),
    tolerance=0.03))


# ---- 11_semantic_similarity ----------------------------------------------------------------------------------
def _pool_inputs(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """hidden (B, T, H) and a right-padded 1/0 attention mask (B, T) with at least one real token per row."""
    B, T, H = randint(g, 1, 5), randint(g, 1, 9), randint(g, 1, 7)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    return torch.randn(B, T, H, generator=g), (torch.arange(T) < lengths[:, None]).long()


def _mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    from ..model import mean_pool

    return mean_pool(hidden, attention_mask)


def _padding_averaged_in(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    return hidden.mean(1)


def _spearman(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """tasks.classification.spearman as a 0-d tensor (compared within atol)."""
    from ..tasks.classification import spearman

    return torch.tensor(spearman(x, y), dtype=torch.float64)


def _pearson_of_values(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    from ..tasks.classification import pearson

    return torch.tensor(pearson(x, y), dtype=torch.float64)


def _tied_scores(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (N,) score vectors with many ties (x on a coarse grid, y in steps of 0.25 as gold scores are)."""
    N = randint(g, 5, 40)
    x = torch.randint(0, 6, (N,), generator=g).float()
    y = torch.round(20 * torch.rand(N, generator=g)) / 4
    x[:2], y[:2] = torch.tensor([0.0, 5.0]), torch.tensor([0.0, 5.0])   # never constant
    return x, y


def _negation_cosine() -> float:
    return round(sentence_cosine("A man is playing a guitar.", "A man is not playing a guitar."), 2)


register("11.1", FunctionExercise(
    _mean_pool, _pool_inputs,
    ("只平均真实词元：掩码 (mask) 怎样让填充位置不起作用？",
     "把掩码变成 (B, T, 1) 的浮点数，乘到 hidden 上，沿 T 求和，再除以每句真实词元的个数。",
     "m = attention_mask.unsqueeze(-1).float(); return (hidden * m).sum(1) / m.sum(1)"),
    forbid=("bertcourse.sentence_embeddings.mean_pool", "bertcourse.sentence_embeddings.sentence_embeddings"),
    mistakes=((_padding_averaged_in, "把填充 (padding) 位置也平均进去了：只平均掩码为 1 的词元。"),)))
register("11.2", FunctionExercise(
    _spearman, _tied_scores,
    ("Spearman = 名次 (rank) 的 Pearson。并列的值 (tie) 取什么名次？",
     "名次从 1 开始；并列的值都取它们所占名次的平均，例如两个并列第 2 都记 2.5。",
     "对两组名次算 Pearson：去均值后的点积 / 两个范数之积。"),
    forbid=("bertcourse.tasks.classification.spearman", "scipy.stats.spearmanr", "scipy.stats.rankdata"),
    mistakes=((_pearson_of_values, "这是原始分数的 Pearson：Spearman 先把分数换成名次。"),)))
register("11.3", ValueExercise(
    "14b2283ca1244a57ad1534f0f3ff773d03b316eb1d5671754d6bfba3b5b44c2e", "把答案 (一个数，保留 3 位小数) 赋给 answer",
    ("sentence_embeddings(model, tok, [句1, 句2]) 返回什么？",
     "它返回两个单位向量 (L2 归一化)；余弦就是它们的点积。",
     "u, v = sentence_embeddings(model, tok, [...]); float(u @ v)，保留 3 位小数。"),
    decimals=3, mistakes=(("2ed5712699f111b828deca09895457b9e99ae198c69ee4a5e20403e8295b0525", "这是 plane 和 flute 那一对：题目先问 plane 和 aeroplane。"),)))
register("11.4", PredictionExercise(
    _negation_cosine, PREDICT + "：两句的句向量余弦 (a number in [-1, 1])",
    ("两句只差一个 not，意思却相反：平均池化的句向量会差很远吗？",
     "句向量主要反映话题和用词；否定 (negation) 只改了一个词元，是句向量的已知弱点。"),
    tolerance=0.1))
