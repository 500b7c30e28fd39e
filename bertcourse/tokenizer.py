"""BERT's WordPiece tokenizer in plain Python, written to be read.

Text becomes token ids in two stages:

1. the **basic tokenizer** cleans the text (drops control characters, turns every kind of space into
   " "), lower-cases it and strips accents (uncased models), and splits it into words: at whitespace,
   around every punctuation character and around every CJK ideograph;
2. **WordPiece** cuts each word into the longest pieces found in the vocabulary, left to right
   ("unaffable" -> "un", "##aff", "##able"); a piece that continues a word starts with "##".

The reference is google-research/bert's ``tokenization.py`` as Hugging Face's *fast* tokenizer
implements it (``BertTokenizerFast``); this module matches it token for token and offset for offset.
Where the fast tokenizer differs from google-research, we follow the fast tokenizer:

* special tokens typed in the text ("[MASK]", exact case) stay one token (google-research: "[", "mask", "]");
* U+2028/U+2029 (line/paragraph separator) count as whitespace; private-use characters (Co) and
  surrogates (Cs) are dropped like control characters (google-research: Cc and Cf only);
* accents are stripped *before* lower-casing, one character at a time, so a final "Σ" becomes "σ"
  (google-research lower-cases the whole word first, giving "ς");
* words longer than 100 characters become [UNK] (google-research: 200).
"""
from __future__ import annotations

import json
import re
import unicodedata
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Optional, Union

MAX_CHARS_PER_WORD = 100  # Hugging Face's value; google-research's tokenization.py used 200
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")

# A normalised character together with the index of the original character it came from:
# that index is how we find each token's span in the text the user gave us.
Char = tuple[str, int]


# ----------------------------------------------------------------------------------------------
# Character classes (the fast tokenizer's definitions)
# ----------------------------------------------------------------------------------------------
def _is_whitespace(ch: str) -> bool:
    """Tab, newline, carriage return and the Unicode separators (Zs spaces, Zl, Zp)."""
    return ch in " \t\n\r" or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def _is_control(ch: str) -> bool:
    """Characters the cleaner drops: control, format (e.g. zero-width space), private use, surrogates."""
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs")


def _is_punctuation(ch: str) -> bool:
    """All non-alphanumeric ASCII symbols (so "$", "^", "`" count) and every Unicode P* character."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_cjk(ch: str) -> bool:
    """CJK ideographs get a word of their own: Chinese has no spaces between words.
    (Hiragana, katakana and hangul are not in these ranges and are split like other letters.)"""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


# ----------------------------------------------------------------------------------------------
# Stage 1: the basic tokenizer, on characters that remember where they came from
# ----------------------------------------------------------------------------------------------
def _decompose(chars: list[Char]) -> list[Char]:
    """Unicode NFD ("é" -> "e" + U+0301), character by character so each piece keeps its origin."""
    out = [(d, i) for ch, i in chars for d in unicodedata.normalize("NFD", ch)]
    # NFD also puts runs of combining marks into canonical order (a stable sort by combining class).
    k = 0
    while k < len(out):
        if unicodedata.combining(out[k][0]) == 0:
            k += 1
            continue
        end = k
        while end < len(out) and unicodedata.combining(out[end][0]) != 0:
            end += 1
        out[k:end] = sorted(out[k:end], key=lambda c: unicodedata.combining(c[0]))
        k = end
    return out


def basic_words(text: str, lowercase: bool = True, strip_accents: Optional[bool] = None,
                chinese_chars: bool = True) -> list[list[Char]]:
    """Stage 1 on one stretch of text: clean, normalise, split. Returns words as lists of Chars."""
    chars: list[Char] = []
    for i, ch in enumerate(text):  # clean: drop NUL, U+FFFD and control chars; all spaces -> " "
        if ch in "\x00\ufffd" or _is_control(ch):
            continue
        chars.append((" " if _is_whitespace(ch) else ch, i))
    if chinese_chars:  # an ideograph is a word: surround it with spaces
        chars = [c for ch, i in chars for c in ([(" ", i), (ch, i), (" ", i)] if _is_cjk(ch) else [(ch, i)])]
    if lowercase if strip_accents is None else strip_accents:  # None: follow lower-casing
        chars = [(ch, i) for ch, i in _decompose(chars) if unicodedata.category(ch) != "Mn"]
    if lowercase:  # per character, as the fast tokenizer does (no final-sigma rule)
        chars = [(low, i) for ch, i in chars for low in ch.lower()]

    words: list[list[Char]] = []
    current: list[Char] = []
    for ch, i in chars:
        if ch == " " or _is_punctuation(ch):
            if current:
                words.append(current)
            current = []
            if ch != " ":  # a punctuation character is a word of its own
                words.append([(ch, i)])
        else:
            current.append((ch, i))
    if current:
        words.append(current)
    return words


# ----------------------------------------------------------------------------------------------
# Stage 2: WordPiece
# ----------------------------------------------------------------------------------------------
def wordpiece_spans(word: str, vocab: dict[str, int], unk_token: str = "[UNK]",
                    max_chars: int = MAX_CHARS_PER_WORD) -> list[tuple[str, int, int]]:
    """Greedy longest-match-first: take the longest vocabulary entry that starts the rest of the
    word, then repeat on what is left. If some position matches nothing, the whole word is [UNK].
    Returns (piece, start, end) with character positions inside `word`."""
    if len(word) > max_chars:
        return [(unk_token, 0, len(word))]
    pieces = []
    start = 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:  # nothing in the vocabulary starts here
            return [(unk_token, 0, len(word))]
        pieces.append((piece, start, end))
        start = end
    return pieces


# ----------------------------------------------------------------------------------------------
# The tokenizer
# ----------------------------------------------------------------------------------------------
@dataclass
class Encoding:
    """One encoded example. Lists are aligned: position t describes token t."""
    tokens: list[str] = field(default_factory=list)
    input_ids: list[int] = field(default_factory=list)
    token_type_ids: list[int] = field(default_factory=list)
    attention_mask: list[int] = field(default_factory=list)
    special_tokens_mask: list[int] = field(default_factory=list)
    word_ids: list[Optional[int]] = field(default_factory=list)
    sequence_ids: list[Optional[int]] = field(default_factory=list)
    offsets: list[Optional[tuple[int, int]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)


# (piece, start_char, end_char, word_index): one token with its span in the original text
Token = tuple[str, int, int, int]


def load_vocab(path: Union[str, Path]) -> dict[str, int]:
    """vocab.txt: one token per line; the line number is the id."""
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
            raise ValueError(f"the vocabulary lacks the special token(s) {missing}; BERT needs all of {SPECIAL_TOKENS}")
        self.ids_to_tokens: dict[int, str] = {i: t for t, i in self.vocab.items()}
        self.do_lower_case = do_lower_case
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.model_max_length = model_max_length
        # Special tokens typed in the text are kept whole, as the fast tokenizer does (exact case).
        self._special_re = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))

    @classmethod
    def from_pretrained(cls, path: Union[str, Path, None] = None) -> "BertTokenizer":
        """Load vocab.txt (and tokenizer_config.json if present) from a directory, or a vocab.txt file.
        No path: the packaged all-MiniLM-L6-v2 (uncased), so the course works offline."""
        if path is None:
            from .checkpoints import default_model_dir
            path = default_model_dir()
        path = Path(path)
        vocab_file = path / "vocab.txt" if path.is_dir() else path
        if not vocab_file.is_file():
            raise FileNotFoundError(f"no vocab.txt at {vocab_file}: pass a directory that contains vocab.txt "
                                    "(a BERT checkpoint folder) or the path of a vocab.txt file")
        kwargs: dict[str, Any] = {}
        config_file = vocab_file.parent / "tokenizer_config.json"
        if config_file.is_file():
            config = json.loads(config_file.read_text(encoding="utf-8"))
            for key in ("do_lower_case", "strip_accents", "tokenize_chinese_chars", "model_max_length"):
                if key in config:
                    kwargs[key] = config[key]
        return cls(vocab_file, **kwargs)

    # -- vocabulary -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def cls_token_id(self) -> int:
        return self.vocab[self.cls_token]

    @property
    def sep_token_id(self) -> int:
        return self.vocab[self.sep_token]

    @property
    def pad_token_id(self) -> int:
        return self.vocab[self.pad_token]

    @property
    def mask_token_id(self) -> int:
        return self.vocab[self.mask_token]

    @property
    def unk_token_id(self) -> int:
        return self.vocab[self.unk_token]

    @property
    def all_special_ids(self) -> set[int]:
        return {self.vocab[t] for t in SPECIAL_TOKENS}

    def convert_tokens_to_ids(self, tokens: Union[str, Iterable[str]]) -> Union[int, list[int]]:
        """Unknown tokens map to the [UNK] id."""
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: Union[int, Iterable[int]]) -> Union[str, list[str]]:
        """Ids outside the vocabulary raise ValueError: they usually mean a mismatched checkpoint."""
        if hasattr(ids, "tolist"):  # torch tensors and numpy arrays
            ids = ids.tolist()
        if isinstance(ids, int):
            return self._id_to_token(ids)
        return [self._id_to_token(i) for i in ids]

    def _id_to_token(self, i: int) -> str:
        if i not in self.ids_to_tokens:
            raise ValueError(f"token id {i} is outside the vocabulary (size {len(self)}, ids 0..{len(self) - 1}): "
                             "were these ids made with another tokenizer or model?")
        return self.ids_to_tokens[i]

    # -- the two stages ------------------------------------------------------------------------
    def _words(self, text: str) -> list[list[Char]]:
        """Stage 1 on the whole text; special tokens typed in the text become one-token words."""
        words: list[list[Char]] = []
        start = 0
        for match in [*self._special_re.finditer(text), None]:
            end = match.start() if match else len(text)
            for word in basic_words(text[start:end], self.do_lower_case, self.strip_accents,
                                    self.tokenize_chinese_chars):
                words.append([(ch, i + start) for ch, i in word])
            if match:
                words.append([(match.group(), match.start())])
                start = match.end()
        return words

    def basic_tokenize(self, text: str) -> list[str]:
        """Stage 1 only: the words WordPiece will see."""
        _check_str(text, "text")
        return ["".join(ch for ch, _ in word) for word in self._words(text)]

    def wordpiece(self, word: str) -> list[str]:
        """Stage 2 only, on one word that already went through stage 1."""
        _check_str(word, "word")
        return [piece for piece, _, _ in wordpiece_spans(word, self.vocab, self.unk_token)]

    def tokenize_with_offsets(self, text: str) -> list[Token]:
        """Both stages; each piece with (start, end) character offsets into `text` and its word index."""
        _check_str(text, "text")
        tokens: list[Token] = []
        for w, word in enumerate(self._words(text)):
            string = "".join(ch for ch, _ in word)
            if len(word) == 1 and string in SPECIAL_TOKENS:  # a special token typed in the text
                tokens.append((string, word[0][1], word[0][1] + len(string), w))
                continue
            for piece, a, b in wordpiece_spans(string, self.vocab, self.unk_token):
                tokens.append((piece, word[a][1], word[b - 1][1] + 1, w))
        return tokens

    def tokenize(self, text: str) -> list[str]:
        return [piece for piece, _, _, _ in self.tokenize_with_offsets(text)]

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, text: str, pair: Optional[str] = None, max_length: Optional[int] = None,
               truncation: Union[bool, str] = "longest_first", add_special_tokens: bool = True) -> Encoding:
        """[CLS] A [SEP] (or [CLS] A [SEP] B [SEP]), truncated to max_length (default: model_max_length)."""
        first = self._tokens_of(text, "text")
        second = None if pair is None else self._tokens_of(pair, "pair")
        limit = self.model_max_length if max_length is None else max_length
        n_special = (3 if second is not None else 2) if add_special_tokens else 0
        total = len(first) + len(second or []) + n_special
        if total > limit:
            first, second = _truncate(first, second, limit - n_special, total, limit, _strategy(truncation))
            if max_length is None:
                warnings.warn(f"input of {total} tokens truncated to model_max_length={limit}; pass max_length "
                              "(and truncation) explicitly to silence this warning", stacklevel=2)
        enc = Encoding()
        if add_special_tokens:
            self._append_special(enc, self.cls_token, 0)
        for seq_id, toks in ((0, first), (1, second)):
            if toks is None:
                continue
            for piece, start, end, word in toks:
                enc.tokens.append(piece)
                enc.input_ids.append(self.vocab[piece])
                enc.token_type_ids.append(seq_id)
                enc.attention_mask.append(1)
                enc.special_tokens_mask.append(0)
                enc.word_ids.append(word)
                enc.sequence_ids.append(seq_id)
                enc.offsets.append((start, end))
            if add_special_tokens:
                self._append_special(enc, self.sep_token, seq_id)
        return enc

    def _tokens_of(self, text: str, name: str) -> list[Token]:
        _check_str(text, name)
        tokens = self.tokenize_with_offsets(text)
        if not tokens:
            raise ValueError(f"the {name} is empty (it has no tokens after cleaning: {text[:40]!r}); "
                             f"pass a {name} with some words in it")
        return tokens

    def _append_special(self, enc: Encoding, token: str, type_id: int) -> None:
        enc.tokens.append(token)
        enc.input_ids.append(self.vocab[token])
        enc.token_type_ids.append(type_id)
        enc.attention_mask.append(0 if token == self.pad_token else 1)
        enc.special_tokens_mask.append(1)
        enc.word_ids.append(None)
        enc.sequence_ids.append(None)
        enc.offsets.append(None)

    def pad(self, enc: Encoding, length: int) -> Encoding:
        """A copy of `enc` with [PAD] appended up to `length` (attention_mask 0 there)."""
        padded = replace(enc, **{f: list(getattr(enc, f)) for f in enc.__dataclass_fields__})
        while len(padded) < length:
            self._append_special(padded, self.pad_token, 0)
        return padded

    def __call__(self, texts: Union[str, list[str]], pairs: Union[str, list[str], None] = None,
                 max_length: Optional[int] = 128, padding: Union[bool, str] = True,
                 truncation: Union[bool, str] = "longest_first",
                 return_tensors: Optional[str] = None) -> dict[str, Any]:
        """Encode a batch. Returns input_ids, token_type_ids, attention_mask, special_tokens_mask
        (lists of lists, or (B, T) torch.long tensors with return_tensors="pt") and the per-example
        Encoding objects under "encodings" (for offsets and word_ids)."""
        texts = [texts] if isinstance(texts, str) else texts
        if pairs is not None:
            pairs = [pairs] if isinstance(pairs, str) else pairs
            if len(pairs) != len(texts):
                raise ValueError(f"got {len(texts)} texts but {len(pairs)} pairs: pass one pair per text (or none)")
        if not isinstance(texts, list) or (pairs is not None and not isinstance(pairs, list)):
            raise TypeError("texts and pairs must each be a str or a list of str")
        if not texts:
            raise ValueError("the batch is empty: pass at least one text")
        encodings = [self.encode(t, None if pairs is None else pairs[i], max_length, truncation)
                     for i, t in enumerate(texts)]
        if padding is True or padding == "longest":
            encodings = [self.pad(e, max(len(x) for x in encodings)) for e in encodings]
        elif padding == "max_length":
            encodings = [self.pad(e, max_length or self.model_max_length) for e in encodings]
        elif padding is not False:
            raise ValueError(f"padding={padding!r}: use True/'longest', 'max_length' or False")
        keys = ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask")
        out: dict[str, Any] = {k: [getattr(e, k) for e in encodings] for k in keys}
        if return_tensors == "pt":
            import torch
            if len({len(e) for e in encodings}) > 1:
                raise ValueError("return_tensors='pt' needs equal lengths: the examples differ in length "
                                 "and padding=False; use padding=True")
            out = {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}
        elif return_tensors is not None:
            raise ValueError(f"return_tensors={return_tensors!r}: only 'pt' (or None for lists) is supported")
        out["encodings"] = encodings
        return out

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Ids back to text: "##" pieces are glued to the previous piece, other pieces get a space.
        Like the fast tokenizer's WordPiece decoder, a piece " ." " ," " !" or " ?" loses its space;
        nothing else is cleaned up (transformers 5 leaves clean_up_tokenization_spaces off for BERT)."""
        tokens = self.convert_ids_to_tokens(ids)
        tokens = [tokens] if isinstance(tokens, str) else tokens
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in SPECIAL_TOKENS]
        text = ""
        for i, token in enumerate(tokens):
            if i > 0:
                token = token[2:] if token.startswith("##") else " " + token
            text += token[1:] if token in (" .", " ,", " !", " ?") else token
        return text


def _check_str(text: Any, name: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"the {name} must be a str, got {type(text).__name__}: decode bytes first, "
                        "and pass lists to the batch call tok(texts) instead")


def _strategy(truncation: Union[bool, str]) -> str:
    """True means longest_first and False means do_not_truncate, as in transformers."""
    strategy = {True: "longest_first", False: "do_not_truncate"}.get(truncation, truncation)
    if strategy not in TRUNCATION_STRATEGIES:
        raise ValueError(f"truncation={truncation!r}: use one of {TRUNCATION_STRATEGIES} (or True/False)")
    return strategy


def _truncate(first: list[Token], second: Optional[list[Token]], budget: int, total: int, limit: int,
              strategy: str) -> tuple[list[Token], Optional[list[Token]]]:
    """Cut tokens from the end until the content fits `budget` (max_length minus special tokens)."""
    if strategy == "do_not_truncate":
        raise ValueError(f"the input has {total} tokens, more than max_length={limit}, and truncation is off: "
                         "shorten it, raise max_length, or pass truncation='longest_first'")
    if budget < 0:
        raise ValueError(f"max_length={limit} cannot even hold the special tokens; use a larger max_length")
    if strategy == "longest_first":
        # Remove one token at a time from the longer sequence; on a tie from the first (as the fast
        # tokenizer does; the slow Python tokenizer took it from the second).
        n1, n2 = len(first), len(second or [])
        while n1 + n2 > budget:
            if n1 >= n2:
                n1 -= 1
            else:
                n2 -= 1
        return first[:n1], None if second is None else second[:n2]
    if strategy == "only_second" and second is None:
        raise ValueError("truncation='only_second' needs a pair; use 'longest_first' for a single text")
    target = second if strategy == "only_second" else first
    keep = len(target) - (total - limit)
    if keep < 1:  # the fast tokenizer refuses to empty a sequence, and so do we
        name = "pair" if strategy == "only_second" else "text"
        raise ValueError(f"truncation={strategy!r} cannot fit the input into max_length={limit}: the {name} would "
                         "have to lose all its tokens; use 'longest_first' or a larger max_length")
    if strategy == "only_second":
        return first, target[:keep]
    return target[:keep], second
