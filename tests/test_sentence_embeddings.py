"""Sentence embeddings equal the sentence-transformers recipe all-MiniLM-L6-v2 was trained with."""
import pytest
import torch

from bertcourse import BertForSequenceClassification, BertTokenizer, load_pretrained
from bertcourse.sentence_embeddings import pair_cosines, sentence_embeddings

TEXTS = ["A man is playing a guitar.",
         "Someone plays an acoustic guitar on a stage while the audience claps along.",
         "The stock market fell sharply today.",
         "Zürich's café served a naïve crème brûlée."]


@pytest.fixture(scope="module")
def minilm():
    return load_pretrained(), BertTokenizer.from_pretrained()


def test_equals_mean_pooling_computed_with_transformers(minilm, minilm_dir):
    """Independent reference: transformers' BertModel and tokenizer on the same weights, each sentence's
    real tokens averaged one by one, then divided by the vector's length."""
    from transformers import BertModel, BertTokenizerFast

    hf_tok, hf_model = BertTokenizerFast.from_pretrained(minilm_dir), BertModel.from_pretrained(minilm_dir).eval()
    expected = []
    for text in TEXTS:
        enc = hf_tok(text, return_tensors="pt")
        with torch.no_grad():
            tokens = hf_model(**enc).last_hidden_state[0]                  # (T, H), no padding at all
        v = tokens.mean(0)
        expected.append(v / v.norm())
    ours = sentence_embeddings(*minilm, TEXTS)                               # one padded batch
    torch.testing.assert_close(ours, torch.stack(expected), atol=1e-5, rtol=1e-4)


def test_equals_sentence_transformers_encode(minilm, minilm_dir):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(minilm_dir), device="cpu").encode(TEXTS, convert_to_tensor=True)
    torch.testing.assert_close(sentence_embeddings(*minilm, TEXTS), reference.cpu(), atol=1e-5, rtol=1e-4)


def test_padding_does_not_change_a_sentence_vector(minilm):
    alone = sentence_embeddings(*minilm, TEXTS[0])                           # (1, H), no padding
    batched = sentence_embeddings(*minilm, [TEXTS[0], TEXTS[1] * 3], batch_size=2)   # padded to the long one
    torch.testing.assert_close(batched[0], alone[0], atol=1e-5, rtol=1e-4)
    assert sentence_embeddings(*minilm, TEXTS, batch_size=3).shape == (4, 384)


def test_normalised_vectors_have_unit_length_and_keep_the_direction(minilm):
    raw = sentence_embeddings(*minilm, TEXTS, normalize=False)
    unit = sentence_embeddings(*minilm, TEXTS)
    torch.testing.assert_close(unit.norm(dim=-1), torch.ones(4))
    assert not torch.allclose(raw.norm(dim=-1), torch.ones(4), atol=1e-2)
    torch.testing.assert_close(unit, raw / raw.norm(dim=-1, keepdim=True))


def test_cosine_ranks_a_paraphrase_above_an_unrelated_sentence(minilm):
    e = sentence_embeddings(*minilm, TEXTS[:3])
    assert e[0] @ e[1] > e[0] @ e[2] + 0.3


def test_a_head_model_uses_its_encoder(minilm, minilm_dir):
    with pytest.warns(UserWarning, match="newly initialised"):
        head = load_pretrained(minilm_dir, BertForSequenceClassification)
    torch.testing.assert_close(sentence_embeddings(head, minilm[1], tuple(TEXTS)), sentence_embeddings(*minilm, TEXTS))


def test_bad_input_is_explained(minilm):
    for bad in ([], [1, 2], None):
        with pytest.raises(ValueError, match="non-empty list of strings"):
            sentence_embeddings(*minilm, bad)


def test_pair_cosines_encode_each_side_alone_and_take_the_cosine(minilm):
    texts, pairs = TEXTS[:2], TEXTS[2:4]
    expected = torch.nn.functional.cosine_similarity(
        torch.cat([sentence_embeddings(*minilm, t) for t in texts]),        # each sentence on its own
        torch.cat([sentence_embeddings(*minilm, p) for p in pairs]))
    torch.testing.assert_close(pair_cosines(*minilm, texts, pairs), expected, atol=1e-5, rtol=1e-4)
    assert pair_cosines(*minilm, [TEXTS[0]], [TEXTS[0]]).item() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="same length"):
        pair_cosines(*minilm, TEXTS[:2], TEXTS[:1])
    with pytest.raises(ValueError, match="a string"):
        pair_cosines(*minilm, TEXTS[0], TEXTS[1])
