"""Deterministic, offline stand-ins for embedding models, and how to compare two backends' answers.

The dense embedding hashes each (stemmed) word into one of `DIM` signed buckets and normalises
the sum (feature hashing), so texts that share words get similar vectors and search results mean
something. The sparse one maps each word to a stable index with its count as the value. Both use
`zlib.crc32`, not `hash()`, which is salted per process.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

DIM = 64
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    ["the", "and", "for", "with", "when", "you", "has", "all", "across", "toward", "near", "into"]
)
# Two answers agree when their scores differ by less than this (float32 storage on either side).
SCORE_TOL = 1e-4


def words(text: str) -> list[str]:
    """Lower-cased words of three letters or more, less a few stop words, crudely stemmed."""
    found = (w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP)
    return [re.sub(r"(ing|ed|s)$", "", w) or w for w in found]


def dense(text: str) -> list[float]:
    """A unit vector of `DIM` floats; texts sharing words point the same way."""
    vec = [0.0] * DIM
    for word in words(text):
        h = zlib.crc32(word.encode())
        weight = 0.5 + (h >> 8) % 100 / 100  # uneven weights: fewer exact ties between texts
        vec[h % DIM] += weight if (h >> 16) & 1 else -weight
    # A constant component shared by all texts: no two texts are exactly orthogonal, so unrelated
    # texts do not all tie at score 0 (which of them a limit cuts would be arbitrary).
    vec[0] += 0.25
    norm = math.sqrt(sum(x * x for x in vec))
    return [x / norm for x in vec]


def sparse(text: str) -> tuple[list[int], list[float]]:
    """(indices, values): one index per distinct word, its count as the value, indices sorted."""
    counts = Counter(zlib.crc32(word.encode()) % 100_000 for word in words(text))
    if not counts:
        counts[0] = 1
    indices = sorted(counts)
    return indices, [float(counts[i]) for i in indices]


Ranked = Sequence[tuple[Hashable, float]]
# What a flow returns: its rankings by name.
Ranking = list[tuple[Hashable, float]]
Answer = dict[str, Ranking]


def assert_same_ranking(got: Ranked, want: Ranked, *, tol: float = SCORE_TOL) -> None:
    """Same scores in the same order; ids equal except for the order within a tie.

    Points whose scores tie (within `tol`) may come back in either order, so ids are compared
    as a set per run of tied scores. A tie run that reaches the end of the list may have been cut
    by the limit at a different member on each side, so only its scores are compared.
    """
    assert len(got) == len(want), f"{len(got)} results, want {len(want)}:\n{got}\n{want}"
    for (gid, gscore), (wid, wscore) in zip(got, want, strict=True):
        assert abs(gscore - wscore) < tol, f"score {gscore} for {gid}, want {wscore} ({wid})"
    start = 0
    while start < len(want):
        end = start + 1
        while end < len(want) and abs(want[end][1] - want[start][1]) < tol:
            end += 1
        if end < len(want) or end - start == 1:
            got_ids = sorted(str(pid) for pid, _ in got[start:end])
            want_ids = sorted(str(pid) for pid, _ in want[start:end])
            assert got_ids == want_ids, f"positions {start}..{end - 1}:\n{got}\n{want}"
        start = end


def assert_same_answers(got: Mapping[str, Ranked], want: Mapping[str, Ranked]) -> None:
    """Every ranking of a flow's answer, by name, as `assert_same_ranking`."""
    assert got.keys() == want.keys()
    for key, ranking in want.items():
        try:
            assert_same_ranking(got[key], ranking)
        except AssertionError as exc:
            raise AssertionError(f"{key}: {exc}") from None


def ordered(ids: Sequence[Hashable]) -> Ranking:
    """An unscored list as a ranking whose order counts: the score is minus the position."""
    return [(pid, -float(pos)) for pos, pid in enumerate(ids)]
