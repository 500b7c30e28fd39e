"""The two stages of BERT's tokenization, as pure functions on strings: written to be read.

1. the **basic tokenizer** cleans the text (drops control characters, turns every kind of space
   into " "), strips accents and lower-cases it (uncased models), then splits it into words: at
   spaces, and around every punctuation character and every CJK ideograph;
2. **WordPiece** cuts each word into the longest pieces found in the vocabulary, left to right
   ("unaffable" -> "una", "##ffa", "##ble"); a piece that continues a word starts with "##".

Every character keeps the index of the original character it came from, so that a token can find its
span in the user's text. `tokenizer.BertTokenizer` puts the stages together (special tokens, pairs,
truncation, padding). The reference is google-research/bert's ``tokenization.py`` as Hugging Face's
*fast* tokenizer implements it (``BertTokenizerFast``); where the two differ here, we follow the fast one:

* U+2028/U+2029 (line/paragraph separators) are spaces; private-use characters and surrogates are
  dropped like control characters (google-research drops categories Cc and Cf only);
* accents are stripped *before* lower-casing, which goes one character at a time, so a word-final
  "Σ" becomes "σ" (google-research lower-cases whole words: "ς");
* words longer than 100 characters become [UNK] (google-research: 200);
* the fast tokenizer's Unicode tables are older than Python's (see the appendix at the end), and its
  CJK range 0x2B820-0x2CEAF starts at 0x2B920 (a typo we reproduce).
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import NamedTuple, Optional

MAX_CHARS_PER_WORD = 100  # Hugging Face's value; google-research's tokenization.py used 200

# A character of the normalised text with the index of the original character it came from:
# that index is how a token finds its span in the text the user gave us (e.g. a QA answer).
Char = tuple[str, int]


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
class Candidate(NamedTuple):
    """One lookup WordPiece made: the piece word[start:end] ("##" + it after the first piece)."""
    piece: str
    start: int
    end: int
    found: bool


def wordpiece_spans(word: str, vocab: dict[str, int], unk_token: str = "[UNK]",
                    max_chars: int = MAX_CHARS_PER_WORD,
                    trace: Optional[list[Candidate]] = None) -> list[tuple[str, int, int]]:
    """Greedy longest-match-first: take the longest vocabulary entry that starts the rest of the word,
    then go on from where it ends. If nothing matches at some position, the whole word is [UNK].
    Returns (piece, start, end) with character positions inside `word`. Pass a list as `trace` to have
    every candidate tried appended to it, in order (the course's WordPiece step-through shows them)."""
    if len(word) > max_chars:
        return [(unk_token, 0, len(word))]
    pieces = []
    start = 0
    while start < len(word):
        for end in range(len(word), start, -1):  # longest candidate first
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if trace is not None:
                trace.append(Candidate(piece, start, end, piece in vocab))
            if piece in vocab:
                break
        else:  # no candidate was in the vocabulary
            return [(unk_token, 0, len(word))]
        pieces.append((piece, start, end))
        start = end
    return pieces



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
