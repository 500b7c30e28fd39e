"""BERT's WordPiece tokenizer in plain Python, written to be read.

Text becomes token ids in two stages:

1. the **basic tokenizer** cleans the text (drops control characters, turns every kind of space
   into " "), strips accents and lower-cases it (uncased models), then splits it into words: at
   spaces, and around every punctuation character and every CJK ideograph;
2. **WordPiece** cuts each word into the longest pieces found in the vocabulary, left to right
   ("unaffable" -> "una", "##ffa", "##ble"); a piece that continues a word starts with "##".

The reference is google-research/bert's ``tokenization.py`` as Hugging Face's *fast* tokenizer
implements it (``BertTokenizerFast``); we match it token for token and offset for offset. Where the
two differ, we follow the fast tokenizer:

* special tokens typed in the text ("[MASK]", exact case) stay whole (google-research: "[", "mask", "]");
* U+2028/U+2029 (line/paragraph separators) are spaces; private-use characters and surrogates are
  dropped like control characters (google-research drops categories Cc and Cf only);
* accents are stripped *before* lower-casing, which goes one character at a time, so a word-final
  "Σ" becomes "σ" (google-research lower-cases whole words: "ς");
* words longer than 100 characters become [UNK] (google-research: 200);
* "longest_first" truncation gives an odd leftover token to the longer sequence (see `_truncate`);
* the fast tokenizer's Unicode tables are older than Python's (see the appendix at the end), and its
  CJK range 0x2B820-0x2CEAF starts at 0x2B920 (a typo we reproduce).
"""
from __future__ import annotations

import json
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional, Union

MAX_CHARS_PER_WORD = 100  # Hugging Face's value; google-research's tokenization.py used 200
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRUNCATIONS = ("longest_first", "only_first", "only_second", "do_not_truncate")

# A character of the normalised text with the index of the original character it came from:
# that index is how a token finds its span in the text the user gave us (e.g. a QA answer).
Char = tuple[str, int]
# One token: (piece, start_char, end_char, word_index), offsets into the original text.
Token = tuple[str, int, int, int]


# ----------------------------------------------------------------------------------------------
# Character classes (cached: a text reuses few distinct characters)
# ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=65536)
def _is_whitespace(ch: str) -> bool:
    """Space, tab, newline, carriage return and the Unicode separators (Zs, Zl, Zp)."""
    return ch in " \t\n\r" or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


@lru_cache(maxsize=65536)
def _is_control(ch: str) -> bool:
    """Dropped by the cleaner: control, format (e.g. zero-width space), private-use, surrogate."""
    return ch not in "\t\n\r" and _category(ch) in ("Cc", "Cf", "Co", "Cs")


@lru_cache(maxsize=65536)
def _is_punctuation(ch: str) -> bool:
    """Every non-alphanumeric ASCII symbol ("$", "^", "`" too) and every Unicode P* character."""
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or _category(ch)[0] == "P"


_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


@lru_cache(maxsize=65536)
def _is_cjk(ch: str) -> bool:
    """CJK ideographs become words of their own: Chinese puts no spaces between words.
    (Kana and hangul are not in these ranges; they are split like any other letters.)"""
    cp = ord(ch)
    return cp >= 0x3400 and any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


# ----------------------------------------------------------------------------------------------
# Stage 1: the basic tokenizer
# ----------------------------------------------------------------------------------------------
def normalize(text: str, lowercase: bool = True, strip_accents: Optional[bool] = None,
              chinese_chars: bool = True) -> list[Char]:
    """Clean and normalise `text`, remembering where each character came from."""
    chars = [(" " if _is_whitespace(ch) else ch, i) for i, ch in enumerate(text)
             if ch not in "\x00\ufffd" and not _is_control(ch)]
    if chinese_chars:  # " 中 ": the spaces will split the ideograph off as a word
        chars = [c for ch, i in chars for c in ([(" ", i), (ch, i), (" ", i)] if _is_cjk(ch) else [(ch, i)])]
    if lowercase if strip_accents is None else strip_accents:  # None: strip accents when lower-casing
        chars = [(ch, i) for ch, i in _decompose(chars) if _category(ch) != "Mn"]  # Mn: the accents
    if lowercase:
        chars = [(low, i) for ch, i in chars for low in ch.lower()]  # "İ" -> "i" + U+0307: two chars
    return chars


def _decompose(chars: list[Char]) -> list[Char]:
    """Unicode NFD: "é" -> "e" + U+0301 (combining acute accent), which we can then drop."""
    # Decompose each character, flagging the characters a decomposition adds after the first.
    out = [(d, k > 0) for ch, _ in chars for k, d in enumerate(_nfd(ch))]
    # NFD also sorts each run of combining marks by combining class (a stable sort).
    start = 0
    while start < len(out):
        end = start
        while end < len(out) and _combining(out[end][0]):
            end += 1
        if end - start > 1:
            out[start:end] = sorted(out[start:end], key=_combining_class_of_pair)
        start = end + 1
    # Origins, the fast tokenizer's way: the n-th character not added by a decomposition gets the
    # n-th input character's origin, an added one the origin of the input character before it.
    # This differs from the true origin only where the sort moved a mark.
    result: list[Char] = []
    consumed = 0
    for d, added in out:
        consumed += not added
        result.append((d, chars[consumed - 1][1]))
    return result


def _combining_class_of_pair(pair: tuple[str, bool]) -> int:
    return _combining(pair[0])


def split_words(chars: list[Char]) -> list[list[Char]]:
    """Split at spaces (dropped) and around punctuation (kept, each character a word of its own)."""
    words: list[list[Char]] = [[]]
    for ch, i in chars:
        if ch == " ":
            words.append([])  # start a new word
        elif _is_punctuation(ch):
            words += [[(ch, i)], []]  # a word of its own, then a new word
        else:
            words[-1].append((ch, i))
    return [word for word in words if word]


# ----------------------------------------------------------------------------------------------
# Stage 2: WordPiece
# ----------------------------------------------------------------------------------------------
def wordpiece_spans(word: str, vocab: dict[str, int], unk_token: str = "[UNK]",
                    max_chars: int = MAX_CHARS_PER_WORD) -> list[tuple[str, int, int]]:
    """Greedy longest-match-first: take the longest vocabulary entry that starts the rest of the word,
    then go on from where it ends. If nothing matches at some position, the whole word is [UNK].
    Returns (piece, start, end) with character positions inside `word`."""
    if len(word) > max_chars:
        return [(unk_token, 0, len(word))]
    pieces = []
    start = 0
    while start < len(word):
        for end in range(len(word), start, -1):  # longest candidate first
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:  # no candidate was in the vocabulary
            return [(unk_token, 0, len(word))]
        pieces.append((piece, start, end))
        start = end
    return pieces


# ----------------------------------------------------------------------------------------------
# The tokenizer
# ----------------------------------------------------------------------------------------------
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
        if path is None:
            from .checkpoints import default_model_dir
            path = default_model_dir()
        path = Path(path)
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


# ----------------------------------------------------------------------------------------------
# Appendix: the fast tokenizer's Unicode tables. It classifies characters with Unicode 8.0 data
# and decomposes them with Unicode 9.0 data; Python 3.11 (the course's Python) has Unicode 14.0.
# These tables, found by running every code point through BertTokenizerFast, undo the difference
# (a newer Python knows characters added after 14.0, which these tables do not cover).
# ----------------------------------------------------------------------------------------------
def _code_points(ranges: str) -> frozenset[int]:
    """"0041-005A 00C0" -> the set of those code points."""
    points = (item.partition("-") for item in ranges.split())
    return frozenset(cp for lo, _, hi in points for cp in range(int(lo, 16), int(hi or lo, 16) + 1))


# Inside these ranges every character is a plain letter to the fast tokenizer (not a mark, punctuation
# or control): they hold the marks, punctuation and format characters Unicode added after 8.0.
_PLAIN_LETTERS = _code_points("""
    061D 07FD 0890-08E2 09FD-09FE 0A76 0AFA-0AFF 0B55 0C04-0C3C 0C77 0C84 0D00 0D3B-0D3C 0D81 0EBA
    180F-1886 1ABF-1ACE 1B7D-1B7E 1DF6-1DFB 2E43-2E5D A82C A8C5 A8FF A9BD 10D24-10F89 11070-11074
    110C2-110CD 111CF 1123E 1133B 11438-1145E 11660-1166C 116B9 1182F-11FFF 12FF1-13438 16E97-16F4F
    16FE2-16FE4 1CF00-1CF46 1E000-1E2EF 1E944-1E95F""")
_UNICODE_8_CATEGORIES = {0x166D: "Po", 0x1734: "Mn", 0x111C9: "Po"}  # changed after Unicode 8.0
# Combining marks added after Unicode 9.0: combining class 0 (never reordered) for the fast tokenizer.
_NO_COMBINING_CLASS = _code_points("""
    07FD 0898-08D3 09FE 0C3C 0D3B-0D3C 0EBA 1715 1ABF-1ACE 1DF6-1DFA A82C 10D24-10F85 11070 1133B
    1145E 11839-11A99 11D42-11D97 16FF0-16FF1 1E130-1E2EF""")
_NO_DECOMPOSITION = frozenset({0x11938})  # DIVES AKURU VOWEL SIGN O, Unicode 13.0
# Not reproduced: the fast tokenizer lower-cases with Rust's newer tables, so 55 letters added in
# Unicode 16 (e.g. U+1C89) get lower-cased there and not here; no BERT vocabulary contains them.


@lru_cache(maxsize=65536)
def _category(ch: str) -> str:
    """The general category ("Lu", "Mn", "Po", ...) as the fast tokenizer sees it."""
    cp = ord(ch)
    return "Lo" if cp in _PLAIN_LETTERS else _UNICODE_8_CATEGORIES.get(cp) or unicodedata.category(ch)


@lru_cache(maxsize=65536)
def _combining(ch: str) -> int:
    return 0 if ord(ch) in _NO_COMBINING_CLASS else unicodedata.combining(ch)


@lru_cache(maxsize=65536)
def _nfd(ch: str) -> str:
    return ch if ord(ch) in _NO_DECOMPOSITION else unicodedata.normalize("NFD", ch)
