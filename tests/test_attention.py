import math

import torch

from bertcourse import BertConfig, load_pretrained
from bertcourse.attention import (MultiHeadSelfAttention, additive_mask, left_to_right_mask,
                                  scaled_dot_product_attention)


def test_equation_by_hand():
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)  # (B, nh, T, hs) each
    out, w = scaled_dot_product_attention(q, k, v)
    scores = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(8)
    expected_w = torch.exp(scores) / torch.exp(scores).sum(-1, keepdim=True)
    torch.testing.assert_close(w, expected_w)
    torch.testing.assert_close(out, torch.einsum("bhij,bhjd->bhid", expected_w, v))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 5))


def test_padding_gets_exactly_zero_weight():
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)
    keep = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out, w = scaled_dot_product_attention(q, k, v, additive_mask(keep, q.dtype))
    assert torch.all(w[0, :, :, 3:] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 5))
    # the padded keys do not influence the result at all: change their values, nothing moves
    v2 = v.clone()
    v2[0, :, 3:] = 1e6
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v2, additive_mask(keep, q.dtype))[0], out)


def test_fast_path_equals_explicit_path():
    cfg = BertConfig.tiny(vocab_size=50)
    mha = MultiHeadSelfAttention(cfg).eval()
    x = torch.randn(3, 7, cfg.hidden_size)
    mask = additive_mask(torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5]), x.dtype)
    slow, w = mha(x, mask, need_weights=True)
    fast, none = mha(x, mask, need_weights=False)
    assert none is None and w.shape == (3, cfg.num_attention_heads, 7, 7)
    torch.testing.assert_close(fast, slow, atol=1e-6, rtol=1e-5)


def test_fast_path_equals_explicit_path_on_real_model(real_batch):
    model = load_pretrained()
    with torch.no_grad():
        slow = model(**real_batch, output_attentions=True).last_hidden_state
        fast = model(**real_batch).last_hidden_state
    keep = real_batch["attention_mask"].bool()
    torch.testing.assert_close(fast[keep], slow[keep], atol=1e-5, rtol=1e-5)


def test_heads_are_independent_slices():
    """Multi-head = A separate attentions on H/A-dim slices, concatenated (what split_heads means)."""
    cfg = BertConfig(vocab_size=10, hidden_size=12, num_attention_heads=3, intermediate_size=8, num_hidden_layers=1)
    mha = MultiHeadSelfAttention(cfg).eval()
    x = torch.randn(1, 5, 12)
    out, _ = mha(x, need_weights=True)
    q, k, v = mha.project(x)
    for h in range(3):
        s = slice(4 * h, 4 * h + 4)
        head_out, _ = scaled_dot_product_attention(q[..., s], k[..., s], v[..., s])
        torch.testing.assert_close(out[..., s], head_out)


def test_left_to_right_mask_hides_the_future_from_the_encoder():
    """Applied in the package's encoder, the mask makes position i blind to every token after i."""
    from bertcourse import BertConfig, BertModel

    model = BertModel(BertConfig.tiny(vocab_size=100)).eval()
    a = torch.randint(5, 100, (1, 8))
    b = a.clone()
    b[0, 5] = (a[0, 5] + 1) % 95 + 5                                        # change token 5 only
    allowed = left_to_right_mask(8)
    assert torch.equal(allowed, torch.tensor([[j <= i for j in range(8)] for i in range(8)]))
    additive = torch.zeros(8, 8).masked_fill(~allowed, torch.finfo(torch.float32).min)[None, None]
    with torch.no_grad():
        causal = [model.encoder(model.embeddings(x), additive)[0] for x in (a, b)]
        bidirectional = [model(x).last_hidden_state for x in (a, b)]
    assert torch.equal(causal[0][:, :5], causal[1][:, :5])                  # before 5: untouched
    assert not torch.allclose(causal[0][:, 5:], causal[1][:, 5:])
    assert (bidirectional[0][:, :5] - bidirectional[1][:, :5]).abs().max() > 1e-3  # BERT: everyone sees it
