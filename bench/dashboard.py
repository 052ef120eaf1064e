"""The web dashboard's figures (issue 16): first paint with 10 collections, paging through
1,000,000 points one page at a time, and what its polling costs the server's CPU.

    PYTHONPATH=. .venv/bin/python -m bench.dashboard [--points N] [--cpu-seconds S] [--rounds R]
        [--load-qps Q] [--quick]
        [--json bench/results/dashboard.json]

A real server (one process) holds 10 collections of 1,000 x 16-d points with payloads, and
one of N (1,000,000) x 4-d points on the flat engine (uploaded with the binary body; no
graph to build). Headless Chromium (Debian's, through chromedriver) opens it:

- first paint: a fresh browser profile opens /dashboard/#/collections, 5 times; the browser's
  own navigation and paint timing (first-contentful-paint) and a mark the page sets once the
  collections table is drawn (every collection's info fetched). The first load is cold (no
  cache), the others revalidate (304). Goal: under 1 s.
- paging: the points browser on the big collection, "next" clicked 10 times; every request
  the page made is read from the browser's resource timing: one scroll request per page
  shown, and the bytes of each. Goal: never more than one page loaded.
- CPU: the server's user + system time (/proc, its process tree). First the cost of one
  round of each page's polling, sent 200 times back to back (Health: GET /metrics every 3 s,
  GET /issues and /errors every 15 s; Collections: GET /collections and each collection's
  info every 10 s), as a share of one core at the page's period. Then windows of S seconds
  (30) with one browser on about:blank, on Health and on Collections, R rounds (3) in a
  rotated order, medians; once idle and once beside a steady 50 searches/s. Goal: the
  dashboard adds under 2% to the server's CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import trio

from bench.procfs import tree_cpu_s
from tests.dashboard import browser
from zoro.client import AsyncZoroClient
from zoro.testing import ServerProcess

RESULTS = Path(__file__).parent / "results"
SMALL = 10  # collections on the first page
SMALL_POINTS = 1_000
PAGES = 10  # "next" clicks in the points browser
WAIT_S = 60.0


def load() -> float:
    return round(os.getloadavg()[0], 2)


async def fill(url: str, points: int) -> None:
    rng = np.random.default_rng(7)
    async with AsyncZoroClient(url, timeout=600.0) as client:
        for i in range(SMALL):
            name = f"c{i:02d}"
            await client.create_collection(name, 16, "Cosine")
            vectors = rng.standard_normal((SMALL_POINTS, 16), dtype=np.float32)
            payloads = [{"group": f"g{j % 5}", "n": j} for j in range(SMALL_POINTS)]
            await client.upload(name, range(SMALL_POINTS), vectors, payloads, parallel=2)
        await client.create_collection("big", 4, "Euclid", engine="flat")
        big = rng.standard_normal((points, 4), dtype=np.float32)
        await client.upload("big", range(points), big, batch_size=10_000, parallel=4)
        assert await client.count("big") == points


def wait_for(driver: Any, script: str, what: str) -> Any:
    """Poll `script` (a JS expression) until it is truthy; bounded by WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(what)


def first_paint(url: str, found: tuple[str, str], profile: Path) -> dict[str, Any]:
    driver = browser.start(*found, profile=profile)
    runs = []
    try:
        for _ in range(5):
            driver.get("about:blank")
            driver.get(f"{url}/dashboard/#/collections")
            drawn = wait_for(
                driver,
                "performance.getEntriesByName('zoro:collections-rendered')[0]?.startTime",
                "collections table",
            )
            timing = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                "return {response_end: n.responseEnd,"
                " dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
                " first_contentful_paint: p ? p.startTime : null,"
                " rows: document.querySelectorAll('#collections-table tbody tr').length};"
            )
            runs.append({**{k: _ms(v) for k, v in timing.items()}, "table_drawn": _ms(drawn)})
    finally:
        driver.quit()
    assert all(r["rows"] == SMALL + 1 for r in runs), runs
    warm = runs[1:]
    return {
        "cold": runs[0],
        "warm_median": {k: statistics.median(r[k] for r in warm) for k in runs[0] if k != "rows"},
        "runs": runs,
    }


def _ms(value: Any) -> Any:
    return round(float(value), 1) if isinstance(value, int | float) else value


def paging(url: str, found: tuple[str, str], profile: Path) -> dict[str, Any]:
    driver = browser.start(*found, profile=profile)
    try:
        started = time.perf_counter()
        driver.get(f"{url}/dashboard/#/points?c=big")
        wait_for(driver, "document.body.dataset.pagesLoaded === '1'", "first page")
        first_ms = (time.perf_counter() - started) * 1000
        wait_for(
            driver,
            "/points$/.test(document.querySelector('#points-count')?.textContent ?? '')",
            "count",
        )
        per_page = []
        for page in range(2, PAGES + 2):
            t = time.perf_counter()
            driver.execute_script("document.querySelector('#next-page').click()")
            wait_for(driver, f"document.body.dataset.pagesLoaded === '{page}'", f"page {page}")
            per_page.append((time.perf_counter() - t) * 1000)
        entries = driver.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter((e) => e.name.includes('/collections/big/'))"
            ".map((e) => ({url: e.name, bytes: e.transferSize, body: e.encodedBodySize}));"
        )
        shown = driver.execute_script("return document.querySelectorAll('#points-rows tr').length")
        count_text = driver.execute_script(
            "return document.querySelector('#points-count').textContent"
        )
    finally:
        driver.quit()
    scrolls = [e for e in entries if e["url"].endswith("/points/scroll")]
    return {
        "first_page_ms": round(first_ms, 1),
        "next_page_ms_median": round(statistics.median(per_page), 1),
        "next_page_ms_max": round(max(per_page), 1),
        "pages_shown": PAGES + 1,
        "scroll_requests": len(scrolls),
        "scroll_body_bytes_max": max(e["body"] for e in scrolls),
        "requests_to_the_collection": len(entries),
        "rows_on_page": shown,
        "count_shown": count_text,
    }


def poll_cost_ms(url: str, pid: int, paths: list[str], rounds: int = 200) -> float:
    """The server's CPU milliseconds for one round of a page's polling requests, sent back to
    back `rounds` times (precise where a window of a few polls drowns in the idle noise)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        for path in paths:  # warm
            assert http.get(path).status_code == 200, path
        before = tree_cpu_s(pid)
        for _ in range(rounds):
            for path in paths:
                http.get(path)
        return (tree_cpu_s(pid) - before) / rounds * 1000


class SearchLoad:
    """A steady load beside the windows: `qps` single searches per second on one collection,
    paced (not flat out), from a thread."""

    def __init__(self, url: str, qps: float) -> None:
        self.url, self.qps = url, qps
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = np.random.default_rng(11)
        with httpx.Client(base_url=self.url, timeout=30) as http:
            next_at = time.monotonic()
            while not self.stop.is_set():
                body = {"query": rng.standard_normal(16).tolist(), "limit": 10}
                http.post("/collections/c00/points/query", json=body)
                self.sent += 1
                next_at += 1 / self.qps
                self.stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> SearchLoad:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


STATES = ("none", "health", "collections")


def windows(
    url: str, pid: int, found: tuple[str, str], seconds: float, rounds: int, root: Path, tag: str
) -> dict[str, Any]:
    """Server CPU (% of one core) in windows with the browser on about:blank (none), on the
    Health page and on the Collections page: `rounds` rounds, the order rotated each round so
    that a drift of the machine falls on every state alike; the median of each state."""

    def window() -> float:
        before = tree_cpu_s(pid)
        time.sleep(seconds)
        return (tree_cpu_s(pid) - before) / seconds * 100

    out: dict[str, Any] = {"load_1m_before": load(), "rounds": rounds}
    seen: dict[str, list[float]] = {state: [] for state in STATES}
    # one browser throughout: its own cost on the machine's two cores is the same in every
    # state, and about:blank polls nothing
    driver = browser.start(*found, profile=root / f"profile-{tag}")
    try:
        for r in range(rounds):
            for state in STATES[r % 3 :] + STATES[: r % 3]:
                target = "about:blank" if state == "none" else f"{url}/dashboard/#/{state}"
                driver.get(target)
                time.sleep(2)  # the first load is paint, not polling
                seen[state].append(round(window(), 3))
    finally:
        driver.quit()
    out["windows_pct"] = seen
    median = {state: statistics.median(values) for state, values in seen.items()}
    out["median_pct"] = {state: round(v, 3) for state, v in median.items()}
    for page in ("health", "collections"):
        added = median[page] - median["none"]
        out[f"added_pct_{page}"] = round(added, 3)
        out[f"added_relative_{page}"] = round(added / median["none"], 4) if median["none"] else None
    out["load_1m_after"] = load()
    return out


def cpu(
    url: str,
    pid: int,
    found: tuple[str, str],
    seconds: float,
    rounds: int,
    qps: float,
    root: Path,
) -> dict[str, Any]:
    names = [f"c{i:02d}" for i in range(SMALL)] + ["big"]
    # Health: /metrics every 3 s, /issues and /errors every 5th scrape (15 s)
    health_ms = poll_cost_ms(url, pid, ["/metrics"])
    errors_ms = poll_cost_ms(url, pid, ["/issues", "/errors"])
    collections_ms = poll_cost_ms(url, pid, ["/collections", *(f"/collections/{n}" for n in names)])
    out: dict[str, Any] = {
        "seconds": seconds,
        # the steady cost: each round's CPU over its period, as a share of one core
        "health_poll_ms": round(health_ms, 3),
        "health_errors_poll_ms": round(errors_ms, 3),
        "health_pct_of_core": round((health_ms / 3000 + errors_ms / 15_000) * 100, 4),
        "collections_poll_ms": round(collections_ms, 3),
        "collections_pct_of_core": round(collections_ms / 10_000 * 100, 4),
        "idle": windows(url, pid, found, seconds, rounds, root, "idle"),
    }
    with SearchLoad(url, qps) as searches:
        out["under_load"] = windows(url, pid, found, seconds, rounds, root, "load")
        out["under_load"]["searches_per_s"] = qps
        out["under_load"]["searches_sent"] = searches.sent
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--cpu-seconds", type=float, default=30.0, help="per window")
    parser.add_argument("--rounds", type=int, default=3, help="of the three states")
    parser.add_argument("--load-qps", type=float, default=50.0, help="searches/s beside")
    parser.add_argument(
        "--quick", action="store_true", help="100,000 points, one round of 10 s windows"
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "dashboard.json")
    args = parser.parse_args()
    if args.quick:
        args.points, args.cpu_seconds, args.rounds = 100_000, 10.0, 1
    found = browser.find()
    if isinstance(found, str):
        raise SystemExit(f"no browser: {found}")
    with tempfile.TemporaryDirectory(prefix="zoro-dashboard-bench-") as tmp:
        root = Path(tmp)
        with ServerProcess(root / "data") as server:
            assert server.process is not None
            t = time.perf_counter()
            trio.run(fill, server.url, args.points)
            took = time.perf_counter() - t
            print(f"filled: {SMALL} x {SMALL_POINTS:,} + {args.points:,} points in {took:.1f} s")
            httpx.get(server.url + "/collections", timeout=30)
            result: dict[str, Any] = {"points": args.points, "load_1m": load()}
            result["first_paint"] = first_paint(server.url, found, root / "profile-paint")
            print(
                "first paint:",
                json.dumps(result["first_paint"]["cold"]),
                "warm:",
                result["first_paint"]["warm_median"],
            )
            result["paging"] = paging(server.url, found, root / "profile-paging")
            print("paging:", json.dumps(result["paging"]))
            result["cpu"] = cpu(
                server.url,
                server.process.pid,
                found,
                args.cpu_seconds,
                args.rounds,
                args.load_qps,
                root,
            )
            print("cpu:", json.dumps(result["cpu"]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
