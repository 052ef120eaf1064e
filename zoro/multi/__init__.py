"""Multivectors (Qdrant's `multivector_config: {"comparator": "max_sim"}`, late interaction in
the ColBERT manner): wire checks, MaxSim search (the source file is zoro.storage.multi_rows).

Plain blocking code with no trio in it, like storage/ and sparse/. Module map:

    matrix.py    parse_matrix / parse_batch: JSON rows -> float32 (MultivectorError, a 400)
    scoring.py   MaxSim totals and Qdrant's scores for Cosine, Dot, Euclid, Manhattan
    index.py     MultiIndex: add / remove / search (exact, or HNSW candidates + exact re-scoring)
    _blocks.py   the rows in memory: blocks of whole documents
    _faiss.py    the FAISS calls (an HNSW graph over 8-bit codes of the sub-vectors)

The API a collection uses (slots are the collection's point slots; rows are float32):

    counts, rows = parse_batch(values, size, distance, field="vector.colbert")  # upsert body
    query = parse_matrix(value, size, distance, field="query")                  # query body

    # the source file: zoro.storage.multi_rows
    file = MultiRows.create_with(path, size)           # or MultiRows.open_with(path, end, size)
    offsets = file.append(slots, counts, rows)         # one record per slot; file.end, .sync()
    slot, matrix = file.read(offset)                   # a point read
    for slots, counts, rows in file.scan(): ...        # recovery: feed the live ones to add()
    file.truncate(end); file.close()

    index = MultiIndex(size, distance, MultiSettings())
    index.add(slots, counts, rows)                     # replaces slots already present
    index.remove(slots) -> int
    scores, slots = index.search(query, k, allowed=mask_or_None, exact=False)  # best first
    index.rows_of(slot), len(index), slot in index, index.statistics() -> MultiStats

    if index.wants_graph():                            # graph: Cosine, Dot, Euclid only
        job = index.prepare_graph()                    # owner
        job.run()                                      # worker thread, blocking
        index.install_graph(job)                       # owner

Scores follow Qdrant: the sum over query rows of the best similarity over the document's rows;
for Euclid the reported score is sqrt of the summed squared distances and for Manhattan the
summed L1 distances, both lower-is-better (scoring.py has the details). `search` returns the
best first for every distance. Cosine rows are normalised by parse_* and again by `add`.
"""

from zoro.errors import MultivectorError

from .index import GraphJob, MultiIndex, MultiSettings, MultiStats
from .matrix import parse_batch, parse_matrix

__all__ = [
    "GraphJob",
    "MultiIndex",
    "MultiSettings",
    "MultiStats",
    "MultivectorError",
    "parse_batch",
    "parse_matrix",
]
