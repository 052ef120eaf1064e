"""The suite's headline figures, read from each script's JSON, as summary.json and as a Markdown
table between `<!-- suite:begin -->` and `<!-- suite:end -->` in bench/README.md.

    .venv/bin/python -m bench.summary [--results bench/results] [--readme bench/README.md]

bench/run_all.py calls `write(...)` after the scripts ran. Every row puts Zoro's figure beside
its reference from the same run of the same script, and the ratio of the two; a missing JSON
file or section leaves its rows out (noted under the table).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
BEGIN, END = "<!-- suite:begin -->", "<!-- suite:end -->"


@dataclass(frozen=True)
class Row:
    figure: str
    zoro: str
    reference: str
    ratio: float | None
    notes: str
    load: float | None
    when: str
    source: str
    value: float | None = None
    reference_value: float | None = None


def _n(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def _when(doc: dict[str, Any], path: Path) -> str:
    """The run's date (from its JSON where it says, else the file's mtime), as YYYY-MM-DD HH:MM."""
    for holder in (doc.get("machine"), doc):
        if isinstance(holder, dict) and isinstance(holder.get("date"), str):
            text: str = holder["date"]
            return text.replace("T", " ")[:16]
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))


def _load(doc: dict[str, Any]) -> float | None:
    machine = doc.get("machine")
    if isinstance(machine, dict) and machine.get("load_at_start"):
        return float(machine["load_at_start"][0])
    return None


def _read(results: Path, name: str) -> tuple[dict[str, Any], Path] | None:
    path = results / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text()), path


# ----------------------------------------------------------------------------- rows per script


def http_rows(doc: dict[str, Any], when: str) -> list[Row]:
    rows: list[Row] = []
    src = "http.json"
    ing = doc["ingest"]
    z, e = ing["zoro"]["points_per_s"], ing["engine"]["points_per_s"]
    bare = ing.get("bare_decode", {}).get("points_per_s")
    rows.append(
        Row(
            f"Durable ingest over HTTP, {doc['points']:,} x 128, 1,000-point PUTs, 8 conns",
            f"{_n(z)} points/s",
            f"in-process engine {_n(e)} points/s",
            z / e,
            f"bare JSON decode ceiling {_n(bare)} points/s ({z / bare:.2f}x)" if bare else "",
            ing["zoro"].get("load_1m"),
            when,
            src,
            z,
            e,
        )
    )
    median = {(x["target"], x["conns"]): x for x in doc["search"]["median"]}
    floor = doc.get("segment_floor", {}).get("one_index_us")
    ef = doc["ann"]["hnsw_ef_search"]
    for conns in (16, 64):
        zq, bq = median.get(("zoro query", conns)), median.get(("bare query", conns))
        ping = median.get(("ping", conns))
        if zq is None or bq is None:
            continue
        ratio = doc["search"].get("paired_ratio", {}).get(str(conns), zq["rps"] / bq["rps"])
        notes = []
        if ping:
            notes.append(
                f"empty-endpoint ceiling {_n(ping['rps'])}/s ({zq['rps'] / ping['rps']:.2f}x)"
            )
        if floor:
            raw = 1e6 / floor
            notes.append(f"raw FAISS in process, 1 thread {_n(raw)}/s ({zq['rps'] / raw:.2f}x)")
        notes.append(f"p99 {zq['p99_ms']:.0f} ms")
        rows.append(
            Row(
                f"Search QPS over HTTP, 1 vector, {conns} clients (ef {ef})",
                f"{_n(zq['rps'])} QPS",
                f"bare query (hypercorn + raw FAISS) {_n(bq['rps'])} QPS",
                ratio,
                "; ".join(notes),
                zq["load_1m"],
                when,
                src,
                zq["rps"],
                bq["rps"],
            )
        )
    b = doc["batch"]
    zb, rb = b["zoro_vectors_per_s"], b["reference"]["vectors_per_s"]
    rows.append(
        Row(
            f"Batch search over HTTP, 100 vectors per request, {b['zoro']['conns']} clients",
            f"{_n(zb)} vectors/s",
            f"raw FAISS batch in process {_n(rb)} vectors/s",
            zb / rb,
            f"raw FAISS on {b['reference']['omp_threads']} OpenMP thread(s), the better of 1 and 2",
            b["zoro"]["load_1m"],
            when,
            src,
            zb,
            rb,
        )
    )
    rec = doc["recall"]
    rows.append(
        Row(
            f"Recall@10 at the default ef ({doc['ann']['hnsw_ef_search']})",
            f"{rec['zoro']:.3f}",
            f"raw FAISS HNSW {rec['reference']:.3f}",
            rec["zoro"] / rec["reference"],
            f"{rec['queries']} queries against exact search",
            None,
            when,
            src,
            rec["zoro"],
            rec["reference"],
        )
    )
    return rows


def client_rows(doc: dict[str, Any], when: str) -> list[Row]:
    """bench/client.py writes {upload, ...}; the recorded file keeps one part per engine."""
    parts = [(k, v) for k, v in doc.items() if k.startswith("upload_") and isinstance(v, dict)]
    if "upload" in doc:
        parts.insert(0, (f"upload_{doc.get('engine', 'hnsw')}", doc))
    rows = []
    for key, part in parts:
        up = part["upload"]
        best, engine = up["best"]["client"], up["engine"]["points_per_s"]
        rows.append(
            Row(
                f"Upload with the Python client, {up['engine']['points']:,} x 128 into "
                f"{key.removeprefix('upload_')}",
                f"{_n(best)} points/s",
                f"in-process engine {_n(engine)} points/s",
                best / engine,
                f"bare httpx loop {_n(up['best']['bare_httpx'])} points/s",
                part.get("load_start"),
                part.get("date", when)[:16],
                "client.json",
                best,
                engine,
            )
        )
    return rows


def _write_row(w: dict[str, Any], when: str) -> Row:
    notes = f"p99 {w['p99_ms']:.0f} ms"
    if "ping_per_s" in w:
        notes = f"ping ceiling {_n(w['ping_per_s'])}/s ({w['x_ping']:.2f}x); {notes}"
    return Row(
        f"1-point writes (PUT wait=true), {w['conns']} conns",
        f"{_n(w['writes_per_s'])} writes/s, {w['writes_per_sync']:.1f} per WAL sync",
        f"raw serial fsync {_n(w['raw_fsync_per_s'])}/s",
        w["x_raw_fsync"],
        notes,
        w["load_1m"],
        when,
        "curve.json",
        w["writes_per_s"],
        w["raw_fsync_per_s"],
    )


def _ef_row(p: dict[str, Any], s: dict[str, Any], when: str) -> Row:
    return Row(
        f"ef={p['ef']}: QPS over HTTP @ recall@10, {s['points']:,} points, {s['conns']} clients",
        f"{_n(p['zoro_qps'])} QPS @ {p['zoro_recall']:.3f}",
        f"bare query {_n(p['bare_qps'])} QPS",
        p["x_bare"],
        f"raw FAISS 1 thread {_n(p['raw_qps'])} QPS @ {p['raw_recall']:.3f} ({p['x_raw']:.2f}x)",
        p["load_1m"],
        when,
        "curve.json",
        p["zoro_qps"],
        p["bare_qps"],
    )


def curve_rows(doc: dict[str, Any], when: str) -> list[Row]:
    rows = [_write_row(w, when) for w in doc.get("writes", [])]
    s = doc.get("search")
    if s:
        rows += [_ef_row(p, s, when) for p in s["curve"]]
    return rows


def restart_rows(doc: dict[str, Any], when: str) -> list[Row]:
    n, d, src = doc["points"], doc["derived"], "restart.json"
    c, k = doc["crash"], doc["clean"]
    cold_read, warm_read = doc["ref_read_cold"], doc["ref_read_warm"]
    fc, fw = doc["ref_faiss_cold"], doc["ref_faiss_warm"]
    empty = doc["empty_start_s"]
    rows = [
        Row(
            f"Clean restart (SIGTERM), {n:,} points, cold cache: /readyz (first query)",
            f"{_s(k['cold']['readyz_s'])} ({_s(k['cold']['query_s'])})",
            f"read the data dir cold {_s(cold_read['seconds'])} "
            f"({cold_read['bytes'] / 2**30:.2f} GiB)",
            k["cold"]["readyz_s"] / cold_read["seconds"],
            f"faiss.read_index cold {_s(fc['seconds'])}; empty server start {_s(empty)}; "
            f"stop took {_s(k['cold_stop_s'])}",
            k["cold_load_1m"],
            when,
            src,
            k["cold"]["readyz_s"],
            cold_read["seconds"],
        ),
        Row(
            f"Restart after kill -9 under writes, {n:,} points: /readyz (first query)",
            f"{_s(c['restart']['readyz_s'])} ({_s(c['restart']['query_s'])}), "
            f"{c['replayed_records']:,} WAL records replayed",
            f"faiss.read_index of the same HNSW, warm {_s(fw['seconds'])}",
            c["restart"]["readyz_s"] / fw["seconds"],
            f"read the data dir warm {_s(warm_read['seconds'])}; empty server start "
            f"{_s(empty)}; all acked points back: {c['acked_points_present']}; "
            f"indexed again after {_s(c['reindex_s'])}",
            c["load_1m"],
            when,
            src,
            c["restart"]["readyz_s"],
            fw["seconds"],
        ),
        Row(
            f"Clean restart (SIGTERM), {n:,} points, warm cache: /readyz (first query)",
            f"{_s(k['warm']['readyz_s'])} ({_s(k['warm']['query_s'])})",
            f"faiss.read_index of the same HNSW, warm {_s(fw['seconds'])}",
            k["warm"]["readyz_s"] / fw["seconds"],
            f"read the data dir warm {_s(warm_read['seconds'])}; stop took {_s(k['warm_stop_s'])}",
            k["warm_load_1m"],
            when,
            src,
            k["warm"]["readyz_s"],
            fw["seconds"],
        ),
        Row(
            f"Memory per point after a restart (server RSS growth / N), {n:,} x 128",
            f"{_n(d['rss_per_point_after_restart'])} B",
            f"raw FAISS HNSWFlat read from the same files {_n(d['faiss_read_rss_per_point'])} B",
            d["rss_per_point_after_restart"] / d["faiss_read_rss_per_point"],
            f"raw vectors {_n(d['raw_vector_bytes_per_point'])} B; HNSWFlat estimate "
            f"{_n(d['faiss_hnsw_estimate_per_point'])} B",
            k["warm_load_1m"],
            when,
            src,
            d["rss_per_point_after_restart"],
            d["faiss_read_rss_per_point"],
        ),
        Row(
            f"Memory per point in the server that built the index, {n:,} x 128",
            f"{_n(d['rss_per_point_indexed'])} B",
            f"raw FAISS HNSWFlat read from the same files {_n(d['faiss_read_rss_per_point'])} B",
            d["rss_per_point_indexed"] / d["faiss_read_rss_per_point"],
            f"{_n(d['rss_per_point_loaded'])} B after the load, before indexing; peak VmHWM "
            f"{doc['rss_indexed']['VmHWM'] / 2**30:.2f} GiB",
            doc.get("load_at_indexed"),
            when,
            src,
            d["rss_per_point_indexed"],
            d["faiss_read_rss_per_point"],
        ),
        Row(
            f"Disk per point (allocated bytes of the data dir / N), {n:,} x 128",
            f"{_n(d['disk_per_point_final'])} B",
            f"raw vectors {_n(d['raw_vector_bytes_per_point'])} B",
            d["disk_per_point_final"] / d["raw_vector_bytes_per_point"],
            f"of which the HNSW graph file {_n(doc['disk_final'].get('ann', 0) / n)} B; "
            f"{_n(d['disk_per_point'])} B before the graph file was written",
            doc.get("load_at_indexed"),
            when,
            src,
            d["disk_per_point_final"],
            d["raw_vector_bytes_per_point"],
        ),
    ]
    return rows


def filtering_rows(doc: dict[str, Any], when: str) -> list[Row]:
    """Issue 7: filtered top-10 query over HTTP with payload indexes, beside unfiltered."""
    n, src = doc["points"], "filtering.json"
    runs = doc["runs"]["indexed"]
    unfiltered = next(r for r in runs if r["case"] == "unfiltered")
    rows = []
    for r in runs:
        if r["case"] == "unfiltered":
            continue
        rows.append(
            Row(
                f"Filtered query, {r['case']}, {n:,} points, payload index (4 connections)",
                f"{_n(r['qps'])} QPS, recall@10 {r['recall']:.3f}, p99 {r['p99_ms']:.1f} ms",
                f"unfiltered {_n(unfiltered['qps'])} QPS (recall {unfiltered['recall']:.3f})",
                r["ratio_to_unfiltered"],
                "ratio: median over rounds of QPS / the unfiltered run before it",
                r["load_1m"],
                when,
                src,
                r["qps"],
                unfiltered["qps"],
            )
        )
    return rows


def stall_rows(doc: dict[str, Any], when: str) -> list[Row]:
    """Issue 11: a heavy collection beside a small one; this tree beside a baseline tree."""
    servers, src = doc["servers"], "stall.json"
    s = servers["summary"]
    this, base = s["this"], s["baseline"]
    label = servers.get("baseline", "baseline")
    load = f"{servers['load_conns']} clients of exact queries over {servers['a_points']:,} x 128"
    rows = []
    for what, key in (
        ("/healthz p99 while a collection serves", "healthz"),
        ("Single upsert (wait=true) p99 on a small collection while another serves", "upsert"),
    ):
        idle, loaded = this[f"idle_{key}_p99_ms"], this[f"loaded_{key}_p99_ms"]
        rows.append(
            Row(
                f"{what} {load}",
                f"{loaded:.1f} ms",
                f"idle, same server and round {idle:.1f} ms",
                loaded / idle,
                f"{label}: {base[f'loaded_{key}_p99_ms']:.1f} ms loaded, "
                f"{base[f'idle_{key}_p99_ms']:.1f} ms idle; p50 {this[f'loaded_{key}_p50_ms']:.1f}"
                f" ms (idle {this[f'idle_{key}_p50_ms']:.1f})",
                this["load_1m"],
                when,
                src,
                loaded,
                idle,
            )
        )
    rows.append(
        Row(
            f"Cheap HNSW query QPS, {servers['hot_conns']} clients, {servers['h_points']:,} x 128, "
            "default ef",
            f"{_n(this['hot_qps'])} QPS",
            f"{label} server, same run {_n(base['hot_qps'])} QPS",
            s["hot_qps_x_baseline"],
            f"heavy exact load served at {this['heavy_qps']:.0f} QPS ({label}: "
            f"{base['heavy_qps']:.0f})",
            this["load_1m"],
            when,
            src,
            this["hot_qps"],
            base["hot_qps"],
        )
    )
    return rows


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def pgvector_rows(doc: dict[str, Any], when: str) -> list[Row]:
    """Issue 15: PostgreSQL + pgvector started by the same run (bench/pgvector.py)."""
    src, rows = "pgvector.json", []
    b = doc.get("bulk")
    if b:
        z, p = b["zoro"], b["pgvector"]
        rows.append(
            Row(
                f"Bulk load until fully indexed, {b['points']:,} x 128 (HNSW m=16, efC=100)",
                f"{_n(z['points_per_s'])} points/s (client upload {_s(z['upload_s'])}, indexed at "
                f"{_s(z['total_s'])})",
                f"pgvector COPY BINARY + CREATE INDEX {_n(p['points_per_s'])} points/s",
                b["ratio"],
                f"COPY {_s(p['copy_s'])}, CREATE INDEX {_s(p['index_s'])}",
                z["load_1m"],
                when,
                src,
                z["points_per_s"],
                p["points_per_s"],
            )
        )
        if "memory" in b:
            m, resident = b["memory"], p["memory"]["resident"]
            rows.append(
                Row(
                    f"Memory after load + index, {b['points']:,} x 128 (lower is better)",
                    f"server RSS {_mib(z['rss_bytes'])}",
                    f"PostgreSQL resident {_mib(resident)} (private PSS + shared memory)",
                    m["ratio"],
                    f"relation + indexes {_mib(p['total_relation_bytes'])} "
                    f"({m['ratio_relation']:.2f}x); growth per point "
                    f"{_n(m['zoro_rss_growth_per_point'])} B vs "
                    f"{_n(m['pg_resident_growth_per_point'])} B",
                    m["load_1m"],
                    when,
                    src,
                    z["rss_bytes"],
                    resident,
                )
            )
    s = doc.get("search") or {"runs": []}
    for x in s["runs"]:
        z, p, q = x["zoro"], x["pgvector"], x["pgvector_subquery"]
        rows.append(
            Row(
                f"Search at equal recall@10 vs pgvector, {s['points']:,} x 128, {s['conns']} conns "
                f"(ef {x['zoro_ef']}; ef_search {x['pg_ef_search']})",
                f"{_n(z['per_s'])} QPS @ {x['zoro_recall']:.3f}, p99 {z['p99_ms']:.0f} ms",
                f"pgvector (pgbench) {_n(p['per_s'])} QPS @ {x['pg_recall']:.3f}, p99 "
                f"{p['p99_ms']:.0f} ms",
                x["ratio"],
                f"one-statement variant {_n(q['per_s'])} QPS ({x['ratio_subquery']:.2f}x); server "
                f"CPU per query {_n(z['server_cpu_us'])} vs {_n(p['server_cpu_us'])} us",
                z["load_1m"],
                when,
                src,
                z["per_s"],
                p["per_s"],
            )
        )
    t = s.get("pg_at_target")
    if t:
        best = max(s["zoro_recall_by_ef"].items(), key=lambda kv: kv[1])
        rows.append(
            Row(
                f"Search at recall@10 >= {s['target_recall']} vs pgvector, {s['points']:,} x 128, "
                f"{s['conns']} conns",
                f"not reached: best {best[1]:.3f} (ef {best[0]})",
                f"pgvector{'' if t['pg_recall'] >= s['target_recall'] else ', not reached either:'}"
                f" {_n(t['per_s'])} QPS @ {t['pg_recall']:.3f} (ef_search {t['pg_ef_search']}), "
                f"p99 {t['p99_ms']:.0f} ms",
                None,
                t.get("note", ""),
                t["load_1m"],
                t.get("date", when),
                src,
                None,
                t["per_s"],
            )
        )
    for w in doc.get("writes", []):
        z, p, q = w["zoro"], w["pgvector_hnsw"], w["pgvector_plain"]
        bare, ping = w["bare_durable"], w["ping"]
        rows.append(
            Row(
                f"Durable 1-point writes vs pgvector INSERT (fsync + synchronous_commit), "
                f"{w['conns']} conns",
                f"{_n(z['per_s'])} writes/s, {_n(z['server_cpu_us'])} us CPU each, p99 "
                f"{z['p99_ms']:.0f} ms",
                f"pgvector, HNSW-indexed table {_n(p['per_s'])}/s, p99 {p['p99_ms']:.0f} ms",
                w["ratio"],
                f"no index {_n(q['per_s'])}/s ({w['ratio_plain']:.2f}x); bare durable "
                f"{_n(bare['per_s'])}/s ({w['ratio_bare']:.2f}x), {_n(bare['server_cpu_us'])} us "
                f"CPU each; ping {_n(ping['server_cpu_us'])} us CPU each",
                z["load_1m"],
                when,
                src,
                z["per_s"],
                p["per_s"],
            )
        )
    return rows


READERS = (
    ("http", http_rows),
    ("curve", curve_rows),
    ("restart", restart_rows),
    ("client", client_rows),
    ("filtering", filtering_rows),
    ("stall", stall_rows),
    ("pgvector", pgvector_rows),
)


def rows_of(results: Path) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    missing: list[str] = []
    for name, reader in READERS:
        found = _read(results, name)
        if found is None:
            missing.append(f"{name}.json")
            continue
        doc, path = found
        try:
            rows += reader(doc, _when(doc, path))
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            missing.append(f"{name}.json (unreadable: {type(exc).__name__} {exc})")
    return rows, missing


# ----------------------------------------------------------------------------- output


def markdown(rows: list[Row], missing: list[str], machine: dict[str, Any], quick: bool) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items() if v)
    lines = [
        BEGIN,
        "<!-- generated by bench/run_all.py (bench/summary.py): edits here are overwritten -->",
        "",
        f"**Suite summary** ({'quick run' if quick else 'full runs'}; table written "
        f"{machine.get('date', '?')}). Machine: {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gib', '?')} GiB, Python {machine.get('python', '?')}; {versions}. "
        "Each ratio is Zoro over the reference measured in the same run of the same script; "
        "`load` is the 1-minute load average when that figure was taken (2 cores, shared).",
        "",
        "| figure | Zoro | same-run reference | ratio | also | load | run |",
        "| --- | --- | --- | ---: | --- | ---: | --- |",
    ]
    for r in rows:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        load = f"{r.load:.1f}" if r.load is not None else "-"
        lines.append(
            f"| {r.figure} | {r.zoro} | {r.reference} | {ratio} | {r.notes} | {load} | {r.when} |"
        )
    lines.append("")
    if missing:
        lines.append(f"Not in this table (no results): {', '.join(missing)}.")
        lines.append("")
    lines.append(
        "Plots: [recall / QPS over hnsw_ef](results/recall_qps.png), "
        "[writes against concurrency](results/write_concurrency.png)."
    )
    lines.append(END)
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> bool:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        print(f"summary: no {BEGIN} / {END} markers in {readme.name}; left it alone")
        return False
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    readme.write_text(head + table + tail)
    return True


def write(
    results: Path, machine: dict[str, Any], *, quick: bool, readme: Path | None
) -> dict[str, Any]:
    """summary.json (and summary.md) in `results`; the README table too if `readme` is given."""
    rows, missing = rows_of(results)
    table = markdown(rows, missing, machine, quick)
    summary = {
        "machine": machine,
        "quick": quick,
        "rows": [asdict(r) for r in rows],
        "missing": missing,
    }
    (results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (results / "summary.md").write_text(table + "\n")
    if readme is not None and update_readme(readme, table):
        print(f"summary: table of {len(rows)} rows written into {readme.name}")
    print(f"summary: {len(rows)} rows in {os.path.relpath(results / 'summary.json')}")
    return summary


def main() -> None:
    from bench.run_all import machine

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, help="also rewrite the table in this README")
    parser.add_argument("--quick", action="store_true", help="label the table as a quick run")
    args = parser.parse_args()
    write(args.results, machine(), quick=args.quick, readme=args.readme)


if __name__ == "__main__":
    main()
