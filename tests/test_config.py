import json

import pytest

from bertcourse import BertConfig, BertModel


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("preset, expected", [("base", 109_482_240), ("large", 335_141_888)])
def test_slide_sizes_from_formula_and_modules(preset, expected):
    """The slides' 110M / 340M: the formula and the real modules agree to the parameter."""
    cfg = getattr(BertConfig, preset)()
    assert cfg.num_parameters() == expected
    assert count(BertModel(cfg)) == expected


@pytest.mark.parametrize("pooler", [True, False])
def test_formula_matches_modules_on_odd_config(pooler):
    cfg = BertConfig(vocab_size=101, hidden_size=24, num_hidden_layers=3, num_attention_heads=4,
                     intermediate_size=40, max_position_embeddings=33, type_vocab_size=3)
    assert cfg.num_parameters(pooler=pooler) == count(BertModel(cfg, add_pooling_layer=pooler))


def test_presets():
    assert (BertConfig.large().num_hidden_layers, BertConfig.large().hidden_size,
            BertConfig.large().num_attention_heads) == (24, 1024, 16)
    tiny = BertConfig.tiny(vocab_size=500)
    assert (tiny.num_hidden_layers, tiny.hidden_size, tiny.vocab_size, tiny.head_dim) == (2, 128, 500, 64)


def test_from_json_reads_hugging_face_config(minilm_dir):
    cfg = BertConfig.from_json(minilm_dir / "config.json")
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size) == (6, 384, 12, 1536)
    assert cfg.num_parameters() == 22_713_216  # all-MiniLM-L6-v2's published 22.7M
    assert BertConfig.from_json(minilm_dir, num_labels=5).num_labels == 5


def test_json_round_trip(tmp_path):
    cfg = BertConfig.tiny(vocab_size=321, num_labels=3)
    cfg.to_json(tmp_path / "config.json")
    assert BertConfig.from_json(tmp_path) == cfg


def test_from_json_rejects_other_architectures(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 12}))
    with pytest.raises(ValueError, match="gpt2.*not BERT"):
        BertConfig.from_json(tmp_path)
    with pytest.raises(FileNotFoundError, match="config.json"):
        BertConfig.from_json(tmp_path / "nowhere")


def test_invalid_configs_are_explained():
    with pytest.raises(ValueError, match="not divisible"):
        BertConfig(hidden_size=100, num_attention_heads=3)
    with pytest.raises(ValueError, match="relu"):
        BertConfig(hidden_act="relu")
