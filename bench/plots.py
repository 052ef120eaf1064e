"""Draw the bench's two curves from bench/results/curve.json (written by bench/curve.py).

    .venv/bin/python -m bench.plots [--results bench/results]

- recall_qps.png: QPS against recall@10 over hnsw_ef 16..256, for Zoro over HTTP, the bare query
  reference over HTTP (hypercorn + raw FAISS, same wrk load) and raw FAISS in process (one
  thread, no HTTP), each point labelled with its ef.
- write_concurrency.png: acknowledged single-point writes/s against connections, beside the raw
  fsync rate and the ping ceiling measured in the same run, and writes per WAL sync.

Needs matplotlib (the `bench` extra: pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _stamp(curve: dict[str, Any]) -> str:
    m = curve.get("machine", {})
    load = m.get("load_at_start") or [0.0]
    quick = " (quick)" if curve.get("quick") else ""
    return f"{m.get('date', '?')}, {m.get('cores', '?')} cores, load {load[0]:.1f}{quick}"


def recall_qps(curve: dict[str, Any], out: Path) -> Path:
    plt = _pyplot()
    s = curve["search"]
    points = s["curve"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = (
        ("Zoro over HTTP", "zoro_recall", "zoro_qps", "o-"),
        ("bare query over HTTP (hypercorn + raw FAISS)", "raw_recall", "bare_qps", "s--"),
        ("raw FAISS in process, 1 thread", "raw_recall", "raw_qps", "^:"),
    )
    for label, rec, qps, style in series:
        xs = [p[rec] for p in points]
        ys = [p[qps] for p in points]
        ax.plot(xs, ys, style, label=label)
        if qps == "zoro_qps":
            for i, (p, x, y) in enumerate(zip(points, xs, ys, strict=True)):
                offset = (4, 6) if i % 2 == 0 else (4, -12)  # alternate: high-ef points crowd
                ax.annotate(
                    f"ef={p['ef']}", (x, y), textcoords="offset points", xytext=offset, fontsize=8
                )
    ax.set_yscale("log")
    ax.set_xlabel("recall@10 against exact search")
    ax.set_ylabel("queries per second (log)")
    ax.set_title(
        f"Recall / QPS over hnsw_ef: {s['points']:,} x 128, Euclid, {s['conns']} connections",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.text(0.99, 0.01, _stamp(curve), ha="right", fontsize=7, color="grey")
    fig.tight_layout()
    path = out / "recall_qps.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_concurrency(curve: dict[str, Any], out: Path) -> Path:
    plt = _pyplot()
    levels = curve["writes"]
    conns = [w["conns"] for w in levels]
    fig, (ax, per_sync) = plt.subplots(
        2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]}
    )
    ax.plot(conns, [w["writes_per_s"] for w in levels], "o-", label="Zoro: acknowledged writes/s")
    ax.plot(conns, [w["raw_fsync_per_s"] for w in levels], "s--", label="raw serial fsync/s")
    if all("ping_per_s" in w for w in levels):
        ax.plot(conns, [w["ping_per_s"] for w in levels], "^:", label="ping ceiling req/s (HTTP)")
    ax.set_yscale("log")
    ax.set_ylabel("per second (log)")
    ax.set_title("Single-point writes (PUT ?wait=true) against concurrent connections", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    per_sync.plot(conns, [w["writes_per_sync"] for w in levels], "o-", color="tab:green")
    per_sync.set_ylabel("writes per\nWAL sync")
    per_sync.set_xlabel("concurrent connections (log)")
    per_sync.set_xscale("log", base=2)
    per_sync.set_xticks(conns, [str(c) for c in conns])
    per_sync.grid(True, alpha=0.3)
    fig.text(0.99, 0.01, _stamp(curve), ha="right", fontsize=7, color="grey")
    fig.tight_layout()
    path = out / "write_concurrency.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def draw(results: Path) -> list[Path]:
    """Both plots from results/curve.json (each only if its section is there)."""
    source = results / "curve.json"
    if not source.exists():
        print(f"plots: no {source.name} in {results}, nothing drawn")
        return []
    curve = json.loads(source.read_text())
    drawn = []
    if "search" in curve:
        drawn.append(recall_qps(curve, results))
    if "writes" in curve:
        drawn.append(write_concurrency(curve, results))
    for path in drawn:
        print(f"plots: wrote {path.name}")
    return drawn


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="where curve.json is")
    args = parser.parse_args()
    try:
        draw(args.results)
    except ImportError as exc:
        print(f"plots: {exc}; install the bench extra: pip install -e '.[bench]'")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
