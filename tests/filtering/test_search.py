"""Filtered nearest-neighbour search (query, search, and their batches) against exact filtered
brute force in numpy: exact on a flat collection, recall on the default HNSW engine."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.filtering.conftest import fresh_name
from tests.filtering.reference import create, create_index, ok, selected, upsert

if TYPE_CHECKING:
    import httpx

Matrix = npt.NDArray[np.float64]

DIM = 8
N_FLAT = 1500
COLORS = ["red", "green", "blue", "cyan"]


def _payload(i: int, rng: np.random.Generator) -> dict[str, Any]:
    tags = [f"t{int(t)}" for t in rng.integers(0, 9, 2)]
    return {
        "g": int(rng.integers(0, 20)),
        "color": COLORS[int(rng.integers(0, 4))],
        "r": round(float(rng.random()), 4),
        "tags": tags,
        **({"odd": True} if i % 2 else {}),
    }


FILTERS: list[dict[str, Any]] = [
    {"must": [{"key": "g", "range": {"lt": 10}}]},  # about half
    {"must": [{"key": "g", "match": {"value": 3}}]},  # about 5 %
    {
        "must": [
            {"key": "g", "match": {"value": 3}},
            {"key": "color", "match": {"value": "red"}},
            {"key": "r", "range": {"lt": 0.3}},
        ]
    },  # under 1 %
    {
        "should": [{"key": "tags", "match": {"any": ["t1", "t2"]}}, {"has_id": [5, 6, 7]}],
        "must_not": {"key": "odd", "match": {"value": True}},
    },
    {
        "min_should": {
            "conditions": [
                {"key": "color", "match": {"value": "blue"}},
                {"key": "g", "range": {"gte": 15}},
                {"key": "tags", "match": {"value": "t0"}},
            ],
            "min_count": 2,
        }
    },
    {"must": [{"key": "color", "match": {"except": ["red", "green", "blue", "cyan"]}}]},  # none
]


def _scores(vectors: Matrix, q: Matrix, distance: str) -> Matrix:
    """Scores as the server reports them, and their order: higher first unless Euclid."""
    if distance == "Euclid":
        return np.asarray(np.linalg.norm(vectors - q, axis=1))
    if distance == "Cosine":
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(unit @ (q / np.linalg.norm(q)))
    return np.asarray(vectors @ q)


def _exact(
    vectors: Matrix, allowed: list[int], q: Matrix, distance: str, k: int
) -> tuple[list[int], list[float]]:
    if not allowed:
        return [], []
    idx = np.array(allowed)
    s = _scores(vectors[idx], q, distance)
    order = np.argsort(s if distance == "Euclid" else -s, kind="stable")[:k]
    return idx[order].tolist(), s[order].tolist()


def _assert_same(
    got: list[dict[str, Any]],
    want_ids: list[int],
    want_scores: list[float],
    vectors: Matrix,
    q: Matrix,
    distance: str,
) -> None:
    """Exact answers, up to the order of near-ties (the server computes in float32)."""
    assert len(got) == len(want_ids)
    got_scores = [p["score"] for p in got]
    np.testing.assert_allclose(got_scores, want_scores, rtol=1e-4, atol=1e-4)
    if [p["id"] for p in got] != want_ids:
        # a different id may only stand where the true scores tie within float32 noise
        for p, wid, ws in zip(got, want_ids, want_scores, strict=True):
            if p["id"] != wid:
                true = float(_scores(vectors[[p["id"]]], q, distance)[0])
                assert abs(true - ws) < 1e-4, (p["id"], wid)


class Flat:
    def __init__(
        self, name: str, distance: str, vectors: Matrix, payloads: dict[int, dict[str, Any]]
    ) -> None:
        self.name, self.distance, self.vectors, self.payloads = name, distance, vectors, payloads

    def allowed(self, flt: dict[str, Any] | None) -> list[int]:
        return sorted(self.payloads) if flt is None else sorted(selected(flt, self.payloads))


@pytest.fixture(scope="module", params=["Euclid", "Cosine", "Dot"])
def flat(request: pytest.FixtureRequest, mhttp: httpx.Client) -> Flat:
    distance: str = request.param
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(N_FLAT, DIM)).astype(np.float32).astype(np.float64)
    payloads = {i: _payload(i, rng) for i in range(N_FLAT)}
    name = fresh_name("flat")
    create(mhttp, name, DIM, distance, engine="flat")
    upsert(mhttp, name, list(range(N_FLAT)), vectors.tolist(), list(payloads.values()))
    return Flat(name, distance, vectors, payloads)


def test_filtered_query_and_search_are_exact(mhttp: httpx.Client, flat: Flat) -> None:
    rng = np.random.default_rng(3)
    for flt in FILTERS:
        allowed = flat.allowed(flt)
        for q in rng.normal(size=(3, DIM)):
            ids, scores = _exact(flat.vectors, allowed, q, flat.distance, 10)
            got = ok(
                mhttp.post(
                    f"/collections/{flat.name}/points/query",
                    json={"query": q.tolist(), "limit": 10, "filter": flt},
                )
            )
            _assert_same(got["points"], ids, scores, flat.vectors, q, flat.distance)
            old = ok(
                mhttp.post(
                    f"/collections/{flat.name}/points/search",
                    json={"vector": q.tolist(), "limit": 10, "filter": flt},
                )
            )
            _assert_same(old, ids, scores, flat.vectors, q, flat.distance)


def test_same_answers_with_payload_indexes(mhttp: httpx.Client, flat: Flat) -> None:
    name = fresh_name("flatidx")
    create(mhttp, name, DIM, flat.distance, engine="flat")
    for key, schema in (
        ("g", "integer"),
        ("color", "keyword"),
        ("r", "float"),
        ("tags", "keyword"),
        ("odd", "bool"),
    ):
        create_index(mhttp, name, key, schema)
    upsert(mhttp, name, list(flat.payloads), flat.vectors.tolist(), list(flat.payloads.values()))
    q = np.random.default_rng(4).normal(size=DIM).tolist()
    for flt in FILTERS:
        body = {"query": q, "limit": 15, "filter": flt}
        a = ok(mhttp.post(f"/collections/{flat.name}/points/query", json=body))["points"]
        b = ok(mhttp.post(f"/collections/{name}/points/query", json=body))["points"]
        assert [p["id"] for p in a] == [p["id"] for p in b]
    ok(mhttp.delete(f"/collections/{name}"))


def test_threshold_offset_and_payload_with_a_filter(mhttp: httpx.Client, flat: Flat) -> None:
    flt = FILTERS[0]
    allowed = flat.allowed(flt)
    q = np.random.default_rng(5).normal(size=DIM)
    ids, scores = _exact(flat.vectors, allowed, q, flat.distance, 30)
    # offset: the next page of the same ranking
    got = ok(
        mhttp.post(
            f"/collections/{flat.name}/points/query",
            json={
                "query": q.tolist(),
                "limit": 10,
                "offset": 10,
                "filter": flt,
                "with_payload": True,
            },
        )
    )
    _assert_same(got["points"], ids[10:20], scores[10:20], flat.vectors, q, flat.distance)
    for p in got["points"]:
        assert p["payload"] == flat.payloads[p["id"]]
        assert flt["must"][0]["range"]["lt"] > p["payload"]["g"]
    # score_threshold: only the points at least as good as the 7th
    threshold = (scores[6] + scores[7]) / 2
    got = ok(
        mhttp.post(
            f"/collections/{flat.name}/points/query",
            json={"query": q.tolist(), "limit": 30, "filter": flt, "score_threshold": threshold},
        )
    )
    assert [p["id"] for p in got["points"]] == ids[:7]
    old = ok(
        mhttp.post(
            f"/collections/{flat.name}/points/search",
            json={
                "vector": q.tolist(),
                "limit": 5,
                "offset": 3,
                "filter": flt,
                "with_payload": ["color"],
            },
        )
    )
    assert [p["id"] for p in old] == ids[3:8]
    assert all(p["payload"] == {"color": flat.payloads[p["id"]]["color"]} for p in old)


def test_query_by_point_id_with_a_filter(mhttp: httpx.Client, flat: Flat) -> None:
    flt = FILTERS[1]
    allowed = flat.allowed(flt)
    point = allowed[0]
    q = flat.vectors[point]
    ids, scores = _exact(flat.vectors, [i for i in allowed if i != point], q, flat.distance, 5)
    got = ok(
        mhttp.post(
            f"/collections/{flat.name}/points/query",
            json={"query": point, "limit": 5, "filter": flt},
        )
    )
    _assert_same(got["points"], ids, scores, flat.vectors, q, flat.distance)


def test_batches_with_mixed_filters_answer_in_order(mhttp: httpx.Client, flat: Flat) -> None:
    rng = np.random.default_rng(6)
    queries = rng.normal(size=(len(FILTERS) + 2, DIM))
    chosen: list[dict[str, Any] | None] = [None, *FILTERS, FILTERS[1]]
    searches = []
    for q, flt in zip(queries, chosen, strict=True):
        body: dict[str, Any] = {"query": q.tolist(), "limit": 6}
        if flt is not None:
            body["filter"] = flt
        searches.append(body)
    batch = ok(
        mhttp.post(f"/collections/{flat.name}/points/query/batch", json={"searches": searches})
    )
    old = ok(
        mhttp.post(
            f"/collections/{flat.name}/points/search/batch",
            json={
                "searches": [
                    {"vector": s["query"], "limit": 6, "filter": s.get("filter")} for s in searches
                ]
            },
        )
    )
    assert len(batch) == len(old) == len(searches)
    for q, flt, answer, answer_old in zip(queries, chosen, batch, old, strict=True):
        ids, scores = _exact(flat.vectors, flat.allowed(flt), q, flat.distance, 6)
        _assert_same(answer["points"], ids, scores, flat.vectors, q, flat.distance)
        _assert_same(answer_old, ids, scores, flat.vectors, q, flat.distance)


# --- HNSW: recall of filtered search against exact filtered brute force -----------------------


def _wait_green(http: httpx.Client, name: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ok(http.get(f"/collections/{name}"))["status"] == "green":
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} not indexed within {timeout_s} s")


def _recall_run(
    http: httpx.Client, n: int, distance: str, n_queries: int, wait_s: float
) -> dict[str, float]:
    dim = 16
    rng = np.random.default_rng(n)
    vectors = rng.normal(size=(n, dim)).astype(np.float32).astype(np.float64)
    bucket = rng.integers(0, 1000, n)
    name = fresh_name("hnsw")
    create(http, name, dim, distance)
    upsert(
        http,
        name,
        list(range(n)),
        vectors.tolist(),
        [{"bucket": int(b), "half": bool(b < 500)} for b in bucket],
        chunk=2000,
    )
    _wait_green(http, name, wait_s)
    cases = {
        "50%": ({"must": {"key": "half", "match": {"value": True}}}, bucket < 500),
        "5%": (
            {"must": {"key": "bucket", "range": {"gte": 100, "lt": 150}}},
            (bucket >= 100) & (bucket < 150),
        ),
        "0.7%": (
            {"must": {"key": "bucket", "match": {"any": [1, 2, 3, 4, 5, 6, 7]}}},
            (bucket >= 1) & (bucket <= 7),
        ),
    }
    recalls: dict[str, float] = {}
    queries = rng.normal(size=(n_queries, dim))
    for label, (flt, mask) in cases.items():
        allowed = np.flatnonzero(mask).tolist()
        hits = 0
        batch = ok(
            http.post(
                f"/collections/{name}/points/query/batch",
                json={
                    "searches": [{"query": q.tolist(), "limit": 10, "filter": flt} for q in queries]
                },
            )
        )
        for q, answer in zip(queries, batch, strict=True):
            want, _ = _exact(vectors, allowed, q, distance, 10)
            got = [p["id"] for p in answer["points"]]
            assert all(mask[i] for i in got), "a point the filter excludes came back"
            hits += len(set(got) & set(want))
        recalls[label] = hits / (10 * len(queries))
    ok(http.delete(f"/collections/{name}"))
    return recalls


def test_hnsw_filtered_recall(mhttp: httpx.Client) -> None:
    recalls = _recall_run(mhttp, 20_000, "Cosine", 20, wait_s=240)
    assert all(r >= 0.95 for r in recalls.values()), recalls


@pytest.mark.slow
@pytest.mark.parametrize("distance", ["Euclid", "Dot"])
def test_hnsw_filtered_recall_large(mhttp: httpx.Client, distance: str) -> None:
    """Big enough that the 50 % filter keeps more points than the exact fallback takes, so
    the HNSW graph is searched with the filter's bitmap."""
    recalls = _recall_run(mhttp, 60_000, distance, 40, wait_s=600)
    assert all(r >= 0.95 for r in recalls.values()), recalls
