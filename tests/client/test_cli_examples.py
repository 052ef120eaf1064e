"""`zoro search --recommend` and `zoro scroll --order-by`, run for real against the test server."""

from __future__ import annotations

import httpx
import orjson

from tests.client.test_cli import zoro
from zoro.testing import ServerProcess


def test_recommend_and_order_by(server: ServerProcess) -> None:
    name = "cli_examples"
    with httpx.Client(base_url=server.url) as http:
        created = http.put(f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
        assert created.status_code == 200, created.text
        points = [
            {"id": i, "vector": [i + 1.0, 1.0], "payload": {"price": 10.0 - i}} for i in range(6)
        ]
        assert http.put(f"/collections/{name}/points", json={"points": points}).status_code == 200
        body = {"field_name": "price", "field_schema": "float"}
        assert http.put(f"/collections/{name}/index", json=body).status_code == 200

    done = zoro(server, "search", name, "--recommend", "4,5", "--limit", "2")
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == ["3", "2"]
    done = zoro(
        server, "search", name, "--recommend", "5", "--negative", "0", "--strategy", "sum_scores",
        "--limit", "1", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [hit["id"] for hit in orjson.loads(done.stdout)] == [4]

    done = zoro(server, "scroll", name, "--order-by", "price", "--limit", "3")
    assert done.returncode == 0, done.stderr
    rows = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["order_value"]) for r in rows] == [(5, 5.0), (4, 6.0), (3, 7.0)]
    done = zoro(server, "scroll", name, "--order-by", "price", "--desc", "--limit", "1")
    assert [orjson.loads(line)["id"] for line in done.stdout.splitlines()] == [0]

    for args, words in (
        (["search", name, "--id", "1", "--negative", "2"], "--negative"),
        (["scroll", name, "--desc"], "--desc"),
        (["scroll", name, "--order-by", "nothing"], "no payload index"),
    ):
        done = zoro(server, *args)
        assert done.returncode == 1, done.stdout
        assert words in done.stderr, done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
