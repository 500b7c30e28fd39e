"""Exercises of 00_overview and 01_self_attention."""
from __future__ import annotations

import torch

from ..attention import MultiHeadSelfAttention, additive_mask, scaled_dot_product_attention
from ..config import BertConfig
from .common import minilm, randint, tiny
from .core import FunctionExercise, PredictionExercise, ValueExercise, register

NUMBER = "把答案 (一个数) 赋给 answer (assign a number to answer)"
PREDICT = "先把你的预测赋给 prediction，再运行 (write your prediction first, then run)"


# ---- 00_overview ---------------------------------------------------------------------------------------------
def _classifier_logits(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """What BertForSequenceClassification outputs for these ids: (B, num_labels)."""
    return model(input_ids).logits


def _classifier_inputs(g: torch.Generator) -> tuple:
    return tiny("classifier"), torch.randint(0, 100, (2, randint(g, 2, 12)), generator=g)


def _cls_without_pooler(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    return model.classifier(model.bert(input_ids).last_hidden_state[:, 0])


def _bank_cosine() -> float:
    """Cosine of MiniLM's last-layer vectors of 'bank' in two sentences (rounded to 2 decimals)."""
    tok, model = minilm()
    vectors = []
    for text in ("I sat on the river bank.", "I opened a bank account."):
        enc = tok.encode(text)
        with torch.no_grad():
            hidden = model(torch.tensor([enc.input_ids])).last_hidden_state[0]   # (T, H)
        vectors.append(hidden[enc.tokens.index("bank")])
    return round(float(torch.nn.functional.cosine_similarity(*vectors, dim=0)), 2)


register("00.1", ValueExercise(
    "ac3b82a401400953ef237f1ee67fe8578182a24ae07fbe4d17caad0e808bada4", NUMBER,
    ("输出层是一个稠密层 (dense layer)：它有哪两种参数？",
     "权重矩阵是 H × 类别数；每个类别还有一个偏置 (bias)。",
     "5 × 768 个权重，再加 5 个偏置。"),
    decimals=0, mistakes=(("a6e4a7d9a9e7bc473a991c3a9dd16cc4354ef3dee1fa1eeaf7917065f17efae8", "只数了权重矩阵：每个类别还有一个偏置 (bias)。"),)))
register("00.2", ValueExercise(
    "a782fdb5f5d4e561d4ae78342863e596069d64543bacd1c9bf65d2228bd62d93", NUMBER,
    ("先数段落 (passage) 有几个词元 n：它们的句段编号 (segment id) 为 1。",
     "答案片段 (span) 由起点 i 和终点 j 决定，i <= j，都在段落里：对 n 个词元有几对 (i, j)？",
     "起点为第 k 个段落词元时终点有 n - k 种选择：一共 n + (n - 1) + ... + 1 = n(n + 1)/2；"
     "最后的 [SEP] 的 segment id 也是 1，但它不是段落。"),
    decimals=0, mistakes=(("d5a20b19429e36c6ae78c3885218afa9f80290f4730b621cd7dc028146aa373c", "把最后的 [SEP] 也算进段落了：它的 segment id 是 1，却不能当答案。"),
                          ("e90ecb4d8c800b62a45f6c1171fa417ae245882421377bab941e1ccffa7206f6", "这是能作起点的词元数；题目问的是 (起点, 终点) 对的个数。"))))
register("00.3", FunctionExercise(
    _classifier_logits, _classifier_inputs,
    ("分类头读的是哪个位置的向量？它在进入 classifier 之前还经过了哪一步？",
     "model.bert(input_ids) 返回的 pooler_output 就是 tanh(dense(h_[CLS]))。",
     "return model.classifier(model.bert(input_ids).pooler_output)"),
    forbid=("bertcourse.model.BertForSequenceClassification.forward",),
    mistakes=((_cls_without_pooler, "直接用了 last_hidden_state[:, 0]：少了 pooler (tanh(dense(·))) 这一步。"),)))
register("00.4", PredictionExercise(
    _bank_cosine, PREDICT + "：两个 'bank' 向量的余弦 (a number in [-1, 1])",
    ("BERT 给每个词元的向量取决于整句话 (contextual)：同一个词在不同句子里的向量一样吗？",
     "同形异义的词 (river bank / bank account) 在上下文里被推向不同的意思，但词元嵌入是同一个起点。"),
    tolerance=0.1))


# ---- 01_self_attention ---------------------------------------------------------------------------------------
def _attention_inputs(g: torch.Generator) -> tuple:
    """q, k, v of shape (B, nh, T, hs) and, every other trial, an additive padding mask."""
    B, nh, T, hs = randint(g, 1, 3), randint(g, 1, 4), randint(g, 2, 7), randint(g, 2, 9)
    q, k, v = torch.randn(3, B, nh, T, hs, generator=g).unbind(0)
    keep = (torch.rand(B, T, generator=g) < 0.7).long()
    keep[:, 0] = 1                                                      # every sequence has a real token
    return q, k, v, additive_mask(keep, q.dtype) if torch.rand(1, generator=g) < 0.5 else None


def _attention_variant(q, k, v, mask=None, scale: bool = True, axis: int = -1):
    scores = q @ k.transpose(-1, -2) / (q.size(-1) ** 0.5 if scale else 1.0)       # (B, nh, T, T)
    weights = (scores if mask is None else scores + mask).softmax(axis)
    return weights @ v, weights


def _unscaled(q, k, v, mask=None):
    return _attention_variant(q, k, v, mask, scale=False)


def _wrong_axis(q, k, v, mask=None):
    return _attention_variant(q, k, v, mask, axis=-2)


def _multi_head_inputs(g: torch.Generator) -> tuple:
    """x (B, T, H) and the three (H, H) projection matrices (no biases), with H = heads * head size."""
    heads, size = randint(g, 1, 5), randint(g, 2, 6)
    x = torch.randn(2, randint(g, 2, 7), heads * size, generator=g)
    w_q, w_k, w_v = (torch.randn(heads * size, heads * size, generator=g) / size for _ in range(3))
    return x, w_q, w_k, w_v, heads


def _package_multi_head(x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor, w_v: torch.Tensor,
                        num_heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The package's MultiHeadSelfAttention with these projections: (context (B, T, H), weights (B, nh, T, T))."""
    mha = MultiHeadSelfAttention(BertConfig(hidden_size=x.size(-1), num_attention_heads=num_heads)).eval()
    with torch.no_grad():
        mha.qkv.weight.copy_(torch.cat([w_q, w_k, w_v]))  # the package keeps W_Q, W_K, W_V stacked
        mha.qkv.bias.zero_()
        return mha(x, need_weights=True)


def _scaled_by_hidden(x, w_q, w_k, w_v, num_heads):
    """Each head scaled by sqrt(H) instead of sqrt(d_k): the same as sqrt(d_k) times sqrt(num_heads)."""
    return _package_multi_head(x, w_q / num_heads ** 0.5, w_k, w_v, num_heads)


def _it_attends_to() -> str:
    """The word 'it' attends to most in layer 3, head 1 (the head of §5), [CLS]/[SEP] skipped."""
    tok, model = minilm()
    enc = tok.encode("The trophy didn't fit in the suitcase because it was too big.")
    with torch.no_grad():
        weights = model(torch.tensor([enc.input_ids]), output_attentions=True).attentions[3][0, 1]  # (T, T)
    row = weights[enc.tokens.index("it"), 1:-1]                                  # without [CLS], [SEP]
    return enc.tokens[1 + int(row.argmax())]


register("01.1", FunctionExercise(
    scaled_dot_product_attention, _attention_inputs,
    ("分数 (scores) 是 q 和 k 的点积：形状 (B, nh, T, T)；别忘了缩放，也别忘了 mask。",
     "scores = q @ k.transpose(-1, -2) / sqrt(d_k)；有 mask 时在 softmax 之前加上它；softmax 沿最后一维 (keys)。",
     "w = (q @ k.transpose(-1, -2) / math.sqrt(q.size(-1)) + (0 if mask is None else mask)).softmax(-1); "
     "return w @ v, w"),
    forbid=("torch.nn.functional.scaled_dot_product_attention",),
    mistakes=((_unscaled, "忘了除以 √d_k (forgot the 1/√d_k scaling)：分数太大，softmax 会变得很尖。"),
              (_wrong_axis, "softmax 沿错了维 (wrong axis)：每个 query 的一行 (对所有 key) 加起来应该等于 1。"))))
register("01.2", FunctionExercise(
    _package_multi_head, _multi_head_inputs,
    ("先投影出 Q、K、V (x @ w.T)，再把 H 切成 num_heads 个头，每个头单独做注意力。",
     "view 成 (B, T, nh, hs) 再 transpose(1, 2) 得到 (B, nh, T, hs)；每个头按自己的 d_k = hs 缩放。",
     "做完注意力后 transpose(1, 2) 回到 (B, T, nh, hs)，再 reshape 成 (B, T, H)；返回 (context, weights)。"),
    forbid=("bertcourse.attention.MultiHeadSelfAttention.forward", "bertcourse.attention.scaled_dot_product_attention",
            "torch.nn.functional.scaled_dot_product_attention", "torch.nn.functional.multi_head_attention_forward"),
    mistakes=((_scaled_by_hidden, "用 √H 缩放了：每个头的 d_k 是 H / num_heads (scale by √d_k per head)。"),)))
register("01.3", ValueExercise(
    "62abcc2d202de8494b5d0f791d590b1cd4f38712644a1fb28304336c536b5205", NUMBER,
    ("每层每个头都有一个 T×T 的权重矩阵：一共有多少个数？",
     "数的个数 = 层数 × 头数 × T²；float32 每个数占 4 字节；1 MB = 2**20 字节。",
     "12 × 12 × 512 × 512 × 4 / 2**20。"),
    decimals=1, mistakes=(("bdaf8196bb42497c8583793c640eafc058fdcea20967235b79c1789ba166048d", "这是数的个数 / 2**20：每个 float32 占 4 字节。"),)))
register("01.4", PredictionExercise(
    _it_attends_to, PREDICT + "：'it' 最关注的词 (a word of the sentence, e.g. \"because\")",
    ("§5 的第 3 层第 1 个头把 it 连到它指代的名词上：这句话里 it 指什么？",
     "too big 的是 trophy (放不进箱子的是奖杯)；模型的头是否“懂”这一点，要测了才知道。"),
    ))
