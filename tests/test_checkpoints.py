import json
import warnings

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from bertcourse import (BertConfig, BertForPreTraining, BertForQuestionAnswering, BertForSequenceClassification,
                        BertForTokenClassification, BertModel, load_pretrained, save_pretrained)
from bertcourse import checkpoints
from bertcourse.default_model import default_model_dir


def tiny_hf_dir(tmp_path, cls=transformers.BertModel, **kw):
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=32, max_position_embeddings=20, **kw)
    model = cls(cfg)
    model.save_pretrained(tmp_path)
    return tmp_path, model


def test_default_is_the_packaged_minilm():
    model = load_pretrained()
    assert isinstance(model, BertModel) and not model.training
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384


@pytest.mark.parametrize("cls, missing", [(BertForPreTraining, "cls.predictions.bias"),
                                          (BertForSequenceClassification, "classifier.weight"),
                                          (BertForQuestionAnswering, "qa_outputs.weight")])
def test_missing_heads_are_initialised_and_named_once(cls, missing):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_pretrained(None, cls)
    assert len(caught) == 1
    assert "newly initialised" in str(caught[0].message) and missing in str(caught[0].message)
    assert isinstance(model, cls)
    # the encoder really is MiniLM's
    ref = load_file(default_model_dir() / "model.safetensors")
    torch.testing.assert_close(model.bert.encoder.layer[3].output.dense.weight, ref["encoder.layer.3.output.dense.weight"])


def test_token_classifier_says_the_pooler_is_unused():
    with pytest.warns(UserWarning, match="not used by BertForTokenClassification: bert.pooler.dense.bias"):
        load_pretrained(None, BertForTokenClassification, num_labels=9)


def test_head_checkpoint_into_plain_model(tmp_path):
    path, hf = tiny_hf_dir(tmp_path, transformers.BertForPreTraining)
    with pytest.warns(UserWarning, match="not used by BertModel: cls.predictions.bias"):
        ours = load_pretrained(path)
    torch.testing.assert_close(ours.embeddings.word_embeddings.weight, hf.bert.embeddings.word_embeddings.weight)


def test_pytorch_bin_and_old_gamma_beta_names(tmp_path):
    path, hf = tiny_hf_dir(tmp_path)
    state = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
             for k, v in hf.state_dict().items()}
    (path / "model.safetensors").unlink()
    torch.save(state, path / "pytorch_model.bin")
    ours = load_pretrained(path)
    ids = torch.randint(50, (2, 6))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).last_hidden_state, hf.eval()(ids).last_hidden_state, atol=1e-5, rtol=0)


def test_pickles_are_read_with_weights_only(tmp_path):
    path, _ = tiny_hf_dir(tmp_path)
    (path / "model.safetensors").unlink()
    torch.save({"embeddings.word_embeddings.weight": torch.zeros(1), "evil": print}, path / "pytorch_model.bin")
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_pretrained(path)


def edit_checkpoint(path, change):
    state = load_file(path / "model.safetensors")
    change(state)
    save_file(state, path / "model.safetensors")


def test_missing_encoder_key_names_it(tmp_path):
    path, _ = tiny_hf_dir(tmp_path)
    edit_checkpoint(path, lambda s: s.pop("encoder.layer.1.attention.self.key.bias"))
    with pytest.raises(KeyError, match="encoder.layer.1.attention.self.key.bias.*missing"):
        load_pretrained(path)


def test_unexpected_encoder_key_names_it(tmp_path):
    path, _ = tiny_hf_dir(tmp_path)
    edit_checkpoint(path, lambda s: s.update({"encoder.layer.2.output.dense.weight": torch.zeros(16, 32)}))
    with pytest.raises(KeyError, match="encoder.layer.2.output.dense.weight.*unexpected"):
        load_pretrained(path)


def test_shape_mismatch_names_key_and_both_shapes(tmp_path):
    path, _ = tiny_hf_dir(tmp_path, transformers.BertForSequenceClassification, num_labels=2)
    with pytest.raises(ValueError, match=r"classifier.weight.*checkpoint \(2, 16\), model \(3, 16\)"):
        load_pretrained(path, BertForSequenceClassification, num_labels=3)


def test_non_bert_checkpoints_are_refused(tmp_path):
    save_file({"transformer.h.0.attn.c_attn.weight": torch.zeros(2, 2)}, tmp_path / "model.safetensors")
    BertConfig.tiny().to_json(tmp_path / "config.json")
    with pytest.raises(ValueError, match="not a BERT checkpoint.*transformer.h.0"):
        load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="gpt2"):
        load_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_pretrained(tmp_path / "missing")


def test_untied_decoder_copy_is_refused(tmp_path):
    model = BertForPreTraining(BertConfig.tiny(vocab_size=40))
    state = model.state_dict()
    state["cls.predictions.decoder.weight"] = torch.randn_like(state["bert.embeddings.word_embeddings.weight"])
    with pytest.raises(ValueError, match="ties them"):
        checkpoints.load_state(BertForPreTraining(model.config), state)
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"].clone()
    checkpoints.load_state(BertForPreTraining(model.config), state)  # an equal copy is fine


@pytest.mark.parametrize("cls", [BertModel, BertForPreTraining, BertForQuestionAnswering])
def test_save_and_load_round_trip_exactly(tmp_path, cls):
    model = cls(BertConfig.tiny(vocab_size=70, num_labels=4)).eval()
    save_pretrained(model, tmp_path / "run")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may be missing or unexpected
        again = load_pretrained(tmp_path / "run", cls)
    assert again.config == model.config
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    assert [p.name for p in (tmp_path / "run").iterdir()] and not list((tmp_path / "run").glob(".saving-*"))


def test_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    model = BertModel(BertConfig.tiny(vocab_size=30))
    save_pretrained(model, tmp_path)
    before = (tmp_path / "model.safetensors").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoints, "save_file", disk_full)
    with pytest.raises(OSError):
        save_pretrained(BertModel(BertConfig.tiny(vocab_size=30)), tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert not list(tmp_path.glob(".saving-*"))


def test_fused_projection_holds_the_checkpoints_query_key_value_rows():
    model = load_pretrained()
    ref = load_file(default_model_dir() / "model.safetensors")
    qkv = model.encoder.layer[4].attention.self.qkv
    for rows, name in zip(qkv.weight.chunk(3), ("query", "key", "value")):
        assert torch.equal(rows, ref[f"encoder.layer.4.attention.self.{name}.weight"])
    assert torch.equal(qkv.bias[2 * 384:], ref["encoder.layer.4.attention.self.value.bias"])


def test_saved_files_use_the_checkpoint_names_and_transformers_reads_them(tmp_path):
    ours = BertForPreTraining(BertConfig.tiny(vocab_size=60)).eval()
    save_pretrained(ours, tmp_path)
    saved = load_file(tmp_path / "model.safetensors")
    assert not [k for k in saved if ".qkv." in k]
    assert {f"bert.encoder.layer.1.attention.self.{n}.{p}" for n in ("query", "key", "value")
            for p in ("weight", "bias")} <= saved.keys()
    hf = transformers.BertForPreTraining.from_pretrained(tmp_path).eval()
    ids = torch.randint(60, (2, 9))
    with torch.no_grad():
        a, b = ours(ids), hf(ids)
    torch.testing.assert_close(a.mlm_logits, b.prediction_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.nsp_logits, b.seq_relationship_logits, atol=1e-5, rtol=0)
