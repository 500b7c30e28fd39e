"""Our CPU dropout draws the same Bernoulli masks as nn.Dropout, only cheaper: checked by their statistics."""
import pytest
import torch
from torch import nn

from bertcourse import BertConfig, BertModel
from bertcourse.attention import MultiHeadSelfAttention
from bertcourse.dropout import Dropout, drop_mask
from bertcourse.finetuning import freeze_encoder


@pytest.mark.parametrize("p", [0.1, 0.5, 0.013])
def test_each_element_is_dropped_with_probability_p_independently(p):
    torch.manual_seed(0)
    n = 2_000_000
    dropped = drop_mask(torch.Size([n // 2, 2]), p)      # the two elements of one 64-bit random word side by side
    sigma = (p * (1 - p) / (n // 2)) ** 0.5
    for half in (dropped[:, 0], dropped[:, 1]):          # both 32-bit halves are uniform
        assert abs(half.float().mean().item() - p) < 5 * sigma
    both = (dropped[:, 0] & dropped[:, 1]).float().mean().item()  # independent halves: P(both) = p^2
    assert abs(both - p * p) < 5 * (p * p * (1 - p * p) / (n // 2)) ** 0.5
    assert dropped.shape == (n // 2, 2) and dropped.dtype == torch.bool


def test_odd_sizes_and_reproducible_draws():
    torch.manual_seed(3)
    a = drop_mask(torch.Size([3, 5, 7]), 0.3)
    torch.manual_seed(3)
    assert a.shape == (3, 5, 7) and torch.equal(a, drop_mask(torch.Size([3, 5, 7]), 0.3))


def test_survivors_are_scaled_and_the_gradient_follows_the_mask():
    dropout = Dropout(0.25)
    x = (torch.rand(400, 500) + 0.5).requires_grad_()
    torch.manual_seed(1)
    y = dropout(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.005
    torch.testing.assert_close(y[kept], x[kept] / 0.75)
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.75)
    assert torch.equal(dropout.eval()(x), x)               # evaluation: the identity


def test_it_is_an_nn_dropout_so_freezing_switches_it_off():
    model = nn.Module()
    model.bert = BertModel(BertConfig.tiny(vocab_size=40))
    dropouts = [m for m in model.bert.modules() if isinstance(m, Dropout)]
    assert len(dropouts) == 1 + 3 * 2 and all(isinstance(m, nn.Dropout) and m.p == 0.1 for m in dropouts)
    freeze_encoder(model)
    assert all(m.p == 0.0 for m in dropouts)
    with pytest.raises(ValueError):
        Dropout(1.5)


def test_attention_dropout_cuts_weights_but_returns_them_whole():
    cfg = BertConfig.tiny(vocab_size=40, attention_probs_dropout_prob=0.5)
    mha = MultiHeadSelfAttention(cfg)
    x = torch.randn(2, 6, cfg.hidden_size)
    with torch.no_grad():
        clean, clean_weights = mha.eval()(x, need_weights=True)
        torch.manual_seed(0)
        cut, weights = mha.train()(x, need_weights=True)
        torch.manual_seed(0)
        again, none = mha(x)
    torch.testing.assert_close(weights, clean_weights)    # what we visualise: the softmax itself
    assert not torch.allclose(cut, clean, atol=1e-3)       # but the values were mixed with half the links cut
    assert none is None and torch.equal(again, cut)        # the same draws whether or not the weights are kept
