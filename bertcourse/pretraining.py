"""BERT's two pretraining tasks as data: masked LM (mask_tokens) and next sentence prediction (make_nsp_pairs).

The training loop itself is the shared one in training.py; this module only decides what the model sees.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import torch

from .tokenizer import BertTokenizer

IGNORE = -100  # label of every position the MLM loss skips


@lru_cache(maxsize=8)
def ordinary_token_ids(tokenizer: BertTokenizer) -> torch.Tensor:
    """Ids a random replacement may take: no [CLS]/[SEP]/[PAD]/[MASK]/[UNK] and no [unusedN] slots.
    Cached per tokenizer: mask_tokens runs every training step and the vocabulary does not change."""
    special = set(tokenizer.all_special_ids)
    return torch.tensor([i for tok, i in tokenizer.vocab.items()
                         if i not in special and not (tok.startswith("[") and tok.endswith("]"))])


def word_starts(input_ids: torch.Tensor, tokenizer: BertTokenizer) -> torch.Tensor:
    """(B, T) bool: True where a token begins a word, False on '##' continuation pieces."""
    tokens = tokenizer.convert_ids_to_tokens(input_ids.flatten().tolist())
    return torch.tensor([not t.startswith("##") for t in tokens]).view_as(input_ids)


def mask_tokens(input_ids: torch.Tensor, tokenizer: BertTokenizer, mlm_probability: float = 0.15,
                mask_ratio: float = 0.8, random_ratio: float = 0.1, whole_word: bool = False,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose ~15% of the real tokens; of those, 80% -> [MASK], 10% -> a random token, 10% unchanged.

    input_ids: (B, T). Returns (masked_ids, labels), labels = the original id at chosen positions and
    -100 elsewhere, so the loss only counts what the model had to predict.

    As Hugging Face's DataCollatorForLanguageModeling, each candidate is chosen independently with
    probability mlm_probability ([CLS], [SEP] and [PAD] never are); unlike it, a sequence where nothing
    was drawn gets one position anyway (google-research's max(1, ...)), so no example is wasted.
    The random replacement is drawn from ordinary vocabulary words; google-research draws from the
    whole vocabulary, [unused] slots and special tokens included, which teaches nothing useful.
    whole_word=True chooses whole words (a word and all its '##' pieces) and then decides 80/10/10
    per token, as google-research's --do_whole_word_mask.
    """
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be (batch, seq_len), got shape {tuple(input_ids.shape)}")
    if not 0 < mlm_probability < 1 or mask_ratio < 0 or random_ratio < 0 or mask_ratio + random_ratio > 1:
        raise ValueError("need 0 < mlm_probability < 1, and mask_ratio + random_ratio <= 1 (both >= 0); "
                         f"got {mlm_probability}, {mask_ratio}, {random_ratio}")
    candidates = ~torch.isin(input_ids, torch.tensor(sorted(tokenizer.all_special_ids)))  # (B, T)
    starts = word_starts(input_ids, tokenizer) | ~candidates if whole_word else None
    units = candidates & starts if whole_word else candidates   # what is drawn: words or tokens
    draw = (torch.rand(input_ids.shape, generator=generator) < mlm_probability) & units
    # a sequence with candidates but no draw still gets one (random) unit
    empty = ~draw.any(dim=1) & units.any(dim=1)
    if empty.any():
        scores = torch.rand(input_ids.shape, generator=generator).masked_fill(~units, -1.0)
        pick = torch.zeros_like(draw).scatter_(1, scores.argmax(dim=1, keepdim=True), True)
        draw |= pick & empty[:, None]
    if whole_word:
        word_index = starts.long().cumsum(dim=1)            # (B, T): which word each piece belongs to
        B, T = input_ids.shape                              # spread each word's draw to all its pieces
        per_word = torch.zeros(B, T + 1, dtype=torch.long).scatter_add_(1, word_index, draw.long())
        draw = per_word.gather(1, word_index) > 0
    chosen = draw & candidates

    labels = torch.where(chosen, input_ids, IGNORE)
    action = torch.rand(input_ids.shape, generator=generator)  # one draw decides what happens to a token
    to_mask = chosen & (action < mask_ratio)
    to_random = chosen & (action >= mask_ratio) & (action < mask_ratio + random_ratio)
    pool = ordinary_token_ids(tokenizer)
    random_ids = pool[torch.randint(len(pool), input_ids.shape, generator=generator)]
    masked = input_ids.clone()
    masked[to_mask] = tokenizer.mask_token_id
    masked[to_random] = random_ids[to_random]
    return masked, labels


def masking_outcomes(input_ids: torch.Tensor, masked_ids: torch.Tensor, labels: torch.Tensor,
                     mask_token_id: int) -> dict[str, torch.Tensor]:
    """What mask_tokens did at each position, read back from its output (any shape, e.g. (B, T)):
    bool tensors "chosen", "mask", "random", "kept". A random draw that happens to be the original
    token (about 1 in 29,000) looks exactly like a kept one, and is counted as kept."""
    chosen = labels != IGNORE
    mask = chosen & (masked_ids == mask_token_id)
    kept = chosen & (masked_ids == input_ids)
    return {"chosen": chosen, "mask": mask, "random": chosen & ~mask & ~kept, "kept": kept}


def outcome_names(input_ids: torch.Tensor, masked_ids: torch.Tensor, labels: torch.Tensor,
                  mask_token_id: int) -> list[str]:
    """One sentence (1-D): per position "mask", "random", "kept" or "unchosen" (the keys of
    viz.inputs.OUTCOME_COLOURS)."""
    outcome = masking_outcomes(input_ids, masked_ids, labels, mask_token_id)
    return [next((k for k in ("mask", "random", "kept") if outcome[k][t]), "unchosen") for t in range(len(labels))]


def masking_rates(input_ids: torch.Tensor, masked_ids: torch.Tensor, labels: torch.Tensor,
                  tokenizer: BertTokenizer) -> dict[str, float]:
    """The numbers the 15% / 80-10-10 rule promises, measured: the share of real (non-special) tokens
    chosen, and of the chosen ones the shares that became [MASK], a random token, or stayed."""
    real = ~torch.isin(input_ids, torch.tensor(sorted(tokenizer.all_special_ids)))
    outcome = masking_outcomes(input_ids, masked_ids, labels, tokenizer.mask_token_id)
    n_chosen = int(outcome["chosen"].sum())
    if n_chosen == 0:
        raise ValueError("no position was chosen: pass the output of mask_tokens on rows with real tokens")
    return {"chosen": n_chosen / int(real.sum()),
            **{k: int(outcome[k].sum()) / n_chosen for k in ("mask", "random", "kept")}}


def expected_masking_rates(input_ids: torch.Tensor, tokenizer: BertTokenizer, mlm_probability: float = 0.15,
                           mask_ratio: float = 0.8, random_ratio: float = 0.1,
                           whole_word: bool = False) -> dict[str, float]:
    """What masking_rates should approach over many draws. Each unit (token, or word with whole_word)
    of a row with n real tokens in U units is drawn with probability p, and a row that drew nothing
    gets one unit anyway, so E[chosen] = p n + (1 - p)^U n / U per row: more than p on short rows."""
    real = ~torch.isin(input_ids, torch.tensor(sorted(tokenizer.all_special_ids)))   # (B, T)
    units = real & word_starts(input_ids, tokenizer) if whole_word else real
    n, U = real.sum(1).double(), units.sum(1).double()                       # (B,), (B,)
    has = U > 0
    p = mlm_probability
    chosen = (p * n[has] + (1 - p) ** U[has] * n[has] / U[has]).sum() / n[has].sum()
    return {"chosen": float(chosen), "mask": mask_ratio, "random": random_ratio,
            "kept": 1.0 - mask_ratio - random_ratio}


@dataclass
class NspPair:
    tokens_a: list[str]
    tokens_b: list[str]
    is_next: bool                  # True: B really follows A; False: B comes from another document
    single_segment: bool = False   # A was a chunk of one segment, so B had to be random


def truncate_pair(a: list[str], b: list[str], max_tokens: int, rng: random.Random) -> None:
    """Trim the longer side, one token at a time, from the front or the back at random (in place)."""
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def pairs_from_document(docs: list[list[list[str]]], index: int, max_length: int, short_seq_prob: float,
                        rng: random.Random) -> list[NspPair]:
    """create_pretraining_data.py's create_instances_from_document, one document -> NSP pairs."""
    doc, max_tokens = docs[index], max_length - 3  # room for [CLS], [SEP], [SEP]
    target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
    pairs, chunk, length, j = [], [], 0, 0
    while j < len(doc):
        chunk.append(doc[j])
        length += len(doc[j])
        if j == len(doc) - 1 or length >= target:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            a = [t for segment in chunk[:a_end] for t in segment]
            if len(chunk) == 1 or rng.random() < 0.5:
                k = rng.randrange(len(docs) - 1)
                other = docs[k + (k >= index)]      # any document but this one
                b = []
                for segment in other[rng.randint(0, len(other) - 1):]:
                    b.extend(segment)
                    if len(b) >= target - len(a):
                        break
                j -= len(chunk) - a_end  # the unused segments of this chunk go back into the document
                is_next = False
            else:
                b = [t for segment in chunk[a_end:] for t in segment]
                is_next = True
            truncate_pair(a, b, max_tokens, rng)
            pairs.append(NspPair(a, b, is_next, single_segment=len(chunk) == 1))
            chunk, length = [], 0
        j += 1
    return pairs


def make_nsp_pairs(documents: list[list[str]], tokenizer: BertTokenizer, max_length: int = 128,
                   short_seq_prob: float = 0.1, rng: random.Random | None = None,
                   dupe_factor: int = 1) -> list[NspPair]:
    """Documents (lists of sentences) -> shuffled sentence pairs, half true continuations, half random.

    Follows google-research/bert: a chunk of sentences is grown to a target length (shorter with
    probability short_seq_prob, so the model also sees short inputs), split at a random point into A
    and B; with probability 0.5, B is replaced by text from a different document. A chunk of a single
    sentence always gets a random B, which pulls the overall positive rate a little under 0.5.
    """
    if max_length < 5:
        raise ValueError(f"max_length {max_length} leaves no room for two segments after [CLS] A [SEP] B [SEP]")
    rng = rng or random.Random(12345)
    docs = [[t for t in (tokenizer.tokenize(s) for s in doc) if t] for doc in documents]
    docs = [d for d in docs if d]
    if len(docs) < 2:
        raise ValueError(f"need at least 2 non-empty documents for random next sentences, got {len(docs)}")
    pairs = [p for _ in range(dupe_factor) for i in range(len(docs))
             for p in pairs_from_document(docs, i, max_length, short_seq_prob, rng)]
    rng.shuffle(pairs)
    return pairs


def encode_pair(pair: NspPair, tokenizer: BertTokenizer) -> tuple[list[int], list[int]]:
    """[CLS] A [SEP] B [SEP] -> (input_ids, token_type_ids): segment 0 up to the first [SEP], then 1."""
    tokens = [tokenizer.cls_token, *pair.tokens_a, tokenizer.sep_token, *pair.tokens_b, tokenizer.sep_token]
    segments = [0] * (len(pair.tokens_a) + 2) + [1] * (len(pair.tokens_b) + 1)
    return tokenizer.convert_tokens_to_ids(tokens), segments


def pad(rows: list[list[int]], value: int) -> torch.Tensor:
    """Right-pad lists of ids to the longest one: (B, T)."""
    T = max(map(len, rows))
    return torch.tensor([row + [value] * (T - len(row)) for row in rows])


@dataclass
class PretrainingCollate:
    """NSP pairs -> a padded batch with fresh masks each time (dynamic masking, as RoBERTa and HF do)."""
    tokenizer: BertTokenizer
    mlm_probability: float = 0.15
    whole_word: bool = False

    def __call__(self, pairs: list[NspPair], generator: torch.Generator) -> dict[str, torch.Tensor]:
        encoded = [encode_pair(p, self.tokenizer) for p in pairs]
        input_ids = pad([ids for ids, _ in encoded], self.tokenizer.pad_token_id)
        masked, labels = mask_tokens(input_ids, self.tokenizer, self.mlm_probability,
                                     whole_word=self.whole_word, generator=generator)
        return {"input_ids": masked,
                "token_type_ids": pad([segments for _, segments in encoded], 0),
                "attention_mask": (input_ids != self.tokenizer.pad_token_id).long(),
                "labels": labels,
                "next_sentence_label": torch.tensor([0 if p.is_next else 1 for p in pairs])}  # 0 = is next


def pretraining_metrics(out, batch: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
    """MLM top-1 and top-5 accuracy over the chosen positions and NSP accuracy over the pairs, as (correct, total)."""
    targets = batch["labels"][batch["labels"] != IGNORE]          # mlm_logits covers exactly these
    top5 = out.mlm_logits.topk(min(5, out.mlm_logits.shape[-1]), dim=-1).indices      # (N, 5)
    mlm_correct = (top5[:, 0] == targets).sum().item()
    mlm_top5 = (top5 == targets[:, None]).any(-1).sum().item()
    nsp_correct = (out.nsp_logits.argmax(-1) == batch["next_sentence_label"]).sum().item()
    return {"mlm_accuracy": (mlm_correct, len(targets)), "mlm_top5_accuracy": (mlm_top5, len(targets)),
            "nsp_accuracy": (nsp_correct, len(batch["next_sentence_label"]))}


def train_wordpiece(texts: Iterable[str], vocab_size: int, lowercase: bool = True) -> BertTokenizer:
    """Learn a WordPiece vocabulary from a corpus (the `tokenizers` trainer), ready for our tokenizer."""
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=lowercase)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                special_tokens=specials)
    # The trainer breaks ties between equally frequent merges in a different order on every call, so
    # two calls can learn slightly different sets; a run therefore saves its vocabulary with its weights.
    learned = sorted(set(trainer.get_vocab()) - set(specials))
    return BertTokenizer({t: i for i, t in enumerate(specials + learned)}, do_lower_case=lowercase)


def unigram_baseline(train_pairs: list[NspPair], eval_pairs: list[NspPair]) -> float:
    """MLM accuracy of always guessing the most frequent training token (masked positions are uniform
    over the real tokens, so this is its expected accuracy on eval_pairs)."""
    counts = Counter(t for p in train_pairs for t in (*p.tokens_a, *p.tokens_b))
    best = counts.most_common(1)[0][0]
    eval_tokens = [t for p in eval_pairs for t in (*p.tokens_a, *p.tokens_b)]
    return sum(t == best for t in eval_tokens) / len(eval_tokens)


def best_threshold(scores: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """The cut t for which "score > t means True" agrees with the most labels: (t, its accuracy).

    A one-number classifier, e.g. "B continues A when the cosine of their sentence vectors exceeds t":
    it measures how much of a task a score already solves. Sorted once, every cut is scored at once:
    below all the scores, between two different neighbours, or at the top (True / False everywhere)."""
    scores, labels = torch.as_tensor(scores).float().flatten(), torch.as_tensor(labels).bool().flatten()
    if scores.numel() == 0 or scores.numel() != labels.numel():
        raise ValueError(f"need one label per score and at least one score; got {scores.numel()} scores "
                         f"and {labels.numel()} labels")
    order = scores.argsort()
    s, y = scores[order], labels[order].float()                            # (N,) ascending
    zero = torch.zeros(1)
    # cut k predicts False for the k lowest scores and True for the rest: (N + 1,) correct answers
    correct = torch.cat([zero, (1 - y).cumsum(0)]) + torch.cat([y.flip(0).cumsum(0).flip(0), zero])
    cuts = torch.cat([s[:1] - 1, (s[1:] + s[:-1]) / 2, s[-1:]])            # (N + 1,)
    valid = torch.cat([torch.tensor([True]), s[1:] > s[:-1], torch.tensor([True])])  # no cut inside a tie
    best = int(correct.masked_fill(~valid, -1).argmax())
    return float(cuts[best]), float(correct[best] / len(s))


def model_inputs(batch: dict, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The tokenizer's batch -> the three tensors a BERT forward takes, on the model's device."""
    device = next(model.parameters()).device
    return {k: batch[k].to(device) for k in ("input_ids", "token_type_ids", "attention_mask")}


@torch.no_grad()
def fill_mask(model: torch.nn.Module, tokenizer: BertTokenizer, text: str,
              top_k: int = 5) -> list[list[tuple[str, float]]]:
    """For each [MASK] in `text`, in reading order: the MLM head's top_k (token, probability), best first.

    The model is a BertForPreTraining whose MLM head was trained (see classroom.model_dir("pretraining"));
    each [MASK] is predicted with all the others still masked, as in pretraining."""
    if not 1 <= top_k <= len(tokenizer):
        raise ValueError(f"top_k must be between 1 and the vocabulary size {len(tokenizer)}, got {top_k}")
    batch = tokenizer([text], max_length=None, return_tensors="pt")
    positions = (batch["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()  # (M,)
    if len(positions) == 0:
        raise ValueError(f"no {tokenizer.mask_token} in {text!r}: write {tokenizer.mask_token} where a word "
                         "should be guessed, e.g. 'The capital of France is [MASK].'")
    model.eval()
    logits = model(**model_inputs(batch, model)).mlm_logits[0, positions]     # (M, V)
    probs, ids = logits.float().softmax(-1).topk(top_k, dim=-1)               # (M, k)
    return [list(zip(tokenizer.convert_ids_to_tokens(row_ids), row_probs))
            for row_ids, row_probs in zip(ids.tolist(), probs.tolist())]


@torch.no_grad()
def next_sentence_probability(model: torch.nn.Module, tokenizer: BertTokenizer, a: str, b: str,
                              max_length: int = 128) -> float:
    """P(B follows A) from the NSP head on [CLS] A [SEP] B [SEP] (class 0 = IsNext, as in BERT)."""
    model.eval()
    batch = tokenizer([a], [b], max_length=max_length, return_tensors="pt")
    with torch.no_grad():  # only the NSP path: the MLM head's (T, V) vocabulary projection would cost 5x more
        pooled = model.bert(**model_inputs(batch, model)).pooler_output         # (1, H)
        logits = model.cls.seq_relationship(pooled)                             # (1, 2)
    return float(logits.float().softmax(-1)[0, 0])
