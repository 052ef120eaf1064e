"""A reference for Qdrant's filter language, written from the spec in plain Python, plus the
HTTP helpers and hypothesis strategies the filtering tests share.

Nothing here imports zoro.payload: the reference is an independent reading of the spec.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import strategies as st

Payload = dict[str, Any]
PointId = int | str

# --- the reference ------------------------------------------------------------------------------


def _steps(key: str) -> list[tuple[str, bool]]:
    return [(p[:-2], True) if p.endswith("[]") else (p, False) for p in key.split(".")]


def raw_values(payload: Mapping[str, Any], key: str) -> list[Any]:
    """The values found at the end of the path, before arrays there are spread out."""
    current: list[Any] = [payload]
    for name, project in _steps(key):
        found: list[Any] = []
        for value in current:
            if not isinstance(value, dict) or name not in value:
                continue
            child = value[name]
            if project:
                if isinstance(child, list):
                    found.extend(child)
            else:
                found.append(child)
        current = found
    return current


def values_at(payload: Mapping[str, Any], key: str) -> list[Any]:
    """The values a condition sees: an array at the end stands for its elements."""
    out: list[Any] = []
    for value in raw_values(payload, key):
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


def kind(value: object) -> type | None:
    t = type(value)
    return t if t in (str, int, bool) else None


def is_number(value: object) -> bool:
    return type(value) in (int, float)


def parse_instant(text: object) -> datetime | None:
    if type(text) is not str:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _within(x: Any, bounds: Mapping[str, Any]) -> bool:
    checks = {
        "gt": lambda b: x > b,
        "gte": lambda b: x >= b,
        "lt": lambda b: x < b,
        "lte": lambda b: x <= b,
    }
    return all(checks[name](b) for name, b in bounds.items() if b is not None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return list(value)


def _canonical_id(point_id: PointId) -> PointId:
    return point_id if isinstance(point_id, int) else str(uuid.UUID(point_id))


def _match(match: Mapping[str, Any], vals: list[Any]) -> bool:
    if "value" in match:
        target = match["value"]
        return any(kind(v) is kind(target) and v == target for v in vals)
    if "any" in match:
        items = match["any"]
        kinds = {kind(i) for i in items}
        return any(kind(v) in kinds and v in items for v in vals)
    items = match["except"]
    kinds = {kind(i) for i in items}
    # every non-null value that is not one of the targets (floats, bools, objects included)
    return any(v is not None and not (kind(v) in kinds and v in items) for v in vals)


def _field(cond: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    key = cond["key"]
    vals = values_at(payload, key)
    results: list[bool] = []
    if cond.get("match") is not None:
        results.append(_match(cond["match"], vals))
    if cond.get("range") is not None:
        bounds = {k: v for k, v in cond["range"].items() if v is not None}
        if any(isinstance(b, str) for b in bounds.values()):
            instants = {k: parse_instant(b) for k, b in bounds.items()}
            results.append(
                any((m := parse_instant(v)) is not None and _within(m, instants) for v in vals)
            )
        else:
            results.append(any(is_number(v) and _within(v, bounds) for v in vals))
    if cond.get("values_count") is not None:
        # each value found counts: an array its length, null 0, anything else 1; none found: 0
        counts = [_count(v) for v in raw_values(payload, key)] or [0]
        results.append(any(_within(n, cond["values_count"]) for n in counts))
    if cond.get("is_empty") is not None:
        results.append(is_empty(payload, key) == cond["is_empty"])
    if cond.get("is_null") is not None:
        results.append(is_null(payload, key) == cond["is_null"])
    assert results, cond
    return all(results)


def is_empty(payload: Mapping[str, Any], key: str) -> bool:
    """Missing, null, or an empty array (every value found at the path is one of those)."""
    return all(v is None or v == [] for v in raw_values(payload, key))


def _count(value: Any) -> int:
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1


def is_null(payload: Mapping[str, Any], key: str) -> bool:
    """A value found is null, or an array holding a null (qdrant#10101, Qdrant 1.19.1 on)."""
    return any(v is None or (isinstance(v, list) and None in v) for v in raw_values(payload, key))


def holds(cond: Mapping[str, Any], payload: Mapping[str, Any], point_id: PointId) -> bool:
    """Does one condition (or nested filter) hold for this point?"""
    if "key" in cond:
        return _field(cond, payload)
    if "has_id" in cond:
        return _canonical_id(point_id) in {_canonical_id(i) for i in cond["has_id"]}
    if "is_empty" in cond:
        return is_empty(payload, cond["is_empty"]["key"])
    if "is_null" in cond:
        return is_null(payload, cond["is_null"]["key"])
    return passes(cond, payload, point_id)


def passes(f: Mapping[str, Any], payload: Mapping[str, Any], point_id: PointId) -> bool:
    """Does the point pass the filter? (An empty filter passes everything.)"""
    if not all(holds(c, payload, point_id) for c in _as_list(f.get("must"))):
        return False
    should = _as_list(f.get("should"))
    if should and not any(holds(c, payload, point_id) for c in should):
        return False
    ms = f.get("min_should")
    if ms is not None:
        hits = sum(holds(c, payload, point_id) for c in _as_list(ms["conditions"]))
        if hits < ms["min_count"]:
            return False
    return not any(holds(c, payload, point_id) for c in _as_list(f.get("must_not")))


def selected(f: Mapping[str, Any], points: Mapping[Any, Payload]) -> set[Any]:
    return {pid for pid, payload in points.items() if passes(f, payload, pid)}


# --- HTTP helpers -------------------------------------------------------------------------------


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    return response.json()["result"]


def create(
    http: httpx.Client, name: str, dim: int, distance: str = "Euclid", engine: str | None = None
) -> None:
    body: dict[str, Any] = {"vectors": {"size": dim, "distance": distance}}
    if engine is not None:
        body["zoro"] = {"engine": engine}
    ok(http.put(f"/collections/{name}", json=body))


def upsert(
    http: httpx.Client,
    name: str,
    ids: Sequence[PointId],
    vectors: Sequence[Sequence[float]],
    payloads: Sequence[Payload | None],
    chunk: int = 500,
) -> None:
    for start in range(0, len(ids), chunk):
        end = start + chunk
        ok(
            http.put(
                f"/collections/{name}/points",
                params={"wait": "true"},
                json={
                    "batch": {
                        "ids": list(ids[start:end]),
                        "vectors": [list(map(float, v)) for v in vectors[start:end]],
                        "payloads": list(payloads[start:end]),
                    }
                },
            )
        )


def count(http: httpx.Client, name: str, flt: Mapping[str, Any] | None) -> int:
    body = {} if flt is None else {"filter": flt}
    n: int = ok(http.post(f"/collections/{name}/points/count", json=body))["count"]
    return n


def scroll_ids(
    http: httpx.Client,
    name: str,
    flt: Mapping[str, Any] | None,
    limit: int = 50,
    max_pages: int = 10_000,
) -> list[PointId]:
    """Every id the filtered scroll returns, page by page (bounded)."""
    out: list[PointId] = []
    offset: PointId | None = None
    for _ in range(max_pages):
        body: dict[str, Any] = {"limit": limit, "with_payload": False}
        if flt is not None:
            body["filter"] = flt
        if offset is not None:
            body["offset"] = offset
        page = ok(http.post(f"/collections/{name}/points/scroll", json=body))
        assert len(page["points"]) <= limit
        out += [p["id"] for p in page["points"]]
        offset = page["next_page_offset"]
        if offset is None:
            return out
    raise AssertionError("scroll did not end")


def scroll_all(http: httpx.Client, name: str, limit: int = 1000) -> dict[PointId, Payload]:
    """Every point's payload, as the server holds it."""
    out: dict[PointId, Payload] = {}
    offset: PointId | None = None
    for _ in range(10_000):
        body: dict[str, Any] = {"limit": limit, "with_payload": True}
        if offset is not None:
            body["offset"] = offset
        page = ok(http.post(f"/collections/{name}/points/scroll", json=body))
        out.update({p["id"]: p["payload"] or {} for p in page["points"]})
        offset = page["next_page_offset"]
        if offset is None:
            return out
    raise AssertionError("scroll did not end")


def create_index(http: httpx.Client, name: str, key: str, schema: str) -> None:
    ok(
        http.put(
            f"/collections/{name}/index",
            params={"wait": "true"},
            json={"field_name": key, "field_schema": schema},
        )
    )


def wait_indexes_ready(http: httpx.Client, name: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Wait (bounded) until every declared payload index reports ready; returns the info."""
    deadline = time.monotonic() + timeout_s
    while True:
        info: dict[str, Any] = ok(http.get(f"/collections/{name}"))
        ready = info["zoro"]["payload_indexes"]
        if all(v["ready"] for v in ready.values()) or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


def error_of(response: httpx.Response) -> str:
    body = response.json()
    message: str = body["status"]["error"]
    return message


# Usual kinds for each key (indexes on the kind most values have).
INDEXES_USUAL = {
    "s": "keyword",
    "meta.lang": "keyword",
    "tags": "keyword",
    "offers[].kind": "keyword",
    "x": "keyword",
    "i": "integer",
    "meta.n": "integer",
    "f": "float",
    "offers[].price": "float",
    "b": "bool",
    "d": "datetime",
}


# --- hypothesis strategies ----------------------------------------------------------------------

STRINGS = ["a", "b", "c", "", "Ä", "a b"]
INTS = [-3, -1, 0, 1, 2, 3, 7, 1000]
FLOATS = [-1.5, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0, 7.25]
DATETIMES = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00",  # naive: UTC
    "2024-01-01T01:00:00+01:00",  # the same instant as the two above
    "2024-01-01T00:00:01Z",
    "2024-03-15T12:30:00.250000+00:00",
    "2023-12-31T23:59:59Z",
    "2024-06-01",
    "2025-01-01T00:00:00-05:00",
    "2024-13-01T00:00:00Z",  # not a datetime
]

scalars = st.one_of(
    st.sampled_from(STRINGS),
    st.sampled_from(INTS),
    st.sampled_from(FLOATS),
    st.booleans(),
    st.none(),
    st.sampled_from(DATETIMES),
)


def _mostly(main: st.SearchStrategy[Any], weight: int = 6) -> st.SearchStrategy[Any]:
    """Values of one kind most of the time, and now and then anything (or an array of it)."""
    return st.one_of(*([main] * weight), scalars, st.lists(st.one_of(main, scalars), max_size=3))


def _object(draw: st.DrawFn, fields: Mapping[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, strategy in fields.items():
        if draw(st.integers(0, 9)) < 7:  # 30 % of keys missing
            out[name] = draw(strategy)
    return out


@st.composite
def payloads(draw: st.DrawFn) -> Payload:
    offer = st.composite(
        lambda d: _object(
            d,
            {
                "price": _mostly(st.sampled_from(FLOATS + INTS[:4])),
                "kind": _mostly(st.sampled_from(STRINGS)),
            },
        )
    )()
    meta = st.composite(
        lambda d: _object(
            d,
            {
                "lang": _mostly(st.sampled_from(STRINGS)),
                "n": _mostly(st.sampled_from(INTS)),
            },
        )
    )()
    return _object(
        draw,
        {
            "s": _mostly(st.sampled_from(STRINGS)),
            "i": _mostly(st.sampled_from(INTS)),
            "f": _mostly(st.sampled_from(FLOATS)),
            "b": _mostly(st.booleans()),
            "d": _mostly(st.sampled_from(DATETIMES)),
            "tags": st.one_of(st.lists(st.sampled_from(STRINGS + INTS[:3]), max_size=4), scalars),
            "meta": st.one_of(meta, meta, meta, scalars, st.lists(meta, max_size=2)),
            "offers": st.one_of(st.lists(offer, max_size=3), offer, scalars),
            "x": scalars,
        },
    )


def random_payload(rng: random.Random) -> Payload:
    """The same shapes as `payloads()`, from a seeded generator (for module-wide data sets)."""

    def scalar() -> Any:
        pools: list[list[Any]] = [STRINGS, INTS, FLOATS, [True, False], [None], DATETIMES]
        pool = rng.choice(pools)
        return rng.choice(pool)

    def mostly(main: list[Any]) -> Any:
        roll = rng.random()
        if roll < 0.7:
            return rng.choice(main)
        if roll < 0.85:
            return scalar()
        return [
            rng.choice(main) if rng.random() < 0.7 else scalar() for _ in range(rng.randint(0, 3))
        ]

    def obj(fields: dict[str, Any]) -> dict[str, Any]:
        return {k: make() for k, make in fields.items() if rng.random() < 0.7}

    def offer() -> dict[str, Any]:
        return obj({"price": lambda: mostly([*FLOATS, *INTS[:4]]), "kind": lambda: mostly(STRINGS)})

    def meta() -> Any:
        roll = rng.random()
        if roll < 0.75:
            return obj({"lang": lambda: mostly(STRINGS), "n": lambda: mostly(INTS)})
        if roll < 0.9:
            return scalar()
        return [meta() for _ in range(rng.randint(0, 2))]

    def tags() -> Any:
        if rng.random() < 0.8:
            return [rng.choice([*STRINGS, *INTS[:3]]) for _ in range(rng.randint(0, 4))]
        return scalar()

    def offers() -> Any:
        roll = rng.random()
        if roll < 0.7:
            return [offer() for _ in range(rng.randint(0, 3))]
        return offer() if roll < 0.85 else scalar()

    return obj(
        {
            "s": lambda: mostly(STRINGS),
            "i": lambda: mostly(INTS),
            "f": lambda: mostly(FLOATS),
            "b": lambda: mostly([True, False]),
            "d": lambda: mostly(DATETIMES),
            "tags": tags,
            "meta": meta,
            "offers": offers,
            "x": scalar,
        }
    )


# The keys filters use, with the kinds of targets that make sense for each (and some that do
# not: integer targets on a bool key, `tags[]` beside an index on `tags`).
STRING_KEYS = ["s", "tags", "tags[]", "meta.lang", "offers[].kind", "offers.kind", "x", "b"]
INT_KEYS = ["i", "meta.n", "tags", "x", "b"]
NUMBER_KEYS = ["f", "i", "offers[].price", "meta.n", "x", "s"]
DATETIME_KEYS = ["d", "s", "x"]
ANY_KEYS = sorted(
    {
        *STRING_KEYS,
        *INT_KEYS,
        *NUMBER_KEYS,
        *DATETIME_KEYS,
        "meta",
        "offers",
        "missing",
        "meta.missing",
    }
)
EMPTINESS_KEYS = ANY_KEYS


def _bounds(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(["gt", "gte", "lt", "lte"]), values, min_size=1, max_size=2
    )


def leaf_conditions(ids: range) -> st.SearchStrategy[dict[str, Any]]:
    targets_str = st.sampled_from(STRINGS)
    targets_int = st.sampled_from(INTS)
    match = st.one_of(
        st.builds(
            lambda k, v: {"key": k, "match": {"value": v}},
            st.sampled_from(STRING_KEYS),
            targets_str,
        ),
        st.builds(
            lambda k, v: {"key": k, "match": {"value": v}}, st.sampled_from(INT_KEYS), targets_int
        ),
        st.builds(
            lambda k, v: {"key": k, "match": {"value": v}},
            st.sampled_from(["b", "x", "i"]),
            st.booleans(),
        ),
        st.builds(
            lambda k, v: {"key": k, "match": {"any": v}},
            st.sampled_from(STRING_KEYS),
            st.lists(targets_str, max_size=3, unique=True),
        ),
        st.builds(
            lambda k, v: {"key": k, "match": {"any": v}},
            st.sampled_from(INT_KEYS),
            st.lists(targets_int, max_size=3, unique=True),
        ),
        st.builds(
            lambda k, v: {"key": k, "match": {"except": v}},
            st.sampled_from(STRING_KEYS),
            st.lists(targets_str, max_size=3, unique=True),
        ),
        st.builds(
            lambda k, v: {"key": k, "match": {"except": v}},
            st.sampled_from(INT_KEYS),
            st.lists(targets_int, max_size=3, unique=True),
        ),
    )
    numbers = st.one_of(st.sampled_from(INTS), st.sampled_from(FLOATS))
    ranges = st.one_of(
        st.builds(
            lambda k, b: {"key": k, "range": b}, st.sampled_from(NUMBER_KEYS), _bounds(numbers)
        ),
        st.builds(
            lambda k, b: {"key": k, "range": b},
            st.sampled_from(DATETIME_KEYS),
            _bounds(st.sampled_from([d for d in DATETIMES if "-13-" not in d])),
        ),
    )
    counts = st.builds(
        lambda k, b: {"key": k, "values_count": b},
        st.sampled_from(ANY_KEYS),
        _bounds(st.integers(0, 4)),
    )
    emptiness = st.one_of(
        st.builds(lambda k: {"is_empty": {"key": k}}, st.sampled_from(EMPTINESS_KEYS)),
        st.builds(lambda k: {"is_null": {"key": k}}, st.sampled_from(EMPTINESS_KEYS)),
        st.builds(
            lambda k, f: {"key": k, "is_empty": f}, st.sampled_from(EMPTINESS_KEYS), st.booleans()
        ),
        st.builds(
            lambda k, f: {"key": k, "is_null": f}, st.sampled_from(EMPTINESS_KEYS), st.booleans()
        ),
    )
    has_id = st.builds(
        lambda xs: {"has_id": xs},
        st.lists(st.integers(min(ids), max(ids)), max_size=6, unique=True),
    )
    return st.one_of(match, match, ranges, ranges, counts, emptiness, has_id)


def _group(cond: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A list of conditions, a single condition object, or null."""
    return st.one_of(st.lists(cond, max_size=2), cond, st.none(), st.none())


def filters(ids: range, max_leaves: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.builds(
            _make_filter,
            _group(inner),
            _group(inner),
            _group(inner),
            st.one_of(
                st.none(),
                st.builds(
                    lambda cs, n: {"conditions": cs, "min_count": n},
                    st.lists(inner, min_size=1, max_size=3),
                    st.integers(1, 2),
                ),
            ),
        ).filter(lambda f: any(v not in (None, []) for v in f.values()))

    tree = st.recursive(leaf_conditions(ids), extend, max_leaves=max_leaves)
    return st.one_of(extend(tree), extend(tree), extend(tree), st.just({}))


def _make_filter(must: Any, should: Any, must_not: Any, min_should: Any) -> dict[str, Any]:
    parts = {"must": must, "should": should, "must_not": must_not, "min_should": min_should}
    return {name: value for name, value in parts.items() if value is not None}
