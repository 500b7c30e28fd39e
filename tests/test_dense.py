"""Dense is nn.Linear with a faster CPU inference path: the same numbers, the same gradients, the same names."""
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bertcourse import BertConfig, BertModel
from bertcourse import dense as dense_module
from bertcourse.dense import Dense, use_onednn


@pytest.fixture
def layer() -> Dense:
    torch.manual_seed(0)
    return Dense(48, 96)


def test_inference_takes_onednn_on_this_cpu_and_equals_linear(layer):
    x = torch.randn(3, 17, 48)                                        # (B, T, H_in)
    with torch.no_grad():
        assert use_onednn(x, layer.weight) == dense_module.ONEDNN
        calls = mock.Mock(wraps=torch.ops.mkldnn._linear_pointwise)
        with mock.patch.object(dense_module.torch.ops.mkldnn, "_linear_pointwise", calls):
            y = layer(x)                                              # (B, T, H_out)
        assert calls.called == dense_module.ONEDNN
    torch.testing.assert_close(y, F.linear(x, layer.weight, layer.bias), atol=1e-5, rtol=1e-5)
    strided = torch.randn(17, 3, 48).transpose(0, 1)                 # a transposed view, not contiguous
    with torch.no_grad():
        torch.testing.assert_close(layer(strided), F.linear(strided, layer.weight, layer.bias), atol=1e-5, rtol=0)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_is_fused_into_the_product_with_either_formula(layer, approximate):
    x = torch.randn(4, 9, 48)
    expected = F.gelu(F.linear(x, layer.weight, layer.bias), approximate=approximate)
    with torch.no_grad():
        torch.testing.assert_close(layer.gelu(x, approximate), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(layer.gelu(x, approximate), expected)  # training path: autograd's ops


def test_training_keeps_autograd_and_the_gradients_of_linear(layer):
    reference = nn.Linear(48, 96)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(5, 48, requires_grad=True)
    assert not use_onednn(x, layer.weight)                           # oneDNN's product has no backward
    layer.gelu(x).sum().backward()
    grad_x = x.grad.clone()
    x.grad = None
    F.gelu(reference(x)).sum().backward()
    torch.testing.assert_close(grad_x, x.grad)
    torch.testing.assert_close(layer.weight.grad, reference.weight.grad)
    torch.testing.assert_close(layer.bias.grad, reference.bias.grad)


def test_autocast_and_other_dtypes_keep_torchs_linear(layer):
    x = torch.randn(2, 48)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert not use_onednn(x, layer.weight)
        assert layer(x).dtype == torch.bfloat16                       # autocast still decides the precision
    double = Dense(48, 8).double()
    with torch.no_grad():
        assert double(x.double()).dtype == torch.float64


def test_the_model_uses_it_under_the_checkpoint_names():
    model = BertModel(BertConfig.tiny(vocab_size=40))
    dense = {name for name, m in model.named_modules() if isinstance(m, Dense)}
    assert {"encoder.layer.0.attention.self.qkv", "encoder.layer.0.attention.output.dense",
            "encoder.layer.0.intermediate.dense", "encoder.layer.0.output.dense"} <= dense
    assert all(isinstance(model.get_submodule(name), nn.Linear) for name in dense)
    assert "encoder.layer.0.intermediate.dense.weight" in model.state_dict()
