"""Dense is nn.Linear with the faster of two CPU inference products: the same numbers, the same gradients, the
same names."""
import time
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bertcourse import BertConfig, BertModel
from bertcourse import dense as dense_module
from bertcourse.dense import Dense, best_times, onednn_is_faster, use_onednn


@pytest.fixture
def layer() -> Dense:
    torch.manual_seed(0)
    return Dense(48, 96)


@pytest.mark.parametrize("onednn_faster", [True, False])
def test_inference_takes_the_faster_product_and_equals_linear(layer, onednn_faster):
    x = torch.randn(3, 17, 48)                                        # (B, T, H_in)
    takes_onednn = dense_module.ONEDNN and onednn_faster
    with torch.no_grad(), mock.patch.object(dense_module, "onednn_is_faster", lambda: onednn_faster):
        assert use_onednn(x, layer.weight) == takes_onednn
        calls = mock.Mock(wraps=torch.ops.mkldnn._linear_pointwise)
        with mock.patch.object(dense_module.torch.ops.mkldnn, "_linear_pointwise", calls):
            y = layer(x)                                              # (B, T, H_out)
        assert calls.called == takes_onednn
        torch.testing.assert_close(y, F.linear(x, layer.weight, layer.bias), atol=1e-5, rtol=1e-5)
        strided = torch.randn(17, 3, 48).transpose(0, 1)             # a transposed view, not contiguous
        torch.testing.assert_close(layer(strided), F.linear(strided, layer.weight, layer.bias), atol=1e-5, rtol=0)


def test_best_times_keeps_each_candidates_quickest_run_and_runs_each_every_round():
    runs = {"slow": 0, "quick": 0}

    def candidate(name: str, seconds: float):
        def run() -> None:
            runs[name] += 1
            time.sleep(seconds)
        return run
    times = best_times({"slow": candidate("slow", 0.004), "quick": candidate("quick", 0.0)}, rounds=4)
    assert times["quick"] < 0.004 <= times["slow"]
    assert runs == {"slow": 4, "quick": 4}


@pytest.mark.parametrize("onednn_seconds, expected", [(0.8, True), (0.95, False), (1.2, False)])
def test_onednn_is_taken_only_where_it_is_clearly_faster(onednn_seconds, expected):
    onednn_is_faster.cache_clear()
    with mock.patch.object(dense_module, "best_times", lambda candidates: {"onednn": onednn_seconds, "mkl": 1.0}):
        assert onednn_is_faster() == (expected and dense_module.ONEDNN)
    onednn_is_faster.cache_clear()


def test_the_products_are_timed_once_per_process_for_every_thread_count():
    """One choice whatever the threads: a widget on one thread and the reference on two use the same product."""
    onednn_is_faster.cache_clear()
    threads = torch.get_num_threads()
    try:
        with mock.patch.object(dense_module, "best_times", wraps=dense_module.best_times) as timed:
            choices = []
            for n in (1, 2, 1):
                torch.set_num_threads(n)
                choices.append(onednn_is_faster())
    finally:
        torch.set_num_threads(threads)
    assert timed.call_count == (1 if dense_module.ONEDNN else 0)     # without oneDNN there is nothing to time
    assert len(set(choices)) == 1 and isinstance(choices[0], bool)


def test_a_model_gives_the_same_numbers_on_one_thread_as_on_two():
    """What the single choice relies on: each product is exact across thread counts (the two products
    differ from each other at float rounding)."""
    torch.manual_seed(0)
    model = BertModel(BertConfig.tiny(vocab_size=500)).eval()
    ids = torch.randint(5, 500, (2, 37))                               # (B, T)
    threads = torch.get_num_threads()
    outputs = []
    try:
        for onednn_faster in (False, True):
            with mock.patch.object(dense_module, "onednn_is_faster", lambda: onednn_faster), torch.no_grad():
                for n in (1, 2):
                    torch.set_num_threads(n)
                    outputs.append((onednn_faster, model(ids).last_hidden_state))  # (B, T, H)
    finally:
        torch.set_num_threads(threads)
    for faster in (False, True):
        one, two = (out for f, out in outputs if f == faster)
        assert torch.equal(one, two)


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
