"""Our BERT against transformers': the real MiniLM weights, and every head on random small configs."""
import ast
from pathlib import Path

import pytest
import torch
import transformers

from bertcourse import (BertConfig, BertForPreTraining, BertForQuestionAnswering,
                        BertForSequenceClassification, BertForTokenClassification, BertModel, load_pretrained)
from bertcourse.model import mean_pool

ATOL = 1e-5


@pytest.fixture(scope="module")
def both_minilm(minilm_dir):
    hf = transformers.BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    return load_pretrained(), hf


def test_minilm_matches_transformers(both_minilm, real_batch):
    ours, hf = both_minilm
    with torch.no_grad():
        a = ours(**real_batch, output_attentions=True, output_hidden_states=True)
        b = hf(**real_batch, output_attentions=True, output_hidden_states=True)
    keep = real_batch["attention_mask"].bool()  # padded positions' vectors are meaningless in both
    assert keep.sum() < keep.numel(), "the batch must contain padding"
    assert real_batch["token_type_ids"].any(), "the batch must contain sentence pairs"
    torch.testing.assert_close(a.last_hidden_state[keep], b.last_hidden_state[keep], atol=ATOL, rtol=0)
    torch.testing.assert_close(a.pooler_output, b.pooler_output, atol=ATOL, rtol=0)
    assert len(a.hidden_states) == len(b.hidden_states) == 7
    for ours_h, ref_h in zip(a.hidden_states, b.hidden_states):
        torch.testing.assert_close(ours_h[keep], ref_h[keep], atol=ATOL, rtol=0)
    assert len(a.attentions) == 6
    for ours_w, ref_w in zip(a.attentions, b.attentions):
        assert ours_w.shape == (5, 12, keep.size(1), keep.size(1))
        q = keep[:, None, :, None].expand_as(ours_w)  # rows of real query tokens
        torch.testing.assert_close(ours_w[q], ref_w[q], atol=ATOL, rtol=0)


def random_config(seed: int) -> transformers.BertConfig:
    g = torch.Generator().manual_seed(seed)
    pick = lambda options: options[int(torch.randint(len(options), (1,), generator=g))]  # noqa: E731
    heads = pick([1, 2, 4])
    return transformers.BertConfig(
        vocab_size=pick([97, 211]), hidden_size=heads * pick([8, 16]), num_hidden_layers=pick([1, 2, 3]),
        num_attention_heads=heads, intermediate_size=pick([24, 40]), max_position_embeddings=pick([32, 64]),
        type_vocab_size=pick([2, 3]), hidden_act=pick(["gelu", "gelu_new"]), num_labels=pick([1, 3, 5]),
    )


def labels_for(name: str, cfg, ids: torch.Tensor, g: torch.Generator) -> dict:
    B, T = ids.shape
    if name == "BertForPreTraining":
        labels = torch.where(torch.rand(B, T, generator=g) < 0.3, ids, -100)
        return {"labels": labels, "next_sentence_label": torch.randint(2, (B,), generator=g)}
    if name == "BertForSequenceClassification":
        if cfg.num_labels == 1:
            return {"labels": torch.rand(B, generator=g) * 5}
        return {"labels": torch.randint(cfg.num_labels, (B,), generator=g)}
    if name == "BertForTokenClassification":
        labels = torch.randint(cfg.num_labels, (B, T), generator=g)
        labels[:, 0] = -100
        return {"labels": labels}
    # question answering: one answer beyond the window, clamped and ignored as in the reference
    return {"start_positions": torch.tensor([1, 3, T + 5, 2]), "end_positions": torch.tensor([2, T - 1, T + 7, 2])}


HEADS = [BertForPreTraining, BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering]
OUTPUTS = {"BertForPreTraining": [("mlm_logits", "prediction_logits"), ("nsp_logits", "seq_relationship_logits")],
           "BertForSequenceClassification": [("logits", "logits")],
           "BertForTokenClassification": [("logits", "logits")],
           "BertForQuestionAnswering": [("start_logits", "start_logits"), ("end_logits", "end_logits")]}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("ours_cls", HEADS, ids=lambda c: c.__name__)
def test_heads_match_transformers(tmp_path, ours_cls, seed):
    cfg = random_config(seed)
    if ours_cls is BertForQuestionAnswering:
        cfg.num_labels = 2  # transformers sizes qa_outputs by num_labels; start and end are its 2 rows
    hf_cls = getattr(transformers, ours_cls.__name__)
    torch.manual_seed(seed)
    hf = hf_cls(cfg).eval()
    hf.save_pretrained(tmp_path)
    ours = load_pretrained(tmp_path, ours_cls)  # no warning expected: every head weight is there
    g = torch.Generator().manual_seed(seed)
    B, T = 4, min(cfg.max_position_embeddings, 12)
    ids = torch.randint(cfg.vocab_size, (B, T), generator=g)
    types = torch.randint(cfg.type_vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 7:] = 0
    labels = labels_for(ours_cls.__name__, cfg, ids, g)
    with torch.no_grad():
        a = ours(ids, types, mask, **labels)
        b = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, **labels)
    for ours_name, ref_name in OUTPUTS[ours_cls.__name__]:
        ref = getattr(b, ref_name)
        if ours_name == "mlm_logits":  # only the positions with a label go through the vocabulary layer
            ref = ref[labels["labels"] != -100]
        torch.testing.assert_close(getattr(a, ours_name), ref, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(a.loss, b.loss, atol=ATOL, rtol=1e-5)


def test_mlm_decoder_is_tied_to_input_embeddings():
    model = BertForPreTraining(BertConfig.tiny(vocab_size=60)).eval()
    ids = torch.randint(60, (2, 5))
    with torch.no_grad():
        model.bert.embeddings.word_embeddings.weight[7] += 1.0
    out = model(ids).mlm_logits
    h = model.cls.predictions.transform(model.bert(ids).last_hidden_state)
    torch.testing.assert_close(out, h @ model.bert.embeddings.word_embeddings.weight.T + model.cls.predictions.bias)
    labels = torch.full_like(ids, -100)
    labels[0, 1], labels[1, 3] = 5, 9
    torch.testing.assert_close(model(ids, labels=labels).mlm_logits, out[labels != -100])  # (2, V)
    assert not any("decoder" in k for k in model.state_dict())  # stored once, not twice


def test_outputs_have_documented_shapes():
    cfg = BertConfig.tiny(vocab_size=80)
    out = BertModel(cfg)(torch.randint(80, (3, 9)), output_attentions=True, output_hidden_states=True)
    assert out.last_hidden_state.shape == (3, 9, 128) and out.pooler_output.shape == (3, 128)
    assert len(out.hidden_states) == 3 and len(out.attentions) == 2
    assert out.attentions[0].shape == (3, 2, 9, 9)
    assert BertModel(cfg)(torch.randint(80, (3, 9))).attentions is None


@pytest.mark.parametrize("bad, error, match", [
    (torch.zeros(2, 0, dtype=torch.long), ValueError, "empty"),
    (torch.zeros(1, 65, dtype=torch.long), ValueError, "longer than the 64 positions"),
    (torch.full((1, 4), 80), ValueError, "token id 80 is outside the vocabulary"),
    (torch.full((1, 4), -1), ValueError, "token id -1 is outside"),
    (torch.zeros(1, 4), TypeError, "integer token ids"),
    (torch.zeros(4, dtype=torch.long), ValueError, r"shape \(batch, seq_len\).*unsqueeze"),
    ([[1, 2, 3]], TypeError, "torch.Tensor"),
])
def test_bad_input_is_explained(bad, error, match):
    model = BertModel(BertConfig.tiny(vocab_size=80, max_position_embeddings=64))
    with pytest.raises(error, match=match):
        model(bad)


def test_bad_segments_and_masks_are_explained():
    model = BertModel(BertConfig.tiny(vocab_size=80))
    ids = torch.ones(2, 5, dtype=torch.long)
    with pytest.raises(ValueError, match="token_type_ids must lie in 0..1"):
        model(ids, token_type_ids=torch.full((2, 5), 2))
    with pytest.raises(ValueError, match="token_type_ids shape"):
        model(ids, token_type_ids=torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask shape"):
        model(ids, attention_mask=torch.ones(2, 6))


def test_mean_pooling_head_reads_the_mean_of_the_real_tokens():
    """classifier_pooling="mean": the dense layer reads the masked token mean (the sentence vector
    all-MiniLM-L6-v2 was trained for), so padding a sentence does not change its logits."""

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig.tiny(vocab_size=80, classifier_pooling="mean")).eval()
    ids = torch.randint(1, 80, (2, 7))
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    with torch.no_grad():
        logits = model(ids, attention_mask=mask).logits                                  # (2, 2)
        hidden = model.bert(ids, attention_mask=mask).last_hidden_state                  # (2, 7, H)
        alone = model(ids[1:, :4]).logits                                                # no padding at all
    torch.testing.assert_close(logits, model.classifier(mean_pool(hidden, mask)), atol=ATOL, rtol=0)
    torch.testing.assert_close(logits[1:], alone, atol=ATOL, rtol=0)
    cls = BertForSequenceClassification(BertConfig.tiny(vocab_size=80))
    cls.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(cls(ids, attention_mask=mask).logits, logits, atol=1e-3)  # the pooler differs



def test_bi_encoder_head_reads_each_sentence_alone():
    """classifier_pooling="bi-encoder": u and v are the unit mean-pooled vectors of the two sentences, each
    encoded on its own; classes read [u, v, |u - v|, u * v], a score is an affine function of cos(u, v)."""
    import torch.nn.functional as F


    torch.manual_seed(0)
    ids, pair = torch.randint(1, 80, (2, 7)), torch.randint(1, 80, (2, 5))
    mask, pair_mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3]), torch.tensor([[1] * 5, [1] * 2 + [0] * 3])
    for num_labels in (3, 1):
        model = BertForSequenceClassification(BertConfig.tiny(vocab_size=80, classifier_pooling="bi-encoder",
                                                              num_labels=num_labels)).eval()
        with torch.no_grad():
            logits = model(ids, attention_mask=mask, pair_input_ids=pair, pair_attention_mask=pair_mask).logits
            u = F.normalize(mean_pool(model.bert(ids, attention_mask=mask).last_hidden_state, mask), dim=-1)
            v = F.normalize(mean_pool(model.bert(pair, attention_mask=pair_mask).last_hidden_state, pair_mask), dim=-1)
            alone = model(ids[1:, :4], pair_input_ids=pair[1:, :2]).logits           # no padding at all
        features = (u * v).sum(-1, keepdim=True) if num_labels == 1 else torch.cat([u, v, (u - v).abs(), u * v], -1)
        assert model.classifier.in_features == features.shape[-1]
        torch.testing.assert_close(logits, model.classifier(features), atol=ATOL, rtol=0)
        torch.testing.assert_close(logits[1:], alone, atol=ATOL, rtol=0)
    assert model.classifier.weight.item() == 1.0        # a fresh score head is the cosine itself, not its negative
    with pytest.raises(ValueError, match="pass the second one as pair_input_ids"):
        model(ids, attention_mask=mask)

def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="classifier_pooling 'max' is not known; use one of"):
        BertConfig.tiny(classifier_pooling="max")


def test_mean_pool_ignores_padded_positions():
    hidden = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    pooled = mean_pool(hidden, mask)
    torch.testing.assert_close(pooled[0], hidden[0, :3].mean(0))
    torch.testing.assert_close(pooled[1], hidden[1].mean(0))
    with pytest.raises(ValueError, match="must agree"):
        mean_pool(hidden, mask[:, :4])


def package_imports() -> dict[str, set[str]]:
    """bertcourse module -> the bertcourse modules its source imports (read from the code, not by importing)."""
    root = Path(__import__("bertcourse").__file__).parent
    graph = {}
    for path in root.rglob("*.py"):
        parts = ("bertcourse", *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                graph[name] |= {f"{base}.{a.name}" for a in node.names} | {base}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                graph[name] |= {n for n in names if n.split(".")[0] == "bertcourse"}
    return {name: deps & graph.keys() - {name} for name, deps in graph.items()}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph[todo.pop()] - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


def test_layers_import_downwards_only():
    """The model knows ids, not text; the tokenizer finds the packaged vocabulary without the checkpoint
    loader; and no module of the package imports itself back through others (no import circle)."""
    graph = package_imports()
    assert not reachable(graph, "bertcourse.model") & {"bertcourse.tokenizer", "bertcourse.sentence_embeddings",
                                                       "bertcourse.checkpoints"}
    assert not reachable(graph, "bertcourse.tokenizer") & {"bertcourse.checkpoints", "bertcourse.model"}
    assert not reachable(graph, "bertcourse.checkpoints") & {"bertcourse.tokenizer", "bertcourse.sentence_embeddings"}
    assert {"bertcourse.model", "bertcourse.tokenizer"} <= reachable(graph, "bertcourse.sentence_embeddings")
    circles = sorted(name for name in graph if name in reachable(graph, name))
    assert not circles, f"modules that import themselves back: {circles}"
