"""Exercises of 04_bert_architecture and 05_masked_lm."""
from __future__ import annotations

import torch

from ..attention import left_to_right_mask
from ..config import BertConfig
from ..model import BertForPreTraining
from .common import minilm, randint
from .core import FunctionExercise, PredictionExercise, ValueExercise, register
from .nb00_01 import NUMBER, PREDICT

NEXT_TOKEN_SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank."  # exercise 04.3


# ---- 04_bert_architecture ------------------------------------------------------------------------------------
def _random_config(g: torch.Generator) -> tuple[BertConfig]:
    """A random BERT shape: the count must follow the formula for every size, not just base and large."""
    vocab, heads, head_size, layers = randint(g, 100, 40000), randint(g, 1, 17), randint(g, 8, 97), randint(g, 1, 13)
    positions, ffn, types = randint(g, 64, 1025), randint(g, 64, 4097), randint(g, 1, 4)
    return (BertConfig(vocab_size=vocab, hidden_size=heads * head_size, num_attention_heads=heads,
                       num_hidden_layers=layers, max_position_embeddings=positions, intermediate_size=ffn,
                       type_vocab_size=types),)


def _pretraining_parameters(config: BertConfig) -> int:
    """Parameters of BertForPreTraining, counted from its modules (on the meta device: shapes only)."""
    with torch.device("meta"):
        return sum(p.numel() for p in BertForPreTraining(config).parameters())


def _untied(config: BertConfig) -> int:
    return _pretraining_parameters(config) + config.vocab_size * config.hidden_size


def _no_heads(config: BertConfig) -> int:
    return config.num_parameters()


def _attention_on_cls_last_layer() -> float:
    """MiniLM's mean attention weight on [CLS] in its last layer, over heads and queries (2 decimals)."""
    tok, model = minilm()
    enc = tok.encode(NEXT_TOKEN_SENTENCE)
    with torch.no_grad():
        last = model(torch.tensor([enc.input_ids]), output_attentions=True).attentions[-1][0]   # (nh, T, T)
    return round(float(last[:, :, 0].mean()), 2)


register("04.1", FunctionExercise(
    _pretraining_parameters, _random_config,
    ("BertModel 的参数加上两个预训练头：MLM 头和 NSP 头各有哪些层？",
     "MLM 头：Dense(H→H) + LayerNorm，再投影到词表——那个 V×H 矩阵与词嵌入共享 (tied)，只有偏置是新的；"
     "NSP 头：Dense(H→2)。",
     "config.num_parameters() + (H·H + H) + 2H + V + (2H + 2)。"),
    forbid=("bertcourse.model.BertForPreTraining.__init__", "bertcourse.model.PreTrainingHeads.__init__"),
    mistakes=((_untied, "给 MLM 头另算了一个 V×H 的解码矩阵：它和词嵌入共享 (weight tying)，只有偏置是新的。"),
              (_no_heads, "这是 BertModel 本身：还少了两个预训练头。"))))
register("04.2", ValueExercise(
    "027c75b6a0dd1fc66f5f39ae5848cb7c3cbf92f48f775e76537704367e9b1c03", "把答案 (以百万为单位的一个数，保留 1 位小数) 赋给 answer",
    ("与 BERT-base 只差词表大小：哪些参数随词表变化？",
     "只有词嵌入表 (V × H) 随词表变；BERT-base 有 109,482,240 个参数、30,522 个词。",
     "109,482,240 + (21,128 − 30,522) × 768，再除以 10**6。"),
    decimals=1, mistakes=(("6bbcf1707ec2130b9134e102e08e7bdbd97a356fd4af44f47b3b3616c9986355", "这是 BERT-base 英文版的参数量：词表从 30,522 变成了 21,128。"),)))
register("04.3", ValueExercise(
    "a3adc150c43eee401aff4dc5f98d0d9c0c49d92ecc20d50b53b9e5732072d0a1", "把答案 (头号, 平均权重) 赋给 answer，例如 (5, 0.37)，权重保留 2 位小数",
    ("用 NEXT_TOKEN_SENTENCE 跑 MiniLM (output_attentions=True)，取第 1 层 attentions[1][0]：(头, T, T)。",
     "每个头求 w[h, i, i + 1] 对 i 的平均：.diagonal(offset=1, dim1=1, dim2=2).mean(-1)。",
     "答案是 (argmax 的头号, 那个平均值保留 2 位小数)。"),
    decimals=2, kind="read the figure",
    mistakes=(("c66d4ee96b1fc34f3623724411ec90076936cb7cc9fdb83f55facac05fb9eb92", "这是第 0 层 (attentions[0])：题目问的是第 1 层。"),)))
register("04.4", PredictionExercise(
    _attention_on_cls_last_layer, PREDICT + "：最后一层落在 [CLS] 上的平均注意力 (a number in [0, 1])",
    ("§6 测过第 1–4 层：约 35%–45% 的注意力停在 [CLS] 上。最后一层还会这样吗？",
     "最后一层的输出直接给任务头用，它的头更多地在读真正的词；停靠 (no-op) 的需要变少了吗？"),
    tolerance=0.1))


# ---- 05_masked_lm --------------------------------------------------------------------------------------------
def _one_length(g: torch.Generator) -> tuple[int]:
    return (randint(g, 1, 13),)


def _right_to_left(T: int) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool).triu()


def _without_itself(T: int) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool).tril(-1)


def _mlm_inputs(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """logits (B, T, V), the original ids (B, T), labels (B, T): the id where chosen, -100 elsewhere."""
    B, T, V = randint(g, 1, 4), randint(g, 2, 12), randint(g, 5, 30)
    ids = torch.randint(0, V, (B, T), generator=g)
    chosen = torch.rand(B, T, generator=g) < 0.3
    chosen[:, 0] = True                                                  # at least one target per sequence
    return 2 * torch.randn(B, T, V, generator=g), ids, torch.where(chosen, ids, -100)


def _mlm_loss(logits: torch.Tensor, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the chosen positions only (labels != -100), as BertForPreTraining's MLM."""
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def _loss_everywhere(logits: torch.Tensor, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), input_ids.flatten())


def _unchanged_share() -> float:
    """Share of the real tokens that the masked input leaves as they were (3 decimals), measured with
    mask_tokens over 200 sentences of ordinary words."""
    from ..pretraining import mask_tokens

    tok = minilm()[0]
    ids = torch.tensor([tok.encode("a sentence of ordinary words for the masking rule " * 12).input_ids] * 200)
    masked, _ = mask_tokens(ids, tok, generator=torch.Generator().manual_seed(0))
    real = ~torch.isin(ids, torch.tensor(sorted(tok.all_special_ids)))
    return round(float((masked == ids)[real].float().mean()), 3)


register("05.1", ValueExercise(
    "b78da5f0880cd4357e60bfb25516e7cdcd6f196cc9b8f40cc9e1c518de570b4b", NUMBER,
    ("512 个位置里有几个是特殊词元 ([CLS]、[SEP])？它们会被选中吗？",
     "只有真实词元会被选中 (15%)；被选中的 80% 变成 [MASK]。",
     "510 × 0.15 × 0.8。"),
    decimals=1, mistakes=(("270214227391217e6d6ab9e6568a1fe3e41da8157288697a45ab1eb7d6cb096b", "把 [CLS] 和 [SEP] 也算进去了：特殊词元从不被选中。"),)))
register("05.2", ValueExercise(
    "001df7a6131dfc145209213b617c67f71364a025b8699fe9d2c4c4fcbc517e54", NUMBER,
    ("别忘了“至少选一个”的规则：什么时候它会起作用？",
     "5 个词元一个都没抽中的概率是 0.85**5；那时会补选 1 个。",
     "期望选中数 = 5 × 0.15 + 0.85**5 × 1；比例再除以 5。"),
    decimals=3, mistakes=(("319a62cdfee3d121f268796eff0eece20efd8f08bba5932a0749875fe1236ae9", "这是没有“至少选一个”规则时的比例：短句里这个规则让比例变高。"),)))
register("05.3", ValueExercise(
    "06748ac7e0ec1413304d1fdc1b54e835fbe5d2fd1fb382bbfc5c5a3515b76373", NUMBER,
    ("模型看得见的 (不是 [MASK] 的) 词元有两种来源：哪两种？",
     "没被选中的 (1 − p)，和被选中后变随机或保留的 (p × 0.3)；问的是后者在所有看得见的词元里的比例。",
     "p(1 − 0.7) / (1 − 0.7p)，p = 0.2。"),
    decimals=3, mistakes=(("e6b60993f69c9d9101ae1f8e603d35b92c515474b0df900499b30fd38c47e132", "这是占所有真实词元的比例：题目问的是占看得见的词元的比例 (条件概率)。"),)))
register("05.4", FunctionExercise(
    left_to_right_mask, _one_length,
    ("从左到右的模型在第 i 个位置能看见哪些位置？",
     "第 i 行 (query) 第 j 列 (key) 为 True 当且仅当 j <= i：包括它自己。",
     "torch.ones(T, T, dtype=torch.bool).tril()"),
    forbid=("bertcourse.attention.left_to_right_mask",),
    mistakes=((_right_to_left, "这是从右到左 (只看后面的词元)：第 i 行应该只看 j <= i。"),
              (_without_itself, "对角线是 False：每个位置也要能看见自己。"))))
register("05.5", PredictionExercise(
    _unchanged_share, PREDICT + "：输入里和原文一样的真实词元占多大比例 (a number, 3 decimals)",
    ("哪些真实词元在输入里和原文不同？变成 [MASK] 的，和变成随机词元的。",
     "1 − 0.15 × 0.8 − 0.15 × 0.1 (随机词元偶尔抽到自己，可以忽略)。"),
    tolerance=0.01))
register("05.6", FunctionExercise(
    _mlm_loss, _mlm_inputs,
    ("MLM 损失只在哪些位置上算？labels 里 -100 是什么意思？",
     "只取 labels != -100 的位置：对这些位置的 logits 做 log_softmax，取正确 id 的那一项，取负再求平均。",
     "chosen = labels != -100; logp = logits[chosen].log_softmax(-1); "
     "return -logp.gather(1, labels[chosen][:, None]).mean()"),
    forbid=("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
            "torch.nn.modules.loss.CrossEntropyLoss.forward"),
    mistakes=((_loss_everywhere, "你在每个位置上都算了损失 (the loss over every position)：只算被选中的位置。"),)))
