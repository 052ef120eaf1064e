"""Full-text tokenization: Qdrant's text index parameters, and strings -> tokens.

One `Tokenizer` serves both the text index (zoro.payload.text_index) and the scan path
(`TextMatch.holds` in zoro.payload.conditions), so the two always agree. A key without a text
index is tokenized by `DEFAULT`: Qdrant's word tokenizer, lowercased (what its server and its
local mode do for `match: {"text": ...}` on an unindexed field).

Each raw token goes through the steps in Qdrant's order: ASCII folding, lowercasing, the
stopword filter, the stemmer, then the length bounds (`min_token_len`, `max_token_len`).

Tokenizers, and where they differ from Qdrant's:

* `word`: runs of Unicode letters and digits (Python's `[^\\W_]`, as qdrant-client's local mode
  has it). Rust's `is_alphanumeric` also counts combining vowel signs (Devanagari, Thai...) as
  letters, so words in those scripts split where Qdrant's do not.
* `whitespace`: `str.split()`.
* `prefix`: words as `word`, each indexed with every prefix from `min_token_len` (default 1) to
  `max_token_len` characters; a query word is cut to `max_token_len` and matches any word it
  begins (stopwords are not removed from queries, as in Qdrant).
* `multilingual`: Qdrant uses charabia (dictionary segmentation for Chinese, Japanese, Thai...);
  here, with the standard library only: letters and digits with their combining marks, every
  Han, Hiragana and Katakana character a token of its own (a phrase match still finds a word),
  lowercased and stripped of nonspacing marks (charabia's lossy normalizer does both), tokens
  without a letter dropped (as charabia's are). Thai and other unspaced scripts stay whole runs.
* `ascii_folding`: letters that decompose to an ASCII letter plus marks lose the marks, and a
  short table folds the Latin letters that do not decompose (ß, æ, ø, œ, ł, đ, þ...); Qdrant
  folds with Lucene's larger table (which also folds symbols and other scripts' Latin lookalikes).
* stopwords: the `stopwords` package's lists, where Qdrant ships NLTK's (the English lists differ
  by a few words); languages that package lacks are refused by name.
* stemmer: the Snowball algorithms of the `snowballstemmer` package (Qdrant: rust-stemmers,
  the same algorithms; Dutch there is the older Porter-style Dutch stemmer).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
import snowballstemmer
import stopwords as stopword_lists

TOKENIZERS: Final = ("word", "whitespace", "prefix", "multilingual")
# Qdrant's `Language` (stopword sets) -> the name of the list in the `stopwords` package.
STOPWORD_LANGUAGES: Final[dict[str, str | None]] = {
    "arabic": "arabic",
    "azerbaijani": None,
    "basque": "basque",
    "bengali": None,
    "catalan": "catalan",
    "chinese": "chinese",
    "danish": "danish",
    "dutch": "dutch",
    "english": "english",
    "finnish": "finnish",
    "french": "french",
    "german": "german",
    "greek": "greek",
    "hebrew": None,
    "hinglish": None,
    "hungarian": "hungarian",
    "indonesian": "indonesian",
    "italian": "italian",
    "japanese": "japanese",
    "kazakh": None,
    "nepali": None,
    "norwegian": "norwegian",
    "portuguese": "portuguese",
    "romanian": "romanian",
    "russian": "russian",
    "slovene": "slovenian",
    "spanish": "spanish",
    "swedish": "swedish",
    "tajik": None,
    "turkish": "turkish",
}
# Qdrant's `SnowballLanguage`: every one is a snowballstemmer algorithm of the same name.
SNOWBALL_LANGUAGES: Final = (
    "arabic",
    "armenian",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
)
# Accepted, shown back in the collection info, and without effect here: Zoro-DB's payload
# indexes live in memory and are written at checkpoints, whatever these say.
_PLACEMENT: Final = ("on_disk", "memory", "enable_hnsw")
_UNSUPPORTED: Final = {
    "scoring": "BM25 scoring over a text index",
    "nested": "text indexes over the objects of an array",
}
_FIELDS: Final = frozenset(
    {
        "type",
        "tokenizer",
        "lowercase",
        "ascii_folding",
        "min_token_len",
        "max_token_len",
        "phrase_matching",
        "stopwords",
        "stemmer",
        *_PLACEMENT,
        *_UNSUPPORTED,
    }
)
_WORD: Final = re.compile(r"[^\W_]+")
# Latin letters that do not decompose into an ASCII letter plus marks.
_FOLD_TABLE: Final = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",
        "ħ": "h",
        "Ħ": "H",
        "ŀ": "l",
        "Ŀ": "L",
        "ŧ": "t",
        "Ŧ": "T",
        "ƒ": "f",
    }
)
_STEM_CACHE_MAX: Final = 100_000


@dataclass(frozen=True, slots=True)
class TextParams:
    """A text index's settings, checked. `shown` is the params object as the collection info
    shows it (Qdrant echoes what was given, with the tokenizer always named), as JSON."""

    tokenizer: str = "word"
    lowercase: bool = True
    ascii_folding: bool = False
    min_token_len: int | None = None
    max_token_len: int | None = None
    phrase_matching: bool = False
    stopwords: frozenset[str] = frozenset()
    stemmer: str | None = None  # a Snowball language
    shown: str = '{"tokenizer":"word","type":"text"}'  # keys sorted, as parse_params writes

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = orjson.loads(self.shown)
        return shown


def parse_params(spec: object) -> TextParams:
    """`"text"` or Qdrant's TextIndexParams object -> TextParams. Raises ValueError naming the
    part at fault (as `field_schema.<name>`)."""
    if isinstance(spec, str):
        if spec.lower() != "text":
            raise ValueError(f"field_schema: {spec!r} is not a text schema")
        return TextParams()
    if not isinstance(spec, Mapping):
        raise ValueError('field_schema: "text" or an object with "type": "text"')
    given = {k: v for k, v in spec.items() if v is not None}
    unknown = sorted(set(given) - _FIELDS)
    if unknown:
        raise ValueError(f"field_schema: unknown field(s) {', '.join(map(str, unknown))}")
    for name, what in _UNSUPPORTED.items():
        if name in given:
            raise ValueError(f"field_schema.{name}: {what} is not supported by Zoro-DB")
    tokenizer = given.get("tokenizer", "word")
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"field_schema.tokenizer: {tokenizer!r}; one of {', '.join(TOKENIZERS)}")
    flags = {name: _flag(given, name) for name in ("lowercase", "ascii_folding", "phrase_matching")}
    low, high = _length(given, "min_token_len"), _length(given, "max_token_len")
    if low is not None and high is not None and low > high:
        raise ValueError("field_schema: min_token_len is above max_token_len")
    for name in ("on_disk", "enable_hnsw"):
        _flag(given, name)
    if "memory" in given and given["memory"] not in ("cold", "cached", "pinned"):
        raise ValueError('field_schema.memory: one of "cold", "cached", "pinned"')
    lowercase = flags["lowercase"] is not False
    shown = {"type": "text", **given, "tokenizer": tokenizer}
    return TextParams(
        tokenizer=tokenizer,
        lowercase=lowercase,
        ascii_folding=bool(flags["ascii_folding"]),
        min_token_len=low,
        max_token_len=high,
        phrase_matching=bool(flags["phrase_matching"]),
        stopwords=_stopwords(given.get("stopwords"), lowercase),
        stemmer=_stemmer(given.get("stemmer")),
        shown=orjson.dumps(shown, option=orjson.OPT_SORT_KEYS).decode(),
    )


def _flag(given: Mapping[str, Any], name: str) -> bool | None:
    value = given.get(name)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"field_schema.{name}: must be true or false")
    return value


def _length(given: Mapping[str, Any], name: str) -> int | None:
    value = given.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ValueError(f"field_schema.{name}: must be a whole number of characters, 0 or more")
    return value


def _stopwords(value: object, lowercase: bool) -> frozenset[str]:
    """Qdrant's `"english"` or `{"languages": [...], "custom": [...]}` -> the set of words."""
    where = "field_schema.stopwords"
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(_language_words(value, where))
    if not isinstance(value, Mapping):
        raise ValueError(f'{where}: a language or {{"languages": [...], "custom": [...]}}')
    unknown = sorted(set(value) - {"languages", "custom"})
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    words: set[str] = set()
    for i, language in enumerate(_strings(value.get("languages"), f"{where}.languages")):
        words |= _language_words(language, f"{where}.languages[{i}]")
    for word in _strings(value.get("custom"), f"{where}.custom"):
        words.add(word.lower() if lowercase else word)
    return frozenset(words)


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: a list of strings")
    return value


def _language_words(language: str, where: str) -> set[str]:
    if language not in STOPWORD_LANGUAGES:
        raise ValueError(f"{where}: {language!r}; one of {', '.join(STOPWORD_LANGUAGES)}")
    listed = STOPWORD_LANGUAGES[language]
    if listed is None:
        raise ValueError(
            f'{where}: Zoro-DB has no {language} stopword list; give the words in "custom" instead'
        )
    return set(stopword_lists.get_stopwords(listed))


def _stemmer(value: object) -> str | None:
    where = "field_schema.stemmer"
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f'{where}: {{"type": "snowball", "language": ...}} or {{"type": "none"}}')
    kind = value.get("type")
    if kind == "none" and set(value) == {"type"}:
        return None
    if kind != "snowball" or set(value) != {"type", "language"}:
        raise ValueError(f'{where}: {{"type": "snowball", "language": ...}} or {{"type": "none"}}')
    language = value["language"]
    if language not in SNOWBALL_LANGUAGES:
        raise ValueError(f"{where}.language: {language!r}; one of {', '.join(SNOWBALL_LANGUAGES)}")
    return str(language)


class Tokenizer:
    """Strings -> tokens under one TextParams. Safe to share between threads."""

    def __init__(self, params: TextParams) -> None:
        self.params = params
        # words as they are (lowercased or not): no step that looks at each token
        self._plain = (
            params.tokenizer in ("word", "whitespace")
            and not (params.ascii_folding or params.stopwords or params.stemmer)
            and params.min_token_len is None
            and params.max_token_len is None
        )
        self._stems: dict[str, str] = {}
        self._local = threading.local()  # a Snowball stemmer keeps state: one per thread

    def document(self, text: str) -> list[str]:
        """The tokens a stored string is indexed under, in order (prefixes expanded)."""
        if self._plain:
            if not self.params.lowercase:
                return self._words(text)
            if text.isascii():  # lowercasing ASCII first splits the same, and is 3x faster
                return self._words(text.lower())
            return [word.lower() for word in self._words(text)]
        if self.params.tokenizer == "prefix":
            return [p for word in self._words(text) for p in self._prefixes(word)]
        return [t for t in map(self._process, self._words(text)) if t is not None]

    def query(self, text: str) -> list[str]:
        """The tokens a `text` / `text_any` query asks for."""
        if self.params.tokenizer == "prefix":
            return [t for t in map(self._prefix_query, self._words(text)) if t is not None]
        return self.document(text)

    def _words(self, text: str) -> list[str]:
        kind = self.params.tokenizer
        if kind == "whitespace":
            return text.split()
        if kind == "multilingual":
            return _multilingual_words(text)
        return _WORD.findall(text)

    def _normal(self, token: str) -> str:
        if self.params.ascii_folding:
            token = fold_to_ascii(token)
        return token.lower() if self.params.lowercase else token

    def _process(self, token: str, *, check_max: bool = True) -> str | None:
        p = self.params
        token = self._normal(token)
        if not token or token in p.stopwords:
            return None
        token = self._stem(token)
        n = len(token)
        if (p.min_token_len is not None and n < p.min_token_len) or (
            check_max and p.max_token_len is not None and n > p.max_token_len
        ):
            return None
        return token

    def _prefixes(self, word: str) -> list[str]:
        """A word's prefixes from min_token_len characters up, and the word itself when it is
        no longer than max_token_len (Qdrant's prefix tokenizer)."""
        token = self._process(word, check_max=False)
        if token is None:
            return []
        low = max(self.params.min_token_len or 1, 1)
        high = self.params.max_token_len
        top = len(token) - 1 if high is None else min(high, len(token) - 1)
        out = [token[:n] for n in range(low, top + 1)]
        if high is None or len(token) <= high:
            out.append(token)
        return out

    def _prefix_query(self, word: str) -> str | None:
        token = self._stem(self._normal(word))
        p = self.params
        if not token or (p.min_token_len is not None and len(token) < p.min_token_len):
            return None
        return token if p.max_token_len is None else token[: p.max_token_len]

    def _stem(self, token: str) -> str:
        language = self.params.stemmer
        if language is None:
            return token
        stem = self._stems.get(token)
        if stem is None:
            stemmer = getattr(self._local, "stemmer", None)
            if stemmer is None:
                stemmer = self._local.stemmer = snowballstemmer.stemmer(language)
            stem = str(stemmer.stemWord(token))
            if len(self._stems) >= _STEM_CACHE_MAX:
                self._stems.clear()
            self._stems[token] = stem
        return stem


def fold_to_ascii(text: str) -> str:
    """Accented Latin letters -> ASCII (ação -> acao); other characters stay as they are."""
    if text.isascii():
        return text
    out = []
    for char in text.translate(_FOLD_TABLE):
        if char.isascii():
            out.append(char)
            continue
        parts = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in parts if not unicodedata.combining(c))
        out.append(base if base.isascii() and base else char)
    return "".join(out)


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= code <= 0x4DBF  # CJK Extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0xF900 <= code <= 0xFAFF  # CJK Compatibility Ideographs
        or 0x20000 <= code <= 0x3FFFF  # CJK Extensions B and later
    )


def _multilingual_words(text: str) -> list[str]:
    """Letters and digits with their marks; each CJK character alone; normalized and
    stripped of nonspacing marks; tokens without a letter dropped."""
    words: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            words.append("".join(current))
            current.clear()

    for char in unicodedata.normalize("NFKC", text):
        if _is_cjk(char):
            flush()
            words.append(char)
            continue
        category = unicodedata.category(char)
        if category[0] in "LN" or (category[0] == "M" and current):
            current.append(char)
        else:
            flush()
    flush()
    out = []
    for word in words:
        plain = unicodedata.normalize(
            "NFC",
            "".join(
                c for c in unicodedata.normalize("NFKD", word) if unicodedata.category(c) != "Mn"
            ),
        ).lower()
        if plain and any(c.isalpha() for c in plain):
            out.append(plain)
    return out


@functools.lru_cache(maxsize=256)
def tokenizer_for(params: TextParams) -> Tokenizer:
    """One shared Tokenizer per settings (its stem cache is shared too)."""
    return Tokenizer(params)


DEFAULT: Final = tokenizer_for(TextParams())
