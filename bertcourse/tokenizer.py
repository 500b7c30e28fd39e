"""BertTokenizer: text -> WordPiece tokens -> ids, with [CLS]/[SEP], pairs, truncation, padding and offsets.

The two stages themselves (basic tokenizer, then WordPiece) are in `wordpiece.py`; this module adds
what a model needs around them. We match ``transformers.BertTokenizerFast`` token for token and offset
for offset; where it differs from google-research/bert's ``tokenization.py`` we follow it:

* special tokens typed in the text ("[MASK]", exact case) stay whole (google-research: "[", "mask", "]");
* "longest_first" truncation gives an odd leftover token to the longer sequence (see `_truncate`).
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from .default_model import default_model_dir
from .wordpiece import Char, normalize, split_words, wordpiece_spans

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRUNCATIONS = ("longest_first", "only_first", "only_second", "do_not_truncate")
# One token: (piece, start_char, end_char, word_index), offsets into the original text.
Token = tuple[str, int, int, int]


@dataclass
class Encoding:
    """One encoded example: position t of every list describes token t."""
    tokens: list[str] = field(default_factory=list)
    input_ids: list[int] = field(default_factory=list)
    token_type_ids: list[int] = field(default_factory=list)      # 0: [CLS] A [SEP], 1: B [SEP]
    attention_mask: list[int] = field(default_factory=list)      # 0 on padding
    special_tokens_mask: list[int] = field(default_factory=list)  # 1 on [CLS], [SEP], [PAD]
    word_ids: list[Optional[int]] = field(default_factory=list)  # word index within its own sequence
    sequence_ids: list[Optional[int]] = field(default_factory=list)  # 0 (A), 1 (B), None (special)
    offsets: list[Optional[tuple[int, int]]] = field(default_factory=list)  # into its own text

    def __len__(self) -> int:
        return len(self.input_ids)

    def append(self, token: str, input_id: int, token_type: int, attention: int, special: int,
               word: Optional[int], sequence: Optional[int], offsets: Optional[tuple[int, int]]) -> None:
        """Add one token: one value per field, in field order."""
        for name, value in zip(self.__dataclass_fields__, (token, input_id, token_type, attention, special,
                                                           word, sequence, offsets)):
            getattr(self, name).append(value)


def load_vocab(path: Union[str, Path]) -> dict[str, int]:
    """vocab.txt holds one token per line; the line number is its id."""
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


class BertTokenizer:
    """Text -> WordPiece tokens -> ids, with [CLS]/[SEP], truncation, padding and character offsets."""

    cls_token, sep_token, pad_token, mask_token, unk_token = "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"

    def __init__(self, vocab: Union[dict[str, int], str, Path], do_lower_case: bool = True,
                 strip_accents: Optional[bool] = None, tokenize_chinese_chars: bool = True,
                 model_max_length: int = 512) -> None:
        self.vocab: dict[str, int] = dict(vocab) if isinstance(vocab, dict) else load_vocab(vocab)
        missing = [t for t in SPECIAL_TOKENS if t not in self.vocab]
        if missing:
            raise ValueError(f"the vocabulary lacks {missing}: a BERT vocabulary needs all of {SPECIAL_TOKENS}")
        self.ids_to_tokens: dict[int, str] = {i: t for t, i in self.vocab.items()}
        self.cls_token_id = self.vocab[self.cls_token]  # 101 in the original BERT vocabularies
        self.sep_token_id = self.vocab[self.sep_token]
        self.pad_token_id = self.vocab[self.pad_token]
        self.mask_token_id = self.vocab[self.mask_token]
        self.unk_token_id = self.vocab[self.unk_token]
        self.do_lower_case = do_lower_case
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.model_max_length = model_max_length
        self._special_re = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))

    @classmethod
    def from_pretrained(cls, path: Union[str, Path, None] = None) -> "BertTokenizer":
        """Load a directory with vocab.txt (and tokenizer_config.json, if any) or a vocab.txt file.
        No path: the packaged all-MiniLM-L6-v2 vocabulary (uncased), so the course works offline."""
        path = default_model_dir() if path is None else Path(path)
        vocab_file = path / "vocab.txt" if path.is_dir() else path
        if not vocab_file.is_file():
            raise FileNotFoundError(f"no vocab.txt at {vocab_file}: pass a BERT checkpoint directory that "
                                    "contains vocab.txt, or the path of a vocab.txt file")
        settings: dict[str, Any] = {}
        config_file = vocab_file.parent / "tokenizer_config.json"
        if config_file.is_file():
            config = json.loads(config_file.read_text(encoding="utf-8"))
            keys = ("do_lower_case", "strip_accents", "tokenize_chinese_chars", "model_max_length")
            settings = {k: config[k] for k in keys if k in config}
        return cls(vocab_file, **settings)

    def save_pretrained(self, directory: Union[str, Path]) -> Path:
        """Write vocab.txt (the line number is the id) and tokenizer_config.json, for from_pretrained."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if sorted(self.vocab.values()) != list(range(len(self.vocab))):
            raise ValueError("vocabulary ids are not 0..n-1, so they cannot be written as vocab.txt lines")
        (directory / "vocab.txt").write_text("".join(t + "\n" for t in sorted(self.vocab, key=self.vocab.get)),
                                            encoding="utf-8")
        settings = {"do_lower_case": self.do_lower_case, "strip_accents": self.strip_accents,
                    "tokenize_chinese_chars": self.tokenize_chinese_chars,
                    "model_max_length": self.model_max_length, "tokenizer_class": "BertTokenizer"}
        (directory / "tokenizer_config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        return directory

    # -- vocabulary -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def all_special_ids(self) -> set[int]:
        return {self.vocab[t] for t in SPECIAL_TOKENS}

    def convert_tokens_to_ids(self, tokens: Union[str, Iterable[str]]) -> Union[int, list[int]]:
        """Tokens not in the vocabulary map to the [UNK] id."""
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: Union[int, Iterable[int]]) -> Union[str, list[str]]:
        """Ids outside the vocabulary raise ValueError: they usually mean a mismatched model."""
        ids = ids.tolist() if hasattr(ids, "tolist") else ids  # tensors and arrays
        if isinstance(ids, int):
            return self._id_to_token(ids)
        return [self._id_to_token(i) for i in ids]

    def _id_to_token(self, i: int) -> str:
        if i not in self.ids_to_tokens:
            raise ValueError(f"token id {i} is outside the vocabulary (size {len(self)}): "
                             "were these ids made by another tokenizer or model?")
        return self.ids_to_tokens[i]

    # -- the two stages ------------------------------------------------------------------------
    def _words(self, text: str) -> list[list[Char]]:
        """Stage 1 on the whole text. Special tokens typed in the text ("[MASK]") are cut out first
        and kept as words of their own."""
        words: list[list[Char]] = []
        start = 0
        for match in [*self._special_re.finditer(text), None]:
            end = match.start() if match else len(text)
            chars = normalize(text[start:end], self.do_lower_case, self.strip_accents, self.tokenize_chinese_chars)
            words += [[(ch, i + start) for ch, i in word] for word in split_words(chars)]
            if match:
                words.append([(ch, i) for i, ch in enumerate(match.group(), match.start())])
                start = match.end()
        return words

    def basic_tokenize(self, text: str) -> list[str]:
        """Stage 1 only: the words WordPiece will see."""
        _check_str(text, "text")
        return ["".join(ch for ch, _ in word) for word in self._words(text)]

    def wordpiece(self, word: str) -> list[str]:
        """Stage 2 only, on one word that has been through stage 1."""
        _check_str(word, "word")
        return [piece for piece, _, _ in wordpiece_spans(word, self.vocab, self.unk_token)]

    def tokenize_with_offsets(self, text: str) -> list[Token]:
        """Both stages: (piece, start, end, word_index) with offsets into the original `text`."""
        _check_str(text, "text")
        tokens: list[Token] = []
        for w, word in enumerate(self._words(text)):
            string = "".join(ch for ch, _ in word)
            if string in SPECIAL_TOKENS:  # stage 1 never leaves "[" in a word: a special token from the text
                spans = [(string, 0, len(word))]
            else:
                spans = wordpiece_spans(string, self.vocab, self.unk_token)
            tokens += [(piece, word[a][1], word[b - 1][1] + 1, w) for piece, a, b in spans]
        return tokens

    def tokenize(self, text: str) -> list[str]:
        return [piece for piece, _, _, _ in self.tokenize_with_offsets(text)]

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, text: str, pair: Optional[str] = None, max_length: Optional[int] = None,
               truncation: Union[bool, str] = "longest_first", add_special_tokens: bool = True) -> Encoding:
        """[CLS] text [SEP] (or [CLS] text [SEP] pair [SEP]), at most max_length tokens (default:
        model_max_length; truncating to that default warns, since it is easy to miss)."""
        strategy = {True: "longest_first", False: "do_not_truncate"}.get(truncation, truncation)
        if strategy not in TRUNCATIONS:
            raise ValueError(f"truncation={truncation!r}: use one of {TRUNCATIONS}, True or False")
        first = self._nonempty_tokens(text, "text")
        second = None if pair is None else self._nonempty_tokens(pair, "pair")
        limit = self.model_max_length if max_length is None else max_length
        n_special = (2 if second is None else 3) if add_special_tokens else 0
        total = len(first) + len(second or ()) + n_special
        if total > limit:
            first, second = _truncate(first, second, limit - n_special, total, limit, strategy)
            if max_length is None:
                warnings.warn(f"input of {total} tokens truncated to model_max_length={limit}; pass "
                              "max_length (and truncation) explicitly to silence this warning", stacklevel=2)
        enc = Encoding()
        if add_special_tokens:
            self._append_special(enc, self.cls_token)
        for seq, tokens in enumerate([first] if second is None else [first, second]):
            for piece, start, end, word in tokens:
                enc.append(piece, self.vocab[piece], seq, 1, 0, word, seq, (start, end))
            if add_special_tokens:
                self._append_special(enc, self.sep_token, seq)
        return enc

    def _nonempty_tokens(self, text: str, name: str) -> list[Token]:
        _check_str(text, name)
        tokens = self.tokenize_with_offsets(text)
        if not tokens:
            raise ValueError(f"the {name} is empty: {text[:30]!r} has no tokens (only spaces or invisible "
                             f"characters); pass a {name} with some words in it")
        return tokens

    def _append_special(self, enc: Encoding, token: str, type_id: int = 0) -> None:
        enc.append(token, self.vocab[token], type_id, int(token != self.pad_token), 1, None, None, None)

    def pad(self, enc: Encoding, length: int) -> Encoding:
        """A copy of `enc` with [PAD] appended up to `length` (attention_mask 0 there)."""
        padded = Encoding(**{name: list(values) for name, values in vars(enc).items()})
        while len(padded) < length:
            self._append_special(padded, self.pad_token)
        return padded

    def __call__(self, texts: Union[str, list[str]], pairs: Union[str, list[str], None] = None,
                 max_length: Optional[int] = 128, padding: Union[bool, str] = True,
                 truncation: Union[bool, str] = "longest_first", return_tensors: Optional[str] = None) -> dict:
        """Encode a batch: input_ids, token_type_ids, attention_mask and special_tokens_mask as lists
        of lists (or (B, T) torch.long tensors with return_tensors="pt"), plus the per-example
        Encoding objects under "encodings" (for offsets and word_ids)."""
        texts = [texts] if isinstance(texts, str) else texts
        pairs = [pairs] if isinstance(pairs, str) else pairs
        if not isinstance(texts, list) or not (pairs is None or isinstance(pairs, list)):
            raise TypeError("texts (and pairs) must be a str or a list of str")
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(pairs)} pairs: give one pair per text, or none")
        if not texts:
            raise ValueError("the batch is empty: pass at least one text")
        encodings = [self.encode(t, None if pairs is None else pairs[k], max_length, truncation)
                     for k, t in enumerate(texts)]
        if padding in (True, "longest", "max_length"):
            longest = max(len(e) for e in encodings)
            target = (max_length or self.model_max_length) if padding == "max_length" else longest
            encodings = [self.pad(e, target) for e in encodings]
        elif padding is not False:
            raise ValueError(f"padding={padding!r}: use True (or 'longest'), 'max_length' or False")
        keys = ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask")
        batch: dict[str, Any] = {k: [getattr(e, k) for e in encodings] for k in keys}
        if return_tensors == "pt":
            import torch
            if len({len(e) for e in encodings}) > 1:
                raise ValueError("return_tensors='pt' needs examples of equal length, and without padding "
                                 "they differ: use padding=True")
            batch = {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}
        elif return_tensors is not None:
            raise ValueError(f"return_tensors={return_tensors!r}: use 'pt', or None for lists")
        batch["encodings"] = encodings
        return batch

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Ids back to text, as the fast tokenizer's WordPiece decoder does it: "##" pieces join the
        previous piece, other pieces get a space, except that " ." " ," " !" " ?" lose it. Nothing
        else is tidied: transformers 5 leaves clean_up_tokenization_spaces off for BERT, so
        "don't" comes back as "don ' t". Lower-casing and stripped accents cannot be undone."""
        tokens = self.convert_ids_to_tokens(ids)
        tokens = [tokens] if isinstance(tokens, str) else tokens
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in SPECIAL_TOKENS]
        text = ""
        for k, token in enumerate(tokens):
            if k > 0:
                token = token[2:] if token.startswith("##") else " " + token
            text += token[1:] if token in (" .", " ,", " !", " ?") else token
        return text


def _check_str(text: Any, name: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"the {name} must be a str, got {type(text).__name__}; decode bytes first, "
                        "and pass lists of texts to the batch call tok(texts)")


def _truncate(first: list[Token], second: Optional[list[Token]], budget: int, total: int, limit: int,
              strategy: str) -> tuple[list[Token], Optional[list[Token]]]:
    """Drop tokens from the end until the sequences fit `budget` (max_length minus the specials)."""
    if strategy == "do_not_truncate":
        raise ValueError(f"the input has {total} tokens, more than max_length={limit}, and truncation is off: "
                         "shorten the input, raise max_length, or pass truncation='longest_first'")
    if budget < 0:
        raise ValueError(f"max_length={limit} cannot even hold the special tokens: use a larger max_length")
    if strategy == "longest_first":
        # As the fast tokenizer does it: the shorter sequence stays whole if it fits in half the budget
        # and the longer gets the rest; otherwise each gets half, an odd token going to the longer
        # (on a tie, to the second). google-research popped tokens one by one from the longer
        # sequence, from the second on a tie, which can end one token differently.
        n1, n2 = len(first), len(second or ())
        short = min(n1, n2)
        if 2 * short <= budget:
            keep_short, keep_long = short, budget - short
        else:
            keep_short, keep_long = budget // 2, budget - budget // 2
        n1, n2 = (keep_short, keep_long) if n1 <= n2 else (keep_long, keep_short)
        return first[:n1], None if second is None else second[:n2]
    cut_second = strategy == "only_second"
    if cut_second and second is None:
        raise ValueError("truncation='only_second' needs a pair; use 'longest_first' for a single text")
    target = second if cut_second else first
    keep = len(target) - (total - limit)
    if keep < 1:  # like the fast tokenizer, refuse to empty a sequence
        raise ValueError(f"truncation={strategy!r} cannot fit the input into max_length={limit}: the "
                         f"{'pair' if cut_second else 'text'} would lose all its tokens; use "
                         "truncation='longest_first' or a larger max_length")
    return (first, target[:keep]) if cut_second else (target[:keep], second)
