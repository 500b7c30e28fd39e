"""Exercises of 02_transformer_encoder and 03_bert_inputs."""
from __future__ import annotations

import copy

import torch

from ..attention import additive_mask
from .common import minilm, randint, tiny
from .core import FunctionExercise, PredictionExercise, ValueExercise, register
from .nb00_01 import NUMBER, PREDICT


# ---- 02_transformer_encoder ----------------------------------------------------------------------------------
def _exact_gelu(x: torch.Tensor) -> torch.Tensor:
    """The activation of BERT's feed-forward layer, as the package computes it (erf, not tanh)."""
    from ..config import ACTIVATIONS

    return torch.nn.functional.gelu(x, approximate=ACTIVATIONS["gelu"])


def _tanh_gelu(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3)))


def _gelu_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    return (4 * torch.randn(randint(g, 1, 9), randint(g, 1, 9), generator=g),)


def _block_output(layer: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The package's EncoderLayer applied to x (B, T, H) with an additive padding mask: (B, T, H)."""
    return layer(x, mask)[0]


def _pre_ln_block(layer: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The block with LayerNorm before each sublayer (GPT-2's pre-LN): the known wrong answer."""
    attention, intermediate, output = layer.attention, layer.intermediate, layer.output
    h = x + attention.output.dense(attention.self(attention.output.LayerNorm(x), mask)[0])
    return h + output.dense(intermediate(output.LayerNorm(h)))


def _block_without_mask(layer: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return layer(x, None)[0]


def _block_inputs(g: torch.Generator) -> tuple:
    layer = tiny("layer")
    T = randint(g, 2, 10)
    keep = torch.ones(2, T, dtype=torch.long)
    keep[1, randint(g, 1, T):] = 0                                       # the second sequence is padded
    x = torch.randn(2, T, layer.attention.self.qkv.in_features, generator=g)
    return layer, x, additive_mask(keep, x.dtype)


def _order_without_positions() -> str:
    """'same' when, with the position embeddings zeroed, the vector of 'cat' does not change as the words
    of the sentence are reordered (self-attention alone is blind to order); 'different' otherwise."""
    tok, model = minilm()
    blind = copy.deepcopy(model)
    with torch.no_grad():
        blind.embeddings.position_embeddings.weight.zero_()
        vectors = []
        for text in ("the cat sat on the mat", "on the mat sat the cat"):
            enc = tok.encode(text)
            vectors.append(blind(torch.tensor([enc.input_ids])).last_hidden_state[0, enc.tokens.index("cat")])
    return "same" if torch.allclose(*vectors, atol=1e-4) else "different"


register("02.1", FunctionExercise(
    _exact_gelu, _gelu_inputs,
    ("GELU(x) = x · Φ(x)：Φ 是什么函数？",
     "Φ 是标准正态分布的累积分布函数 (CDF)，可以用误差函数 erf 写出来。",
     "Φ(x) = 0.5 · (1 + erf(x / √2))，torch.erf 就是 erf。"),
    forbid=("torch.nn.functional.gelu",),
    mistakes=((_tanh_gelu, "这是 tanh 近似 (GPT-2 / google-research 的 gelu)；BERT 在这里用精确的 erf 版本。"),)))
register("02.2", FunctionExercise(
    _block_output, _block_inputs,
    ("两个子层 (sublayer)：多头注意力和前馈网络 (feed-forward)；每个后面都是残差 + LayerNorm。",
     "后置 LayerNorm (post-LN)：h = LayerNorm(x + Dense(MHA(x)))，y = LayerNorm(h + Dense(GELU(Dense(h))))；"
     "mask 在 softmax 之前加到分数上。",
     "权重在 layer.attention.self.qkv (W_Q、W_K、W_V 按行叠在一起：.chunk(3) 分开)、layer.attention.output.dense/LayerNorm、"
     "layer.intermediate.dense、layer.output.dense/LayerNorm；注意力按头切分，每头除以 √(H / 头数)。"),
    forbid=("bertcourse.encoder.EncoderLayer.forward", "bertcourse.encoder.Attention.forward",
            "bertcourse.encoder.Intermediate.forward", "bertcourse.encoder.AddAndNorm.forward",
            "bertcourse.attention.MultiHeadSelfAttention.forward", "bertcourse.attention.scaled_dot_product_attention",
            "torch.nn.functional.scaled_dot_product_attention"),
    mistakes=((_pre_ln_block, "这是前置 LayerNorm (pre-LN)：BERT 是后置的，先加残差再做 LayerNorm。"),
              (_block_without_mask, "没有用 mask：填充 (padding) 位置也被注意到了。"))))
register("02.3", ValueExercise(
    "195bd099f587a07898b33436d18019f194d6ddcd4741733e4c41f4fb95d53a41", NUMBER,
    ("一个编码器块里有哪些带参数的层？注意力的四个投影、前馈的两个稠密层、两个 LayerNorm。",
     "注意力 4 × (H·H + H)，前馈 H·I + I 和 I·H + H，每个 LayerNorm 2H。",
     "H = 768，I = 3072 代入：4 × (768² + 768) + (768 × 3072 + 3072) + (3072 × 768 + 768) + 2 × 2 × 768。"),
    decimals=0, mistakes=(("fc07d4b7fdfa2fc350b1a85dd6ecbbbcf8d5e2614750293d713ffb7eb33e719b", "少了两个 LayerNorm 的参数 (每个有 γ 和 β，各 H 个)。"),)))
register("02.4", PredictionExercise(
    _order_without_positions,
    PREDICT + ": \"same\" 或 \"different\"",
    ("自注意力 (self-attention) 的公式里有没有哪一项知道词的位置？",
     "没有位置嵌入时，打乱词序只是把输入的行换了顺序：注意力对每一行的计算不变 (permutation equivariance)。"),
    choices=("same", "different")))


# ---- 03_bert_inputs ------------------------------------------------------------------------------------------
def _pair_segments(len_a: int, len_b: int) -> list[int]:
    """token_type_ids of [CLS] A [SEP] B [SEP], as the package's encode_pair builds them."""
    from ..pretraining import NspPair, encode_pair
    from ..tokenizer import SPECIAL_TOKENS, BertTokenizer

    tokenizer = BertTokenizer({t: i for i, t in enumerate([*SPECIAL_TOKENS, "a", "b"])})
    return encode_pair(NspPair(["a"] * len_a, ["b"] * len_b, is_next=True), tokenizer)[1]


def _first_sep_in_b(len_a: int, len_b: int) -> list[int]:
    return [0] * (len_a + 1) + [1] * (len_b + 2)


def _two_lengths(g: torch.Generator) -> tuple[int, int]:
    return randint(g, 1, 30), randint(g, 1, 30)


def _token_count() -> int:
    """WordPiece tokens of one sentence, [CLS] and [SEP] not counted."""
    return len(minilm()[0].tokenize("The unaffordable headphones were unboxed yesterday."))


register("03.1", FunctionExercise(
    _pair_segments, _two_lengths,
    ("序列是 [CLS] A [SEP] B [SEP]：每个位置属于哪一句？",
     "[CLS] 和第一个 [SEP] 属于句子 A (0)；B 的词元和最后一个 [SEP] 属于 B (1)。",
     "return [0] * (len_a + 2) + [1] * (len_b + 1)"),
    forbid=("bertcourse.pretraining.encode_pair", "bertcourse.tokenizer.BertTokenizer.encode",
            "bertcourse.tokenizer.BertTokenizer.__call__"),
    mistakes=((_first_sep_in_b, "把第一个 [SEP] 算进了 B：它结束句子 A，所以是 0。"),)))
register("03.2", ValueExercise(
    "a0ac204d9e853eb7afa8745eb7ad33bab5f25bf2910ff34c4fc1a9a86b2a3632", NUMBER,
    ("三张表的形状都是 (行数, H)：行数分别是多少？",
     "行数：词表大小、句段数 (type_vocab_size)、位置数 (max_position_embeddings)，都在 model.config 里。",
     "(vocab_size + type_vocab_size + max_position_embeddings) × hidden_size；不算 LayerNorm。"),
    decimals=0, mistakes=(("fa3ed80760c0325f1d18e7474577c2c72bb10772b8224d5814640cc9c6e6fa09", "把 LayerNorm 的 γ、β 也算进来了：题目只问三张表。"),)))
register("03.3", ValueExercise(
    "70297ff5d608e661248854edcd9d16e863c7d39513a0fb642786c52305bcd5c6", NUMBER,
    ("词表在 tok.vocab 里：它是什么类型？",
     "tok.vocab 是 {词元: id} 的字典。",
     "sum(token.startswith('##') for token in tok.vocab)"),
    decimals=0))
register("03.4", PredictionExercise(
    _token_count, PREDICT + "：不算 [CLS]/[SEP] 的词元数 (an integer)",
    ("常见词是一个词元；罕见词、带前后缀的词会被切开。",
     "WordPiece 从左到右取词表里最长的片段；un-、-able、-ed 这样的片段常常单独成块。"),
    tolerance=0))
