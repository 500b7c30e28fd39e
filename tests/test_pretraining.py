"""The masking rule and the NSP pairs, checked by their statistics on >= 200k tokens."""
import random

import pytest
import torch
from pydoc_data.topics import topics

from bertcourse import BertTokenizer
from bertcourse.pretraining import (IGNORE, encode_pair, expected_masking_rates, make_nsp_pairs, mask_tokens,
                                    masking_outcomes, masking_rates, ordinary_token_ids, outcome_names)


@pytest.fixture(scope="module")
def tok():
    return BertTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def corpus_ids(tok):
    """Python's own documentation (in every installation), as padded rows of up to 128 tokens."""
    tokens = tok.convert_tokens_to_ids(tok.tokenize(" ".join(list(topics.values())[:40])))
    rng = random.Random(0)
    rows, i = [], 0
    while i < len(tokens):
        n = rng.randint(20, 126)  # varied lengths, so there is padding
        rows.append([tok.cls_token_id, *tokens[i:i + n], tok.sep_token_id])
        i += n
    T = max(map(len, rows))
    return torch.tensor([r + [tok.pad_token_id] * (T - len(r)) for r in rows])


def masking_stats(ids, tok, draws, **kw):
    g = torch.Generator().manual_seed(1)
    special = torch.isin(ids, torch.tensor(sorted(tok.all_special_ids)))
    totals = dict(candidates=0, chosen=0, masked=0, random=0, kept=0)
    for _ in range(draws):
        masked, labels = mask_tokens(ids, tok, generator=g, **kw)
        chosen = labels != IGNORE
        assert not (chosen & special).any(), "a special or padding token was chosen"
        assert torch.equal(masked[~chosen], ids[~chosen]), "an unchosen token changed"
        assert torch.equal(labels[chosen], ids[chosen]), "labels must be the original ids"
        totals["candidates"] += int((~special).sum())
        totals["chosen"] += int(chosen.sum())
        totals["masked"] += int((masked[chosen] == tok.mask_token_id).sum())
        totals["kept"] += int((masked[chosen] == ids[chosen]).sum())
        totals["random"] += int(((masked[chosen] != ids[chosen]) & (masked[chosen] != tok.mask_token_id)).sum())
        replaced = masked[chosen & (masked != ids) & (masked != tok.mask_token_id)]
        assert torch.isin(replaced, ordinary_token_ids(tok)).all(), "random replacement drew a special token"
    return totals


def test_mask_statistics_on_200k_tokens(corpus_ids, tok):
    real = int((~torch.isin(corpus_ids, torch.tensor(sorted(tok.all_special_ids)))).sum())
    s = masking_stats(corpus_ids, tok, draws=200_000 // real + 1)
    assert s["candidates"] >= 200_000
    assert abs(s["chosen"] / s["candidates"] - 0.15) < 0.005
    # a random token can equal the original by chance (1 in ~29,000): count it as kept
    assert abs(s["masked"] / s["chosen"] - 0.8) < 0.01
    assert abs(s["random"] / s["chosen"] - 0.1) < 0.01
    assert abs(s["kept"] / s["chosen"] - 0.1) < 0.01


def test_ratios_are_parameters(corpus_ids, tok):
    s = masking_stats(corpus_ids, tok, draws=4, mlm_probability=0.3, mask_ratio=0.5, random_ratio=0.3)
    assert abs(s["chosen"] / s["candidates"] - 0.3) < 0.01
    assert abs(s["masked"] / s["chosen"] - 0.5) < 0.015
    assert abs(s["random"] / s["chosen"] - 0.3) < 0.015


def test_same_generator_seed_same_masks(corpus_ids, tok):
    a = mask_tokens(corpus_ids, tok, generator=torch.Generator().manual_seed(7))
    b = mask_tokens(corpus_ids, tok, generator=torch.Generator().manual_seed(7))
    c = mask_tokens(corpus_ids, tok, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])


def test_every_sequence_gets_a_prediction(tok):
    ids = torch.tensor([[tok.cls_token_id, 2023, tok.sep_token_id, 0, 0]] * 200)
    _, labels = mask_tokens(ids, tok, generator=torch.Generator().manual_seed(0))
    assert ((labels != IGNORE).sum(1) == 1).all() and (labels[:, 1] == 2023).all()


def test_whole_word_masking_takes_all_pieces(corpus_ids, tok):
    masked, labels = mask_tokens(corpus_ids, tok, whole_word=True, generator=torch.Generator().manual_seed(3))
    tokens = tok.convert_ids_to_tokens(corpus_ids.flatten().tolist())
    chosen = (labels != IGNORE).flatten().tolist()
    pieces = 0
    for i, t in enumerate(tokens):
        if t.startswith("##"):
            assert chosen[i] == chosen[i - 1], f"piece {t!r} chosen apart from its word"
            pieces += 1
    assert pieces > 1000
    assert abs(sum(chosen) / sum(t not in ("[CLS]", "[SEP]", "[PAD]") for t in tokens) - 0.15) < 0.02


@pytest.mark.parametrize("kw", [dict(mlm_probability=0), dict(mlm_probability=1.5),
                                dict(mask_ratio=0.9, random_ratio=0.2), dict(random_ratio=-0.1)])
def test_bad_ratios_are_refused(tok, kw):
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_tokens(torch.ones(1, 4, dtype=torch.long), tok, **kw)


# ---- next sentence prediction ----------------------------------------------------------------
@pytest.fixture(scope="module")
def marked_documents(tok):
    """200 documents whose words come from disjoint word lists, so a token tells its document."""
    words = [w for w in tok.vocab if w.isalpha() and w.isascii() and len(w) >= 4]
    rng = random.Random(0)
    rng.shuffle(words)
    docs, owner = [], {}
    for d in range(200):
        own = words[d * 10:(d + 1) * 10]
        owner.update({w: d for w in own})
        docs.append([" ".join(rng.choice(own) for _ in range(rng.randint(4, 24))) for _ in range(rng.randint(3, 14))])
    return docs, owner


def test_nsp_pairs_statistics(tok, marked_documents):
    docs, owner = marked_documents
    pairs = make_nsp_pairs(docs, tok, max_length=64, rng=random.Random(1), dupe_factor=12)
    either_way = [p for p in pairs if not p.single_segment]
    assert len(either_way) > 5000
    rate = sum(p.is_next for p in either_way) / len(either_way)
    overall = sum(p.is_next for p in pairs) / len(pairs)
    print(f"NSP positive rate: {rate:.3f} over {len(either_way)} two-way chunks, {overall:.3f} over all {len(pairs)}")
    assert abs(rate - 0.5) < 0.02
    assert 0.3 < overall < 0.5 and all(not p.is_next for p in pairs if p.single_segment)
    for p in pairs:
        assert p.tokens_a and p.tokens_b and len(p.tokens_a) + len(p.tokens_b) + 3 <= 64
        doc_a = {owner[t] for t in p.tokens_a}
        doc_b = {owner[t] for t in p.tokens_b}
        assert len(doc_a) == 1
        if p.is_next:
            assert doc_b == doc_a
        else:
            assert doc_a.isdisjoint(doc_b), "a negative pair drew B from its own document"


def test_nsp_truncation_keeps_both_sides(tok):
    long_docs = [[" ".join(["word"] * 150), " ".join(["other"] * 150)], [" ".join(["third"] * 150)] * 2]
    for p in make_nsp_pairs(long_docs, tok, max_length=32, rng=random.Random(0), dupe_factor=20):
        assert len(p.tokens_a) + len(p.tokens_b) == 29 and abs(len(p.tokens_a) - len(p.tokens_b)) <= 1


def test_encode_pair_layout(tok):
    pair = make_nsp_pairs([["The cat sat.", "It purred."], ["Rain fell all day."]], tok, rng=random.Random(3))[0]
    ids, segments = encode_pair(pair, tok)
    tokens = tok.convert_ids_to_tokens(ids)
    first_sep = tokens.index("[SEP]")
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and tokens[1:first_sep] == pair.tokens_a
    assert segments == [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)


def test_nsp_needs_two_documents(tok):
    with pytest.raises(ValueError, match="at least 2"):
        make_nsp_pairs([["Only one document.", "Two sentences."]], tok)


def test_train_wordpiece_learns_a_loadable_vocabulary(tmp_path):
    from bertcourse.data import load_corpus
    from bertcourse.pretraining import train_wordpiece

    texts = [s for d in load_corpus("course")[:150] for s in d]
    a = train_wordpiece(texts, 1500)
    assert 1000 < len(a) <= 1500 and {"the", "water", "##s"} <= set(a.vocab)
    assert [a.vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [0, 1, 2, 3, 4]
    a.save_pretrained(tmp_path)
    again = BertTokenizer.from_pretrained(tmp_path)
    sentence = "The farmers moved their sheep to higher fields."
    assert again.tokenize(sentence) == a.tokenize(sentence) and "[UNK]" not in a.tokenize(sentence)


def test_best_threshold_is_the_most_accurate_cut_by_brute_force():
    from bertcourse.pretraining import best_threshold

    g = torch.Generator().manual_seed(0)
    for n in (1, 2, 7, 40):
        scores = torch.randn(n, generator=g)
        labels = scores + 0.8 * torch.randn(n, generator=g) > 0        # noisy: no cut is perfect
        cut, accuracy = best_threshold(scores, labels)
        assert accuracy == pytest.approx(((scores > cut) == labels).float().mean().item())
        # every possible split of the sorted scores, predicting True above it
        brute = max(((scores > t) == labels).float().mean().item() for t in [scores.min().item() - 1, *scores.tolist()])
        assert accuracy == pytest.approx(brute)
    cut, accuracy = best_threshold(torch.tensor([0.1, 0.2, 0.8, 0.9]), torch.tensor([False, False, True, True]))
    assert accuracy == 1.0 and cut == pytest.approx(0.5)
    assert best_threshold(torch.tensor([0.3, 0.4]), torch.tensor([True, True]))[1] == 1.0    # all True: cut below all
    assert best_threshold(torch.tensor([0.3, 0.4]), torch.tensor([False, False]))[1] == 1.0  # all False: cut at the top
    cut, accuracy = best_threshold(torch.tensor([0.1, 0.3, 0.3, 0.3]), torch.tensor([False, True, True, False]))
    assert (cut, accuracy) == (pytest.approx(0.2), 0.75)                    # tied scores get one answer
    with pytest.raises(ValueError, match="one label per score"):
        best_threshold(torch.tensor([0.1, 0.2]), torch.tensor([True]))
    with pytest.raises(ValueError, match="at least one score"):
        best_threshold(torch.tensor([]), torch.tensor([]))


def test_masking_outcomes_and_rates_read_back_what_happened(tok):
    ids = torch.tensor([[101, 2023, 2003, 1037, 3899, 102, 0]])              # [CLS] this is a dog [SEP] [PAD]
    masked = torch.tensor([[101, 103, 2003, 7592, 3899, 102, 0]])            # this -> [MASK], a -> random
    labels = torch.tensor([[-100, 2023, 2003, 1037, -100, -100, -100]])      # 'is' chosen and kept
    out = masking_outcomes(ids, masked, labels, tok.mask_token_id)
    assert out["chosen"].tolist() == [[False, True, True, True, False, False, False]]
    assert out["mask"].nonzero().tolist() == [[0, 1]]
    assert out["kept"].nonzero().tolist() == [[0, 2]]
    assert out["random"].nonzero().tolist() == [[0, 3]]
    assert outcome_names(ids[0], masked[0], labels[0], tok.mask_token_id) == [
        "unchosen", "mask", "kept", "random", "unchosen", "unchosen", "unchosen"]
    assert masking_rates(ids, masked, labels, tok) == {"chosen": 3 / 4, "mask": 1 / 3, "random": 1 / 3, "kept": 1 / 3}
    with pytest.raises(ValueError, match="no position was chosen"):
        masking_rates(ids, ids, torch.full_like(ids, -100), tok)


@pytest.mark.parametrize("whole_word", [False, True])
def test_expected_rates_are_what_mask_tokens_delivers_on_short_rows(tok, whole_word):
    """On 5-token rows the at-least-one rule lifts the chosen share well above p: the formula says how much."""
    enc = tok.encode("unbelievably tokenization works")
    assert len(enc.tokens) == 2 + 8                                          # 3 words in 8 pieces
    ids = torch.tensor([enc.input_ids]).expand(40_000, -1)
    p = 0.1
    expected = expected_masking_rates(ids[:1], tok, p, 0.6, 0.3, whole_word)
    masked, labels = mask_tokens(ids, tok, p, 0.6, 0.3, whole_word, generator=torch.Generator().manual_seed(0))
    measured = masking_rates(ids, masked, labels, tok)
    U = 3 if whole_word else 8                                               # units drawn: words or pieces
    assert expected["chosen"] == pytest.approx(p + (1 - p) ** U / U)
    assert expected["chosen"] > p + 0.05
    for key in ("chosen", "mask", "random", "kept"):
        assert measured[key] == pytest.approx(expected[key], abs=0.01), key
