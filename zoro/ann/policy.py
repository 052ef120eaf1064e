"""Which sealed flat segments to merge next: size-tiered, with a cap on the count.

(HNSW segments are not merged this way: the segment layer grows one HNSW segment incrementally
and folds any other segment into it; see zoro.ann.segments. This policy serves the flat segments
of small and of "flat" collections, and an "hnsw" collection that shrank below the threshold.)

Every sealed segment costs one more FAISS call per query, so their number is capped. Merging is
a rebuild (HNSW cannot be merged in place), so it should not copy the big segments over and over:
merging "the two smallest" whenever the cap is hit rebuilds the largest segments again and again
(simulated, 50 equal seals under a cap of 4: each point is built about 7.7 times). Merging a run
of similar sizes instead, the way log-structured stores tier their files, keeps that near 4.5
(about 7 after 200 seals) and leaves one big segment plus a few small ones, which also suits
search. "Similar" allows a factor of 2: with an exact-size rule, seals that differ by a few
deleted points stop forming runs and the count cap alone drives merges again (7.7 once more).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

# A run of this many similar-sized segments is merged even below the cap.
FAN_IN: Final = 4
# The next segment joins the run if it is at most this many times the run's total size.
SIMILAR: Final = 2


def pick_merge(sizes: Sequence[int], max_segments: int) -> list[int]:
    """Indices (into `sizes`) of the segments to merge now, or [] when none should be.

    The candidates are a run from the smallest segment up, where each next segment is no bigger
    than SIMILAR times the run so far. Merge that run when it reaches FAN_IN segments, and
    whenever the count is over `max_segments` (then at least enough to get back under it).
    """
    if len(sizes) < 2:
        return []
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    run, total = 1, sizes[order[0]]
    while run < len(order) and sizes[order[run]] <= SIMILAR * total:
        total += sizes[order[run]]
        run += 1
    need = len(sizes) - max_segments + 1  # merging this many brings the count back to the cap
    if need < 2 and run < FAN_IN:
        return []
    return order[: max(run, need, 2)]
