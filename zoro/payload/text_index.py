"""The full-text payload index: token -> the slots whose strings hold it (an inverted index).

Strings at the key are tokenized by the index's Tokenizer (zoro.payload.tokenize); each token
keeps a posting list of slots, ascending (slots only grow, as in every payload index). With
`phrase_matching`, each token also keeps its positions, as `slot << 32 | position`, so a phrase
is found by shifting each token's positions back by its place in the phrase and intersecting.
Positions skip one after each string of a slot, so a phrase never spans two strings.

A condition matches when ONE string value satisfies it (zoro.payload.conditions; Qdrant's
index joins a point's strings). The postings join them too, so for slots holding several
strings a `text` match is only a candidate: those are listed by `doubtful` and checked on their
payloads (zoro.payload.select does it inline when they are few, else leaves the condition to
its residual scan). A phrase on an index without positions is answered by the slots holding all
its tokens, each then checked on its payload (`narrows_only`); Qdrant answers no point at all
there, Zoro-DB answers the phrase, more slowly.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from zoro.payload.conditions import TextMatch, text_match
from zoro.payload.field_index import I64, FieldIndex, Mask, _as_array, _kept, _kept_at
from zoro.payload.tokenize import TextParams, tokenizer_for

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.payload.conditions import Condition, KeyPath

POSITION_BITS: Final = 32  # a phrase entry is slot << POSITION_BITS | token position
POSITION_MASK: Final = (1 << POSITION_BITS) - 1
_EMPTY: Final = np.empty(0, dtype=np.int64)


class TextIndex(FieldIndex):
    schema = "text"

    def __init__(self, key: KeyPath, params: TextParams | None = None) -> None:
        super().__init__(key)
        self.params = params or TextParams()
        self.tokenizer = tokenizer_for(self.params)
        self._postings: dict[str, array[int]] = {}
        self._positions: dict[str, array[int]] | None = {} if self.params.phrase_matching else None
        self._multi = array("q")  # slots holding several strings, ascending

    def answers(self, condition: Condition) -> bool:
        return isinstance(condition, TextMatch)

    def _take(self, value: Any) -> Any:
        return value if type(value) is str else None

    def _could_match(self, value: Any) -> bool:
        return False  # only strings ever satisfy a full-text match

    def _store(self, slot: int, values: list[Any]) -> None:
        postings, positions = self._postings, self._positions
        seen: set[str] = set()
        at = 0
        for value in values:
            tokens = self.tokenizer.document(value)
            seen.update(tokens)
            if positions is not None:
                base = slot << POSITION_BITS
                for i, token in enumerate(tokens, start=at):
                    held = positions.get(token)
                    if held is None:
                        held = positions[token] = array("q")
                    held.append(base | i)
                at += len(tokens) + 1  # the gap: no phrase runs from one string into the next
        for token in seen:
            posting = postings.get(token)
            if posting is None:
                posting = postings[token] = array("q")
            posting.append(slot)
        if len(values) > 1:
            self._multi.append(slot)
        self.entries += len(seen) - len(values)  # add() counts values; this index holds tokens

    def _bound(self, condition: Condition) -> TextMatch:
        """The condition with this index's tokenizer (zoro.payload.select binds it already)."""
        assert isinstance(condition, TextMatch)
        if condition.tokenizer is self.tokenizer:
            return condition
        return text_match(condition.key, condition.mode, condition.text, self.tokenizer)

    def _posting(self, token: str) -> I64:
        held = self._postings.get(token)
        return np.frombuffer(held, dtype=np.int64) if held else _EMPTY

    def _slots_for(self, c: TextMatch) -> I64:
        if not c.tokens:
            return _EMPTY
        if c.mode == "text_any":
            parts = [self._posting(t) for t in set(c.tokens)]
            return np.unique(np.concatenate(parts)) if parts else _EMPTY
        if c.mode == "phrase" and self._positions is not None:
            return self._phrase_slots(c.tokens)
        lists = sorted((self._posting(t) for t in set(c.tokens)), key=len)
        out = lists[0]
        for other in lists[1:]:
            if not len(out):
                break
            out = np.intersect1d(out, other, assume_unique=True)
        return out

    def _phrase_slots(self, tokens: tuple[str, ...]) -> I64:
        assert self._positions is not None
        starts: I64 | None = None
        for i, token in enumerate(tokens):
            held = self._positions.get(token)
            if not held:
                return _EMPTY
            shifted = np.frombuffer(held, dtype=np.int64) - i  # where the phrase would start
            starts = shifted if starts is None else np.intersect1d(starts, shifted)
            if not len(starts):
                return _EMPTY
        assert starts is not None
        return np.unique(starts >> POSITION_BITS)

    def mask(self, condition: Condition, n: int) -> Mask:
        slots = self._slots_for(self._bound(condition))
        out = np.zeros(n, dtype=np.bool_)
        out[slots[slots < n]] = True
        return out

    def narrows_only(self, condition: Condition) -> bool:
        """Without positions a phrase's mask holds every slot with all its tokens."""
        return (
            isinstance(condition, TextMatch)
            and condition.mode == "phrase"
            and (self._positions is None)
        )

    def doubtful(self, condition: Condition, found: Mask) -> I64:
        c = self._bound(condition)
        if c.mode == "text" and len(self._multi):
            multi = _as_array(self._multi)
            multi = multi[multi < len(found)]
            return multi[found[multi]]
        return _EMPTY

    def estimate(self, condition: Condition) -> int:
        if not isinstance(condition, TextMatch):
            return self.entries
        c = self._bound(condition)
        sizes = [len(self._postings.get(t, ())) for t in set(c.tokens)]
        if not sizes:
            return 0
        return sum(sizes) if c.mode == "text_any" else min(sizes)

    def value_count(self) -> int:
        return len(self._postings)

    def memory_bytes(self) -> int:
        def size(table: dict[str, array[int]]) -> int:
            return sum(len(p) * 8 + len(t) + 120 for t, p in table.items())

        positions = 0 if self._positions is None else size(self._positions)
        return size(self._postings) + positions + 8 * (len(self._holders) + len(self._multi))

    # --- persistence ------------------------------------------------------------------------

    def arrays(self, keep: Mask) -> dict[str, npt.NDArray[Any]]:
        out = super().arrays(keep)
        out.update(_table(self._postings, lambda held: _kept(held, keep)))
        out["multi"] = _kept(_as_array(self._multi), keep)
        if self._positions is not None:
            positions = _table(
                self._positions, lambda held: held[_kept_at(held >> POSITION_BITS, keep)]
            )
            # a token with positions in a live slot has a posting there too: name it by number
            number = {token: i for i, token in enumerate(out["values"].tolist())}
            out["position_tokens"] = np.array(
                [number[t] for t in positions["values"].tolist()], dtype=np.int64
            )
            out["position_counts"] = positions["counts"]
            out["positions"] = positions["slots"]
        return out

    def load_arrays(self, data: dict[str, npt.NDArray[Any]]) -> None:
        super().load_arrays(data)
        tokens = data["values"]
        self._postings = _untable(tokens, data["counts"], data["slots"])
        self._multi = array("q", data["multi"].astype(np.int64).tobytes())
        if self._positions is not None:
            named = tokens[data["position_tokens"].astype(np.int64)] if len(tokens) else tokens
            self._positions = _untable(named, data["position_counts"], data["positions"])
        self.entries = len(data["slots"])


def _table(table: dict[str, array[int]], kept: Any) -> dict[str, npt.NDArray[Any]]:
    """token -> array, as three arrays: tokens, how many entries each, the entries end to end
    (`kept` picks the live ones; tokens left with none are dropped)."""
    tokens, counts, parts = [], [], []
    for token, held in table.items():
        live = kept(np.frombuffer(held, dtype=np.int64))
        if len(live):
            tokens.append(token)
            counts.append(len(live))
            parts.append(live)
    return {
        "values": np.array(tokens, dtype=object),
        "counts": np.array(counts, dtype=np.int64),
        "slots": np.concatenate(parts) if parts else _EMPTY.copy(),
    }


def _untable(
    tokens: npt.NDArray[Any], counts: npt.NDArray[Any], entries: npt.NDArray[Any]
) -> dict[str, array[int]]:
    entries = entries.astype(np.int64)
    out: dict[str, array[int]] = {}
    start = 0
    for token, end in zip(tokens.tolist(), np.cumsum(counts).tolist(), strict=True):
        out[str(token)] = array("q", entries[start:end].tobytes())
        start = end
    return out
