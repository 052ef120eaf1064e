"""Load test runner: real server, seeded collection, locust for a bounded time, then verification.

    .venv/bin/python -m loadtest.run [--users N] [--seconds S] [--points P] [--quick]
                                     [--no-restart] [--keep]

1. Starts `zoro serve` on a fresh data directory (zoro.testing.ServerProcess).
2. Seeds collection "c" (P x 128, Cosine; payload {"seed": id, "group": id % 10}) with
   PUT ?wait=true batches of 1,000, waits for /readyz and for status "green".
3. Records the server's VmRSS, runs `locust --headless` (loadtest/locustfile.py) for S seconds,
   records VmRSS again.
4. Verifies the writers' journals: the last acked op on each id defines its expected state; an
   upserted id must come back with the same payload and the same vector after Cosine
   normalisation (abs tol 1e-6), a deleted id must be absent. A sample of seed points is checked
   too. Unless --no-restart, the server is then SIGKILLed, restarted, and verified again (acked
   `wait=true` writes must survive a crash).
5. Writes loadtest/results/load-<stamp>.{md,json} and prints the Markdown. Exits 1 if locust saw
   any failure or task exception, or verification failed (the work directory is then kept).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import orjson

from zoro.testing import ServerProcess

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
COLLECTION = "c"
SEED = 1234


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed_vectors(start: int, n: int, dim: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng([SEED, 0, start])
    return rng.standard_normal((n, dim), dtype=np.float32)


def normalise(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(v, axis=-1, keepdims=True).astype(np.float32)
    out: npt.NDArray[np.float32] = (v / np.where(norms == 0, 1, norms)).astype(np.float32)
    return out


def seed(client: httpx.Client, points: int, dim: int) -> float:
    started = time.monotonic()
    r = client.put(
        f"/collections/{COLLECTION}", json={"vectors": {"size": dim, "distance": "Cosine"}}
    )
    r.raise_for_status()
    for start in range(0, points, 1000):
        n = min(1000, points - start)
        vecs = seed_vectors(start, n, dim).tolist()
        body = {
            "points": [
                {
                    "id": start + k,
                    "vector": vecs[k],
                    "payload": {"seed": start + k, "group": (start + k) % 10},
                }
                for k in range(n)
            ]
        }
        r = client.put(
            f"/collections/{COLLECTION}/points?wait=true",
            content=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        r.raise_for_status()
    return time.monotonic() - started


def wait_green(client: httpx.Client, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        r = client.get(f"/collections/{COLLECTION}")
        if r.status_code == 200 and r.json()["result"]["status"] == "green":
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"collection not green within {timeout_s} s")


@dataclass
class Verification:
    ids_checked: int = 0
    expected_present: int = 0
    expected_absent: int = 0
    upserts_acked: int = 0
    deletes_acked: int = 0
    unknown_ops: int = 0
    ambiguous_ids: int = 0
    seed_checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def load_journals(
    journal_dir: Path,
) -> tuple[dict[int, dict[str, Any] | None], set[int], int, int, int]:
    """Expected final state per id (None = deleted), ids with an unknown op after their last ack."""
    state: dict[int, dict[str, Any] | None] = {}
    ambiguous: set[int] = set()
    upserts = deletes = unknown = 0
    for path in sorted(journal_dir.glob("journal-*.jsonl")):
        records = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
        records.sort(key=lambda r: r["seq"])  # already in ack order; seq makes it explicit
        for rec in records:
            if rec["op"] == "upsert":
                upserts += 1
                state[rec["id"]] = rec
                ambiguous.discard(rec["id"])
            elif rec["op"] == "delete":
                deletes += 1
                state[rec["id"]] = None
                ambiguous.discard(rec["id"])
            else:
                unknown += 1
                ambiguous.update(rec["ids"])
    return state, ambiguous, upserts, deletes, unknown


def verify(client: httpx.Client, journal_dir: Path, points: int, dim: int) -> Verification:
    result = Verification()
    state, ambiguous, result.upserts_acked, result.deletes_acked, result.unknown_ops = (
        load_journals(journal_dir)
    )
    result.ambiguous_ids = len(ambiguous)
    if ambiguous:
        result.failures.append(f"{len(ambiguous)} ids had a failed request after their last ack")
    ids = sorted(i for i in state if i not in ambiguous)
    for k in range(0, len(ids), 1000):
        chunk = ids[k : k + 1000]
        r = client.post(
            f"/collections/{COLLECTION}/points",
            json={"ids": chunk, "with_payload": True, "with_vector": True},
            timeout=60,
        )
        r.raise_for_status()
        got = {p["id"]: p for p in r.json()["result"]}
        for i in chunk:
            result.ids_checked += 1
            want = state[i]
            if want is None:
                result.expected_absent += 1
                if i in got:
                    result.failures.append(f"id {i}: deleted (acked) but still present")
                continue
            result.expected_present += 1
            if i not in got:
                result.failures.append(f"id {i}: upserted (acked, seq {want['seq']}) but missing")
                continue
            if got[i].get("payload") != want["payload"]:
                result.failures.append(
                    f"id {i}: payload {got[i].get('payload')} != {want['payload']}"
                )
            sent = normalise(np.asarray(want["vector"], dtype=np.float32))
            stored = normalise(np.asarray(got[i].get("vector") or [], dtype=np.float32))
            if stored.shape != sent.shape or not np.allclose(stored, sent, rtol=0, atol=1e-6):
                diff = (
                    np.abs(stored - sent).max()
                    if stored.shape == sent.shape
                    else f"shape {stored.shape}"
                )
                result.failures.append(f"id {i}: vector differs (max abs diff {diff})")
    # Seed data must be untouched: a sample of 2,000 seed points, vectors and payloads.
    rng = np.random.default_rng([SEED, 9])
    chunks = max(1, points // 1000)
    starts = sorted(int(s) for s in rng.choice(chunks, size=min(2, chunks), replace=False))
    for start in starts:
        n = min(1000, points - start * 1000)
        first = start * 1000
        r = client.post(
            f"/collections/{COLLECTION}/points",
            json={"ids": list(range(first, first + n)), "with_payload": True, "with_vector": True},
            timeout=60,
        )
        r.raise_for_status()
        got = {p["id"]: p for p in r.json()["result"]}
        want_vecs = normalise(seed_vectors(first, n, dim))
        for k in range(n):
            result.seed_checked += 1
            p = got.get(first + k)
            if p is None:
                result.failures.append(f"seed id {first + k} missing")
            elif p.get("payload") != {"seed": first + k, "group": (first + k) % 10}:
                result.failures.append(f"seed id {first + k}: payload {p.get('payload')}")
            elif not np.allclose(
                normalise(np.asarray(p["vector"], dtype=np.float32)),
                want_vecs[k],
                rtol=0,
                atol=1e-6,
            ):
                result.failures.append(f"seed id {first + k}: vector differs")
    return result


def read_stats(prefix: Path) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows: list[dict[str, Any]] = [
            {
                "name": row["Name"],
                "type": row["Type"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
                "max_ms": float(row["Max Response Time"] or 0),
            }
            for row in csv.DictReader(f)
        ]
    failures: list[dict[str, str]] = []
    failures_path = Path(f"{prefix}_failures.csv")
    if failures_path.exists():
        with failures_path.open(newline="") as f:
            failures = list(csv.DictReader(f))
    exceptions_path = Path(f"{prefix}_exceptions.csv")
    if exceptions_path.exists():  # exceptions raised inside tasks (client-side bugs)
        with exceptions_path.open(newline="") as f:
            failures += [
                {
                    "Method": "exception",
                    "Name": row.get("Nodes", ""),
                    "Error": row.get("Message", ""),
                    "Occurrences": row.get("Count", ""),
                }
                for row in csv.DictReader(f)
            ]
    return rows, failures


def markdown(report: dict[str, Any]) -> str:
    cfg = report["config"]
    lines = [
        f"Load run {report['started']} - {cfg['users']} users, {cfg['seconds']} s, "
        f"{cfg['points']:,} x {cfg['dim']} seed points (Cosine), weights "
        f"reader/writer/admin {cfg['weights']}; load average {report['loadavg_before']} before, "
        f"{report['loadavg_after']} after; seeding {report['seed_s']:.1f} s, green after "
        f"{report['green_s']:.1f} s more.",
        "",
        f"{'endpoint':28} {'reqs':>8} {'fails':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8}",
    ]
    lines += [
        f"{s['name'][:28]:28} {s['requests']:>8} {s['failures']:>6} {s['rps']:>8.1f} "
        f"{s['p50_ms']:>8.0f} {s['p95_ms']:>8.0f} {s['p99_ms']:>8.0f} {s['max_ms']:>8.0f}"
        for s in report["stats"]
    ]
    lines += ["", f"errors: {report['errors']} (locust exit code {report['locust_exit']})"]
    lines += [
        f"  {f.get('Method')} {f.get('Name')}: {f.get('Error')} x{f.get('Occurrences')}"
        for f in report["failures"]
    ]
    lines.append(
        f"server RSS: {report['rss_before_kib'] / 1024:.0f} MiB before load, "
        f"{report['rss_after_kib'] / 1024:.0f} MiB after"
    )
    lines.append(
        f"CPU during the load: server {report['server_cpu_s']} s, locust "
        f"{report['locust_cpu_s']} s (of {2 * cfg['seconds']} core-seconds)"
    )
    if "restart_ready_s" in report:
        lines.append(f"restart after SIGKILL: ready in {report['restart_ready_s']:.1f} s")
    for label, v in report["verification"].items():
        lines.append(
            f"verification ({label}): {v['ids_checked']} writer ids checked "
            f"({v['expected_present']} present, {v['expected_absent']} deleted) from "
            f"{v['upserts_acked']} acked upserts and {v['deletes_acked']} acked deletes; "
            f"{v['seed_checked']} seed points; unknown ops {v['unknown_ops']}; "
            f"failures {len(v['failures'])}"
            + ("" if not v["failures"] else ": " + "; ".join(v["failures"][:10]))
        )
    lines.append(f"verdict: {'PASS' if report['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--points", type=int)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-restart", action="store_true")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the work directory (data, journals, locust CSV); it is always "
        "kept when the run fails",
    )
    args = parser.parse_args(argv)
    users = args.users or (8 if args.quick else 32)
    seconds = args.seconds or (20 if args.quick else 60)
    points = args.points or (20_000 if args.quick else 200_000)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = Path(tempfile.mkdtemp(prefix="zoro-load-"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    journal_dir = work / "journal"
    prefix = work / "locust"
    env = {
        "ZORO_COLLECTION": COLLECTION,
        "ZORO_DIM": str(args.dim),
        "ZORO_SEED_POINTS": str(points),
        "ZORO_SEED": str(SEED),
        "ZORO_JOURNAL_DIR": str(journal_dir),
    }
    weights = "/".join(
        os.environ.get(k, d)
        for k, d in (("ZORO_W_READER", "8"), ("ZORO_W_WRITER", "3"), ("ZORO_W_ADMIN", "1"))
    )
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "config": {
            "users": users,
            "seconds": seconds,
            "points": points,
            "dim": args.dim,
            "weights": weights,
            "env": {k: v for k, v in os.environ.items() if k.startswith("ZORO_")},
        },
        "loadavg_before": round(os.getloadavg()[0], 2),
    }
    server = ServerProcess(work / "data", log_path=work / "server.log")
    try:
        server.start()
        server.wait_ready()
        assert server.process is not None
        with httpx.Client(base_url=server.url, timeout=30) as client:
            print(f"seeding {points} x {args.dim} ...", flush=True)
            report["seed_s"] = seed(client, points, args.dim)
            report["green_s"] = wait_green(client, 900)
            report["rss_before_kib"] = rss_kib(server.process.pid)
            print(f"running locust: {users} users, {seconds} s ...", flush=True)
            command = [
                str(Path(sys.executable).parent / "locust"),
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(users),
                "--run-time",
                f"{seconds}s",
                "--stop-timeout",
                "30",
                "--host",
                server.url,
                "--csv",
                str(prefix),
                "--only-summary",
            ]
            server_cpu = cpu_s(server.process.pid)
            client_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            with (work / "locust.log").open("wb") as log:
                proc = subprocess.run(
                    command,
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=seconds + 120,
                    check=False,
                )
            report["locust_exit"] = proc.returncode
            report["server_cpu_s"] = round(cpu_s(server.process.pid) - server_cpu, 1)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            report["locust_cpu_s"] = round(
                after.ru_utime + after.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime, 1
            )
            report["rss_after_kib"] = rss_kib(server.process.pid)
            report["loadavg_after"] = round(os.getloadavg()[0], 2)
            report["stats"], report["failures"] = read_stats(prefix)
            report["errors"] = sum(
                s["failures"] for s in report["stats"] if s["name"] != "Aggregated"
            ) + sum(
                int(f["Occurrences"] or 0) for f in report["failures"] if f["Method"] == "exception"
            )
            print("verifying ...", flush=True)
            checks = {"live": verify(client, journal_dir, points, args.dim)}
        if not args.no_restart:
            server.kill()
            started = time.monotonic()
            server.start(timeout_s=300)
            server.wait_ready(timeout_s=600)
            report["restart_ready_s"] = time.monotonic() - started
            with httpx.Client(base_url=server.url, timeout=30) as client:
                checks["after SIGKILL + restart"] = verify(client, journal_dir, points, args.dim)
        server.stop()
        report["verification"] = {k: asdict(v) for k, v in checks.items()}
        # locust exits 1 on any failure, including one after its last CSV flush.
        report["passed"] = (
            report["errors"] == 0
            and report["locust_exit"] == 0
            and all(v.ok for v in checks.values())
        )
    except BaseException:
        print(f"server log tail:\n{server.log()}", file=sys.stderr)
        raise
    finally:
        server.kill()
        if not args.keep:
            shutil.rmtree(work / "data", ignore_errors=True)  # journals stay until it passes
    for name in ("locust.log", "server.log"):
        if (work / name).exists():
            shutil.copy(work / name, RESULTS / f"load-{stamp}.{name}")
    text = markdown(report)
    (RESULTS / f"load-{stamp}.md").write_text(text + "\n")
    (RESULTS / f"load-{stamp}.json").write_text(json.dumps(report, indent=1) + "\n")
    print(text)
    print(f"\nresults: {RESULTS}/load-{stamp}.{{md,json}}")
    if report["passed"] and not args.keep:
        shutil.rmtree(work, ignore_errors=True)  # journals are large (about 2.5 KB per point)
    else:
        print(f"work directory (journals, locust CSV, data with --keep): {work}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
