"""Two named dense vectors per point against one vector per point, over HTTP, same server and run.

    .venv/bin/python -m bench.named_vectors [--quick] [--points N] [--seconds S] [--rounds R]
                                            [--json PATH] [--profile] [--dir DIR]

Data: N (200,000) points; vector `a` and vector `b` are 128-d clustered float32 (bench/http.py's
`clustered`: 64 gaussian centres x4 + unit noise, Euclid) drawn around different centres; every
point carries the same small payload in both collections. Two collections on one `zoro serve`:

- `single`: `vectors: {size: 128, distance: Euclid}`, points carry `a` as their vector;
- `named`: `vectors: {"a": {...}, "b": {...}}`, points carry both.

1. Durable ingest: the same 1,000-point batches (same ids, same payloads, same order) as
   `PUT ?wait=true` from 8 keep-alive connections (bench/http.py's Python loop), into `single`
   then `named`, each followed by the wait until its indexes are built (so one ingest never
   competes with the other's background HNSW builds); with --rounds 2 or more, a second pair in
   the other order into fresh collections (then dropped). Figure: named points/s over single
   points/s, median of the per-round ratios. Goal: >= 0.5x (a named point is twice the floats).
2. Query: POST /points/query, limit 10, default ef, wrk at 16 connections (bench/wrk/bodies.lua
   cycling through 1,000 bodies): `single`; `named` using "a" (the same vectors and queries as
   `single`); `named` using "b". Rounds of the three in turn; each ratio is the median of the
   per-round ratios against `single`. Goal: >= 0.9x for each `using`. Recall@10 of every target
   on 200 queries (httpx, untimed) against exact search (FAISS IndexFlatL2).

--profile: py-spy raw stacks of the server during a third ingest (of the named points, into a
collection of its own: its ingest and index wait are timed too), then under the `named` using "a"
query load; into the scratch directory (kept with --keep), top shares in the JSON.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from bench.http import (
    DIM,
    F32,
    NUMPY,
    WrkRun,
    clustered,
    exact_top10,
    ingest_http,
    machine_info,
    recall_of,
    write_lines,
)
from bench.multi_http import (
    load,
    median_run,
    paired_ratio,
    profile_under_load,
    profiling,
    runs_json,
    segments,
    serve,
    wait_indexed,
    wrk_rounds,
)
from bench.scratch import in_scratch, write_json
from zoro.settings import AnnSettings

if TYPE_CHECKING:
    import httpx

BATCH = 1_000
CONNS = 8
QUERY_CONNS = 16
RECALL_QUERIES = 200
ANN = AnnSettings()
HNSW = {"m": ANN.hnsw_m, "ef_construct": ANN.hnsw_ef_construct}


def payload(i: int) -> dict[str, Any]:
    return {"group": i % 100, "title": f"point {i}", "tags": ["even" if i % 2 == 0 else "odd"]}


def bodies(a: F32, b: F32 | None) -> list[bytes]:
    """PUT /points bodies of BATCH points: `a` as the only vector, or {"a", "b"} given b."""
    out = []
    for start in range(0, len(a), BATCH):
        points = []
        for i in range(start, min(start + BATCH, len(a))):
            vector: Any = a[i] if b is None else {"a": a[i], "b": b[i]}
            points.append({"id": i, "vector": vector, "payload": payload(i)})
        out.append(orjson.dumps({"points": points}, option=NUMPY))
    return out


def create(client: httpx.Client, name: str, named: bool) -> None:
    one = {"size": DIM, "distance": "Euclid"}
    vectors = {"a": one, "b": one} if named else one
    response = client.put(f"/collections/{name}", json={"vectors": vectors, "hnsw_config": HNSW})
    response.raise_for_status()


def ingest(
    client: httpx.Client, port: int, name: str, named: bool, body_list: list[bytes]
) -> dict[str, Any]:
    create(client, name, named)
    result = ingest_http(port, f"/collections/{name}/points?wait=true", body_list, CONNS)
    result["index_wait_s"] = wait_indexed(client, name, 1800.0)
    result["segments"] = segments(client, name)
    result["body_bytes_per_point"] = sum(len(b) for b in body_list) / result["points"]
    print(
        f"  {name:<8} {result['points_per_s']:9,.0f} points/s  load {result['load_1m']:.2f}  "
        f"{result['statuses']}  indexed {result['index_wait_s']:.0f} s later: "
        f"{result['segments']}",
        flush=True,
    )
    return result


def phase_ingest(
    client: httpx.Client, port: int, single: list[bytes], named: list[bytes], rounds: int
) -> dict[str, Any]:
    print("durable ingest (8 connections, 1,000-point PUTs, wait=true) ...", flush=True)
    pairs = []
    for r in range(rounds):
        order = [("single", False), ("named", True)]
        if r % 2:
            order.reverse()
        done: dict[str, Any] = {}
        for kind, is_named in order:
            name = kind if r == 0 else f"{kind}{r}"
            done[kind] = ingest(client, port, name, is_named, named if is_named else single)
        if r > 0:
            for kind, _ in order:
                client.delete(f"/collections/{kind}{r}").raise_for_status()
        done["ratio"] = done["named"]["points_per_s"] / done["single"]["points_per_s"]
        print(f"  round {r + 1}: named / single = {done['ratio']:.2f}", flush=True)
        pairs.append(done)
    ratios = sorted(p["ratio"] for p in pairs)
    return {"rounds": pairs, "ratio": float(np.median(ratios))}


def answers(client: httpx.Client, name: str, using: str | None, queries: F32) -> list[list[int]]:
    found = []
    for q in queries:
        body: dict[str, Any] = {"query": q, "limit": 10}
        if using is not None:
            body["using"] = using
        response = client.post(
            f"/collections/{name}/points/query",
            content=orjson.dumps(body, option=NUMPY),
            headers={"content-type": "application/json"},
        )
        response.raise_for_status()
        found.append([p["id"] for p in response.json()["result"]["points"]])
    return found


def query_file(root: Path, name: str, queries: F32, using: str | None) -> Path:
    extra = b"" if using is None else b',"using":"%s"' % using.encode()
    lines = [b'{"query":%s,"limit":10%s}' % (orjson.dumps(q, option=NUMPY), extra) for q in queries]
    return write_lines(root / f"query-{name}.txt", lines)


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine_info(), "points": args.points}
    a, qa = clustered(args.points, 1_000, seed=1)
    b, qb = clustered(args.points, 1_000, seed=2)
    single_bodies, named_bodies = bodies(a, None), bodies(a, b)
    print(f"{args.points:,} points; bodies built; load {load()}", flush=True)
    with serve(root) as (server, client):
        result["ingest"] = phase_ingest(
            client, server.port, single_bodies, named_bodies, args.rounds
        )
        del single_bodies
        targets = {
            "single": ("single", None, qa, a),
            "named a": ("named", "a", qa, a),
            "named b": ("named", "b", qb, b),
        }
        recall = {}
        for target, (name, using, queries, data) in targets.items():
            sample = queries[:RECALL_QUERIES]
            found = answers(client, name, using, sample)
            recall[target] = round(recall_of(found, exact_top10(data, sample)), 4)
        result["recall_at_10"] = recall
        print(f"recall@10 over {RECALL_QUERIES} queries: {recall}", flush=True)
        wrk_args = {
            target: [
                str(query_file(root, target.replace(" ", "-"), queries, using)),
                f"/collections/{name}/points/query",
                "POST",
            ]
            for target, (name, using, queries, _) in targets.items()
        }
        print(f"query, wrk c={QUERY_CONNS}, {args.seconds:g} s per run ...", flush=True)
        runs = wrk_rounds(server.url, wrk_args, QUERY_CONNS, args.seconds, args.query_rounds)
        result["query"] = {
            "conns": QUERY_CONNS,
            "ef": ANN.hnsw_ef_search,
            "runs": runs_json(runs),
            "ratio_named_a": paired_ratio(runs, "named a", "single"),
            "ratio_named_b": paired_ratio(runs, "named b", "single"),
        }
        if args.profile:
            assert server.process is not None
            with profiling(server.process.pid, root / "named-ingest.raw.txt") as spy:
                spy["ingest"] = ingest(client, server.port, "named-p", True, named_bodies)
            result["profile_ingest"] = spy
            result["profile"] = profile_under_load(
                server.process.pid, server.url, wrk_args["named a"], QUERY_CONNS, 15,
                root / "named-a.raw.txt",
            )  # fmt: skip
    report(result)
    return result


def report(r: dict[str, Any]) -> None:
    ingest, query = r["ingest"], r["query"]
    print(f"\n{'figure':<34} {'named':>10} {'single':>10} {'ratio':>6}  goal")
    for i, pair in enumerate(ingest["rounds"]):
        print(
            f"{'ingest points/s, round ' + str(i + 1):<34} {pair['named']['points_per_s']:10,.0f} "
            f"{pair['single']['points_per_s']:10,.0f} {pair['ratio']:6.2f}"
        )
    print(f"{'ingest, median ratio':<34} {'':>10} {'':>10} {ingest['ratio']:6.2f}  >= 0.5x")
    single = median_run([_run(x) for x in query["runs"]["single"]["rounds"]])
    for using in ("a", "b"):
        named = median_run([_run(x) for x in query["runs"][f"named {using}"]["rounds"]])
        print(
            f"{'query c=16 req/s, using ' + using:<34} {named.rps:10,.0f} {single.rps:10,.0f} "
            f"{query['ratio_named_' + using]:6.2f}  >= 0.9x"
        )
    print(f"recall@10: {r['recall_at_10']}")


def _run(raw: dict[str, Any]) -> WrkRun:
    return WrkRun(**raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 points, 3 s runs, 1 round")
    parser.add_argument("--points", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=None, help="ingest rounds")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--dir", type=Path, default=None, help="parent of the scratch directory")
    args = parser.parse_args()
    args.points = args.points or (50_000 if args.quick else 200_000)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.query_rounds = 1 if args.quick else 3
    if args.json is None:
        name = "named_vectors-quick.json" if args.quick else "named_vectors.json"
        args.json = Path(__file__).parent / "results" / name
    result = in_scratch(
        "zoro-named-", lambda root: run(args, root), keep=args.keep, parent=args.dir
    )
    private = ("json", "dir")  # machine paths stay out of the recorded figures
    result["args"] = {k: str(v) for k, v in vars(args).items() if k not in private}
    write_json(args.json, result)


if __name__ == "__main__":
    main()
