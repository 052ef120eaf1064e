"""The collection-level API's costs (issue 13), each as a ratio to a reference of the same run.

    .venv/bin/python -m bench.collection_admin [--quick] [--points N] [--rounds R] [--json PATH]

One `zoro serve`, one collection of N (20,000) clustered 128-d points (bench/http.py's data,
Euclid) with an alias `live` pointing at it. Requests go one at a time over one keep-alive
httpx connection; each figure is a median.

1. Alias resolution: POST /points/query (limit 10) by the alias over the same query by the
   collection's name, R rounds of 300 queries each, the two interleaved query by query. Figure:
   median latency by alias / by name (round trip), and the same for the server's handler time
   (the answer's "time"). Goal <= 1.05x: an alias is one dict lookup.
2. An alias change: a switch (delete + create in one action list, one atomic catalog write and
   fsync) over a one-point upsert with wait=true (one WAL record and fsync), 50 of each,
   alternating. Goal <= 3x: both are one small durable write.
3. update_collection: a metadata-only PATCH (the catalog write; the actor keeps serving) over a
   PATCH that changes ef_search (the collection reopens: drain, checkpoint, catalog, recovery),
   10 of each. Reported, with the reopen's time in ms; no goal (the reopen grows with the
   collection's size and is the price of changing engine settings).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from bench.http import clustered, machine_info
from bench.multi_http import load, serve, wait_indexed
from bench.scratch import in_scratch, write_json

if TYPE_CHECKING:
    from bench.http import F32

NAME = "admin"
ALIAS = "live"
BATCH = 1_000


def _timed(client: httpx.Client, method: str, path: str, body: Any) -> tuple[float, float]:
    """(round trip, server handler time), in ms; raises on an error answer."""
    started = time.perf_counter()
    r = client.request(method, path, content=orjson.dumps(body))
    elapsed = (time.perf_counter() - started) * 1e3
    r.raise_for_status()
    return elapsed, float(r.json()["time"]) * 1e3


def _setup(client: httpx.Client, data: F32) -> float:
    body = {"vectors": {"size": data.shape[1], "distance": "Euclid"}}
    client.put(f"/collections/{NAME}", json=body).raise_for_status()
    started = time.perf_counter()
    for start in range(0, len(data), BATCH):
        points = [
            {"id": start + i, "vector": row.tolist(), "payload": {"i": start + i}}
            for i, row in enumerate(data[start : start + BATCH])
        ]
        r = client.put(
            f"/collections/{NAME}/points?wait=true", content=orjson.dumps({"points": points})
        )
        r.raise_for_status()
    wait_indexed(client, NAME, 600)
    action = {"create_alias": {"collection_name": NAME, "alias_name": ALIAS}}
    client.post("/collections/aliases", json={"actions": [action]}).raise_for_status()
    return time.perf_counter() - started


def _resolution(client: httpx.Client, queries: F32, rounds: int) -> dict[str, Any]:
    per_round = []
    for _ in range(rounds):
        by: dict[str, tuple[list[float], list[float]]] = {"name": ([], []), "alias": ([], [])}
        for query in queries:
            body = {"query": query.tolist(), "limit": 10}
            for key, target in (("name", NAME), ("alias", ALIAS)):
                trip, handler = _timed(client, "POST", f"/collections/{target}/points/query", body)
                by[key][0].append(trip)
                by[key][1].append(handler)
        medians = {k: (statistics.median(v[0]), statistics.median(v[1])) for k, v in by.items()}
        per_round.append(
            {
                "name_ms": medians["name"][0],
                "alias_ms": medians["alias"][0],
                "name_handler_ms": medians["name"][1],
                "alias_handler_ms": medians["alias"][1],
                "ratio": medians["alias"][0] / medians["name"][0],
                "handler_ratio": medians["alias"][1] / medians["name"][1],
                "load_1m": load(),
            }
        )
    return {
        "rounds": per_round,
        "ratio": statistics.median(r["ratio"] for r in per_round),
        "handler_ratio": statistics.median(r["handler_ratio"] for r in per_round),
    }


def _alias_change(client: httpx.Client, data: F32) -> dict[str, Any]:
    switches, upserts = [], []
    for n in range(50):
        actions = [
            {"delete_alias": {"alias_name": f"s{n % 2}"}},
            {"create_alias": {"collection_name": NAME, "alias_name": f"s{n % 2}"}},
        ]
        switches.append(_timed(client, "POST", "/collections/aliases", {"actions": actions})[0])
        point = {"points": [{"id": n, "vector": data[n].tolist(), "payload": {"i": n}}]}
        upserts.append(_timed(client, "PUT", f"/collections/{NAME}/points?wait=true", point)[0])
    switch, upsert = statistics.median(switches), statistics.median(upserts)
    return {"switch_ms": switch, "upsert_ms": upsert, "ratio": switch / upsert, "load_1m": load()}


def _update(client: httpx.Client) -> dict[str, Any]:
    metadata, reopen = [], []
    for n in range(10):
        patch = {"metadata": {"round": n}}
        metadata.append(_timed(client, "PATCH", f"/collections/{ALIAS}", patch)[0])
        patch = {"zoro": {"ef_search": 100 + n % 2}}
        reopen.append(_timed(client, "PATCH", f"/collections/{ALIAS}", patch)[0])
    meta, again = statistics.median(metadata), statistics.median(reopen)
    return {"metadata_ms": meta, "reopen_ms": again, "ratio": again / meta, "load_1m": load()}


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    data, queries = clustered(args.points, 300)
    result: dict[str, Any] = {"machine": machine_info(), "points": args.points}
    with serve(root) as (_server, client):
        result["setup_s"] = _setup(client, data)
        with httpx.Client(base_url=str(client.base_url), timeout=120) as one:
            result["resolution"] = _resolution(one, queries, args.rounds)
            result["alias_change"] = _alias_change(one, data)
            result["update"] = _update(one)
    return result


def report(r: dict[str, Any]) -> None:
    res, change, update = r["resolution"], r["alias_change"], r["update"]
    verdict = "MET" if res["ratio"] <= 1.05 else "NOT MET"
    print(f"{r['points']:,} points, 128-d")
    for i, one in enumerate(res["rounds"], 1):
        print(
            f"query round {i}: by name {one['name_ms']:.3f} ms, by alias {one['alias_ms']:.3f}"
            f" ms ({one['ratio']:.3f}x; handler {one['handler_ratio']:.3f}x),"
            f" load {one['load_1m']:.1f}"
        )
    print(f"alias / name, median of rounds: {res['ratio']:.3f}x  goal <= 1.05x  {verdict}")
    print(f"  server handler time: {res['handler_ratio']:.3f}x")
    verdict = "MET" if change["ratio"] <= 3.0 else "NOT MET"
    print(
        f"alias switch {change['switch_ms']:.2f} ms / one-point upsert wait=true "
        f"{change['upsert_ms']:.2f} ms = {change['ratio']:.2f}x  goal <= 3x  {verdict}"
    )
    print(
        f"PATCH metadata {update['metadata_ms']:.2f} ms; PATCH ef_search (reopen) "
        f"{update['reopen_ms']:.1f} ms = {update['ratio']:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 points, 1 round")
    parser.add_argument("--points", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.points = args.points or (5_000 if args.quick else 20_000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    if args.json is None:
        suffix = "-quick" if args.quick else ""
        args.json = Path(__file__).parent / "results" / f"collection_admin{suffix}.json"
    result = in_scratch("zoro-admin-bench-", lambda root: run(args, root))
    write_json(args.json, result)
    report(result)


if __name__ == "__main__":
    main()
