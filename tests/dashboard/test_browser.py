"""The dashboard in a real browser (headless Chromium) against a real server with an API key:
every page loads, and a user's round trip works: give the key, create a collection, see
points upserted through the API, page through them, filter (a bad filter shows the server's
message), retrieve, delete, search by id, project, watch health, take a snapshot, delete the
collection. Screenshots go to tests/dashboard/artifacts/ (git-ignored); the console must
stay free of errors other than the refusals a step provokes on purpose."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard import browser
from tests.dashboard.page import Page
from zoro.testing import ServerProcess

FOUND = browser.find()
pytestmark = pytest.mark.skipif(isinstance(FOUND, str), reason=str(FOUND))

KEY = "browser-test-key"
LANGS = ("en", "fr", "de")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("dashboard-browser")
    with ServerProcess(root / "data", extra_args=("--api-key", KEY)) as proc:
        yield proc


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}, timeout=30) as client:
        yield client


def _points(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "vector": [1.0 + i % 3, float(i % 5), float(i % 7), 1.0],
            "payload": {
                "lang": LANGS[i % 3],
                "n": i,
                "meta": {"tags": ["a", "b"], "ok": i % 2 == 0},
            },
        }
        for i in range(n)
    ]


def _run(command: list[str]) -> str:
    """Run a snippet the page shows, with the key in the environment as its text expects."""
    env = {**os.environ, "ZORO_API_KEY": KEY}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_key_is_asked_for_then_the_collections_show(page: Page) -> None:
    page.go("collections")
    page.find("#key-dialog[open]")
    page.shot("01-api-key")
    page.find("#key-input").send_keys("wrong")
    page.find("#key-submit").click()
    page.text("#key-error", "Invalid API key")
    key = page.find("#key-input")
    key.clear()
    key.send_keys(KEY)
    page.find("#key-submit").click()
    page.text("#collections-holder", "No collections yet")
    page.shot("02-collections-empty")
    # the first look without a key and the wrong key: refused on purpose
    page.console_clean("status of 401", "status of 403")


def test_create_a_collection_with_the_form(page: Page) -> None:
    page.find("#create-name").send_keys("docs")
    page.find("#create-form [name=size]").send_keys("4")
    page.find("#create-form [name=m]").send_keys("8")
    preview = json.loads(
        page.driver.execute_script("return document.querySelector('#create-preview').textContent")
    )
    assert preview == {"vectors": {"size": 4, "distance": "Cosine"}, "hnsw_config": {"m": 8}}
    page.find("#create-submit").click()
    page.text("#create-message", "Created")
    page.find("tr[data-collection=docs]")
    page.console_clean()


def test_points_upserted_through_the_api_show_in_the_table(page: Page, http: httpx.Client) -> None:
    r = http.put("/collections/docs/points?wait=true", json={"points": _points(120)})
    assert r.status_code == 200, r.text
    page.go("collections")
    text = page.text("tr[data-collection=docs]", "120")
    assert "4d Cosine" in text
    assert "green" in text or "yellow" in text
    page.shot("03-collections")
    page.console_clean()


def test_browse_page_by_page(page: Page) -> None:
    page.go("points?c=docs")
    page.text("#points-count", r"^120 points")
    page.text("#page-info", "page 1 · 20 points")
    assert page.all("#points-rows tr")[0].get_attribute("data-point") == "0"
    page.find("#next-page").click()
    page.text("#page-info", "page 2 · 20 points")
    first = "#points-rows tr:first-child"
    page.until(lambda: page.find(first).get_attribute("data-point") == "20", "page 2")
    page.find("#prev-page").click()
    page.text("#page-info", "page 1")
    # one scroll request per page shown: nothing loaded ahead
    assert page.driver.execute_script("return document.body.dataset.pagesLoaded") == "3"
    page.shot("04-points")
    page.console_clean()


def test_filter_and_a_bad_filter_shows_the_servers_message(page: Page, http: httpx.Client) -> None:
    editor = page.find("#filter")
    editor.send_keys(json.dumps({"must": [{"key": "lang", "match": {"value": "en"}}]}))
    page.find("#apply-filter").click()
    page.text("#points-count", r"^40 matching points")
    bad = {"must": [{"key": "lang", "match": {"valeu": "en"}}]}
    expected = http.post("/collections/docs/points/count", json={"filter": bad, "exact": True})
    assert expected.status_code == 400
    editor.clear()
    editor.send_keys(json.dumps(bad))
    page.find("#apply-filter").click()
    shown = page.text("#filter-error", ".")
    assert shown == expected.json()["status"]["error"]  # verbatim
    page.shot("05-bad-filter")
    editor.clear()
    editor.send_keys("{not json")
    page.find("#apply-filter").click()
    page.text("#filter-error", "The filter is not JSON")
    editor.clear()
    page.find("#apply-filter").click()
    page.text("#points-count", r"^120 points")
    page.console_clean("status of 400")


def test_retrieve_by_id_and_show_a_vector(page: Page) -> None:
    page.find("#retrieve-id").send_keys("5")
    page.find("#retrieve-form button").click()
    detail = page.text("#point-detail", "Point 5")
    assert '"de"' in detail  # 5 % 3 == 2
    page.find("tr[data-point='1'] td:last-child button").click()
    page.text("tr[data-point='1'] td:last-child", r"\[")
    page.console_clean()


def test_delete_selected(page: Page, http: httpx.Client) -> None:
    for pid in ("0", "1"):
        page.find(f"tr[data-point='{pid}'] .pick").click()
    page.find("#delete-selected").click()
    page.text("#confirm-text", "Delete 2 point")
    page.find("#confirm-ok").click()
    page.text("#points-count", r"^118 points")
    assert (
        http.post("/collections/docs/points", json={"ids": [0, 1, 2]}).json()["result"][0]["id"]
        == 2
    )
    page.console_clean()


def test_search_by_id_with_code_to_copy(page: Page) -> None:
    page.go("search?c=docs")
    page.find("#search-query").send_keys("7")
    page.find("#search-submit").click()
    page.find("#hits tbody tr")
    hits = page.all("#hits tbody tr")
    assert len(hits) == 10
    assert all(h.get_attribute("data-point") != "7" for h in hits)
    assert "/collections/docs/points/query" in page.find("#code-curl").text
    assert "query_points(" in page.find("#code-qdrant").text
    assert "search_by_id(" in page.find("#code-zoro").text
    # the code shown runs, and finds what the page found
    ids = [h.get_attribute("data-point") for h in hits]
    for snippet in ("#code-qdrant", "#code-zoro"):
        printed = _run([sys.executable, "-c", page.find(snippet).text])
        assert [line.split()[0] for line in printed.splitlines()] == ids, snippet
    if shutil.which("curl"):
        answer = json.loads(_run(["bash", "-c", page.find("#code-curl").text]))
        assert [str(p["id"]) for p in answer["result"]["points"]] == ids
    # the text option is there, disabled, with the reason
    assert page.find("input[name=mode][value=text]").get_attribute("disabled") is not None
    page.text("#text-reason", "no text embedder")
    page.shot("06-search")
    page.console_clean()


def test_vectors_projection(page: Page) -> None:
    page.go("vectors?c=docs&key=lang")
    page.until(lambda: page.find("#pca-canvas").get_attribute("data-points") == "118", "118 dots")
    page.text("#pca-legend", '"en"')
    page.shot("07-vectors")
    # a click on a dot opens its point in the points browser
    point = page.driver.execute_script(
        """const c = document.querySelector('#pca-canvas');
        const [x, y, id] = c.dataset.dot.split(',');
        const r = c.getBoundingClientRect();
        c.dispatchEvent(new MouseEvent('click', {bubbles: true,
          clientX: r.left + x * r.width / c.width, clientY: r.top + y * r.height / c.height}));
        return id;"""
    )
    page.text("#point-detail", f"Point {point}")
    assert f"id={point}" in page.driver.current_url
    page.console_clean()


def test_health_charts(page: Page) -> None:
    page.go("health")
    page.text("#scrape-status", "Scraped /metrics")
    page.until(lambda: int(page.find("#chart-rate").get_attribute("data-values") or 0) > 0, "rates")
    page.text("#collection-states", "docs")
    page.text("#collection-states", r"WAL replayed[\s\S]*docs\s+ready\s+none")  # nothing to replay
    page.text("#route-table", "metrics")  # its own scrapes, at least
    # the server's recent error answers, with their messages: the bad filter's among them
    page.text("#recent-errors", "unknown field")
    page.shot("08-health")
    page.console_clean()


def test_snapshots(page: Page) -> None:
    page.go("snapshots?c=docs")
    page.find("#create-snapshot").click()
    page.text("#snapshots-message", "Created")
    page.find("#snapshots-table tbody tr")
    page.shot("09-snapshots")
    page.console_clean()


def test_the_pages_helpers(page: Page) -> None:
    """The page's own parsing, run in the browser: /metrics text, quantiles, PCA, states."""
    result = page.module(
        """
        const prom = await import('/dashboard/prom.js');
        const pca = await import('/dashboard/pca.js');
        const cols = await import('/dashboard/collections.js');
        const text = (n) => [
          '# HELP x', `zoro_http_request_seconds_bucket{route="q",le="0.001"} ${n}`,
          `zoro_http_request_seconds_bucket{route="q",le="0.01"} ${2 * n}`,
          `zoro_http_request_seconds_bucket{route="q",le="+Inf"} ${2 * n}`,
          'zoro_collection_up{collection="a\\\\"b",state="ready"} 1'].join('\\n');
        const a = prom.parseMetrics(text(0)), b = prom.parseMetrics(text(100));
        const rows = Array.from({length: 200}, (_, i) => [i, 2 * i + (i % 2), 5]);
        const xy = pca.pca2(rows);
        return {
          label: a[3].labels.collection,
          p50: prom.quantile(a, b, 'q', 0.5),
          p75: prom.quantile(a, b, 'q', 0.75),
          spread: Math.abs(xy[199][0] - xy[0][0]),
          flat: Math.max(...xy.map((p) => Math.abs(p[1]))),
          recovering: cols.stateOf({message: 'Collection `x` is recovering; retry shortly'}),
          failed: cols.stateOf({message: 'Collection `x` has failed: bad CRC in wal/1.log at 42'}),
        };
        """
    )
    assert result["label"] == 'a"b'
    assert result["p50"] == pytest.approx(0.001)
    assert result["p75"] == pytest.approx(0.0055)
    assert result["spread"] > 100  # the points lie along the first component
    assert result["flat"] < 5
    assert result["recovering"]["status"] == "recovering"
    assert result["failed"] == {"status": "failed", "reason": "bad CRC in wal/1.log at 42"}
    page.console_clean()


def test_nothing_loads_from_elsewhere(page: Page) -> None:
    """Every resource the pages fetched came from the server itself (the CSP says so too)."""
    page.go("collections")
    page.find("#collections-holder")
    origins = page.driver.execute_script(
        "return [...new Set(performance.getEntriesByType('resource')"
        ".map((e) => new URL(e.name).origin))]"
    )
    assert origins == [page.url]


def test_delete_the_collection_after_naming_it(page: Page, http: httpx.Client) -> None:
    page.go("collections")
    page.find("tr[data-collection=docs] [data-delete=docs]").click()
    page.text("#confirm-text", "“docs”")
    page.find("#confirm-cancel").click()
    page.find("tr[data-collection=docs]")  # still there
    page.find("tr[data-collection=docs] [data-delete=docs]").click()
    page.find("#confirm-ok").click()
    page.text("#collections-holder", "No collections yet")
    assert http.get("/collections/docs").status_code == 404
    page.shot("10-deleted")
    page.console_clean()
