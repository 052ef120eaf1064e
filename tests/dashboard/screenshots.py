"""README's two dashboard screenshots, made again from a fresh server with sample data:

    PYTHONPATH=. .venv/bin/python -m tests.dashboard.screenshots docs/

writes docs/dashboard-collections.png and docs/dashboard-points.png."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from tests.dashboard import browser
from zoro.testing import ServerProcess

LANGS = ("en", "fr", "de", "es")
TOPICS = ("storage", "search", "networking", "compilers", "databases")


def seed(http: httpx.Client) -> None:
    rng = np.random.default_rng(3)
    http.put("/collections/articles", json={"vectors": {"size": 64, "distance": "Cosine"}})
    http.put(
        "/collections/products",
        json={
            "vectors": {
                "image": {"size": 32, "distance": "Dot"},
                "text": {"size": 48, "distance": "Cosine"},
            },
            "sparse_vectors": {"keywords": {"modifier": "idf"}},
        },
    )
    http.put(
        "/collections/logs",
        json={"vectors": {"size": 8, "distance": "Euclid"}, "zoro": {"engine": "flat"}},
    )
    points = [
        {
            "id": i,
            "vector": rng.standard_normal(64).round(4).tolist(),
            "payload": {
                "title": f"Notes on {TOPICS[i % 5]} #{i}",
                "lang": LANGS[i % 4],
                "year": 2015 + i % 10,
                "topic": TOPICS[i % 5],
                "authors": [{"name": "Ada"}, {"name": "Linus"}][: 1 + i % 2],
            },
        }
        for i in range(2_000)
    ]
    for start in range(0, len(points), 500):
        http.put(
            "/collections/articles/points?wait=true", json={"points": points[start : start + 500]}
        )
    http.put(
        "/collections/articles/index?wait=true",
        json={"field_name": "lang", "field_schema": "keyword"},
    )
    http.put(
        "/collections/articles/index?wait=true",
        json={"field_name": "year", "field_schema": "integer"},
    )
    logs = [
        {"id": i, "vector": rng.standard_normal(8).tolist(), "payload": {"level": "info"}}
        for i in range(300)
    ]
    http.put("/collections/logs/points?wait=true", json={"points": logs})


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    found = browser.find()
    if isinstance(found, str):
        raise SystemExit(found)
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "data") as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            seed(http)
        driver = browser.start(*found, profile=Path(tmp) / "profile")
        try:
            driver.set_window_size(1400, 720)
            driver.get(f"{server.url}/dashboard/#/collections")
            time.sleep(2)
            driver.save_screenshot(str(out / "dashboard-collections.png"))
            driver.set_window_size(1400, 900)
            driver.get(f"{server.url}/dashboard/#/points?c=articles")
            time.sleep(1.5)
            editor = driver.find_element("css selector", "#filter")
            lang = '{"key": "lang", "match": {"value": "fr"}}'
            year = '{"key": "year", "range": {"gte": 2020}}'
            editor.send_keys(f'{{"must": [{lang},\n  {year}]}}')
            driver.find_element("css selector", "#apply-filter").click()
            time.sleep(1.5)
            driver.save_screenshot(str(out / "dashboard-points.png"))
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
