"""The `zoro` admin commands, run for real as subprocesses against the test server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from zoro.cli import main
from zoro.testing import ServerProcess


def zoro(
    server: ServerProcess,
    *args: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ZORO_URL": server.url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "zoro.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_import_a_50k_npy_then_search_it(server: ServerProcess, tmp_path: Path) -> None:
    vectors = np.random.default_rng(7).random((50_000, 16), dtype=np.float32)
    np.save(tmp_path / "points.npy", vectors)
    done = zoro(
        server,
        "import",
        "cli_npy",
        str(tmp_path / "points.npy"),
        "--create",
        "--distance",
        "Euclid",
        "--batch-size",
        "2000",
    )
    assert done.returncode == 0, done.stderr
    assert "created cli_npy (16 dimensions, Euclid)" in done.stdout
    assert "imported 50,000 points into cli_npy in" in done.stdout
    assert "points/s" in done.stdout
    query = ",".join(f"{x:.6f}" for x in vectors[31_337])
    found = zoro(server, "search", "cli_npy", "--vector", query, "--limit", "3")
    assert found.returncode == 0, found.stderr
    first = found.stdout.splitlines()[0].split("\t")
    assert first[0] == "31337"
    assert float(first[1]) < 1e-3
    info = zoro(server, "collections", "info", "cli_npy", "--json")
    assert orjson.loads(info.stdout)["points"] == 50_000


def test_import_jsonl_and_search_by_vector_and_id(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "points.jsonl"
    with path.open("wb") as out:
        for i in range(300):
            line = {"id": i, "vector": [float(i), 1.0, 0.0], "payload": {"name": f"p{i}"}}
            out.write(orjson.dumps(line) + b"\n")
        out.write(b"\n")  # a blank line is skipped
    created = zoro(
        server,
        "collections",
        "create",
        "cli_jsonl",
        "--dimension",
        "3",
        "--distance",
        "Euclid",
        "--engine",
        "flat",
    )
    assert created.returncode == 0, created.stderr
    done = zoro(server, "import", "cli_jsonl", str(path), "--batch-size", "64")
    assert done.returncode == 0, done.stderr
    assert "imported 300 points" in done.stdout
    found = zoro(
        server, "search", "cli_jsonl", "--vector", "[42.2, 1, 0]", "--limit", "2", "--json"
    )
    hits = orjson.loads(found.stdout)
    assert [h["id"] for h in hits] == [42, 43]
    assert hits[0]["payload"] == {"name": "p42"}
    near = zoro(server, "search", "cli_jsonl", "--id", "10", "--limit", "2")
    assert sorted(line.split("\t")[0] for line in near.stdout.splitlines()) == ["11", "9"]


def test_import_parquet(server: ServerProcess, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": list(range(50)),
            "vector": [[float(i), 0.0] for i in range(50)],
            "payload": [orjson.dumps({"i": i}).decode() for i in range(50)],
        }
    )
    pq.write_table(table, tmp_path / "points.parquet")
    zoro(server, "collections", "create", "cli_parquet", "--dim", "2", "--distance", "Euclid")
    done = zoro(server, "import", "cli_parquet", str(tmp_path / "points.parquet"))
    assert done.returncode == 0, done.stderr
    assert "imported 50 points" in done.stdout
    found = zoro(server, "search", "cli_parquet", "--vector", "7,0", "--limit", "1")
    assert found.stdout.startswith('7\t0\t{"i":7}')


def run(
    server: ServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
) -> tuple[int, str, str]:
    """The same command in this process (quicker than a subprocess, for the many small cases)."""
    monkeypatch.setenv("ZORO_URL", server.url)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_collections_list_create_info_delete(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        return run(server, monkeypatch, capsys, *args)

    assert (
        cli("collections", "create", "cli_admin", "--dim", "8", "--m", "8", "--ef-construct", "50")[
            0
        ]
        == 0
    )
    assert "cli_admin" in cli("collections", "list")[1].split()
    info = cli("collections", "info", "cli_admin")[1]
    assert "dimension            8" in info
    assert "hnsw_m               8" in info
    assert cli("collections", "delete", "cli_admin") == (0, "deleted cli_admin\n", "")
    assert cli("collections", "delete", "cli_admin") == (
        1,
        "",
        "zoro: error: Collection `cli_admin` doesn't exist!\n",
    )


def test_errors_are_one_line_and_exit_non_zero(
    server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = [
        (("search", "cli_nope", "--vector", "1,2"), "Collection `cli_nope` doesn't exist!"),
        (("search", "x", "--vector", "1,a"), "--vector"),
        (("import", "x", str(tmp_path / "missing.npy")), "no such file"),
        (("collections", "create", "x", "--dim", "0"), "dimension: must be between 1"),
        (
            ("collections", "list", "--url", "http://127.0.0.1:9", "--timeout", "2"),
            "connection failed",
        ),
    ]
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "vector": [1, 2]}\nnot json\n')
    run(server, monkeypatch, capsys, "collections", "create", "cli_bad", "--dim", "2")
    cases.append((("import", "cli_bad", str(tmp_path / "bad.jsonl")), "bad.jsonl:2: invalid JSON"))
    for args, message in cases:
        code, out, err = run(server, monkeypatch, capsys, *args)
        assert code == 1, (args, out)
        assert err.startswith("zoro: error: "), err
        assert message in err
        assert err.count("\n") == 1


def test_the_api_key_option_and_usage_errors(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZORO_API_KEY", "anything")  # a server without a key ignores it
    assert run(server, monkeypatch, capsys, "collections", "list")[0] == 0
    with pytest.raises(SystemExit) as usage:
        run(server, monkeypatch, capsys, "search", "c")
    assert usage.value.code == 2


def test_count_scroll_search_and_delete_with_filters(
    server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        return run(server, monkeypatch, capsys, *args)

    path = tmp_path / "points.jsonl"
    with path.open("wb") as out:
        for i in range(30):
            payload = {"lang": "en" if i % 2 else "de", "meta": {"n": i}}
            out.write(orjson.dumps({"id": i, "vector": [float(i), 0.0], "payload": payload}))
            out.write(b"\n")
    assert cli("collections", "create", "cli_filter", "--dim", "2", "--distance", "Euclid")[0] == 0
    assert cli("import", "cli_filter", str(path), "--no-progress")[0] == 0
    en = '{"must": [{"key": "lang", "match": {"value": "en"}}]}'
    (tmp_path / "low.json").write_text('{"must": {"key": "meta.n", "range": {"lt": 10}}}')
    raw = httpx.Client(base_url=server.url)

    def raw_count(query_filter: str) -> int:
        body = {"filter": orjson.loads(query_filter), "exact": True}
        answer = raw.post("/collections/cli_filter/points/count", json=body)
        count: int = answer.json()["result"]["count"]
        return count

    assert cli("count", "cli_filter") == (0, "30\n", "")
    assert cli("count", "cli_filter", "--filter", en) == (0, f"{raw_count(en)}\n", "")
    low = "@" + str(tmp_path / "low.json")
    assert cli("count", "cli_filter", "--filter", low, "--approx") == (0, "10\n", "")

    code, out, _ = cli("scroll", "cli_filter", "--filter", en, "--page-size", "4")
    rows = [orjson.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["id"] for r in rows] == list(range(1, 30, 2))
    assert rows[0] == {"id": 1, "payload": {"lang": "en", "meta": {"n": 1}}}
    answer = raw.post(
        "/collections/cli_filter/points/scroll",
        json={"filter": orjson.loads(en), "limit": 100, "with_payload": True},
    ).json()["result"]
    assert rows == answer["points"]
    code, out, _ = cli(
        "scroll", "cli_filter", "--limit", "3", "--offset", "10", "--no-payload", "--with-vector"
    )
    assert [orjson.loads(line) for line in out.splitlines()] == [
        {"id": i, "vector": [float(i), 0.0]} for i in (10, 11, 12)
    ]

    code, out, _ = cli("search", "cli_filter", "--vector", "4.2,0", "--filter", en, "--json")
    assert [h["id"] for h in orjson.loads(out)][:3] == [5, 3, 7]
    code, out, _ = cli("search", "cli_filter", "--id", "4", "--filter", en, "--limit", "2")
    assert sorted(line.split("\t")[0] for line in out.splitlines()) == ["3", "5"]

    assert cli("index", "create", "cli_filter", "meta.n", "integer")[1] == (
        "index on meta.n (integer) built in cli_filter (completed)\n"
    )
    assert cli("index", "create", "cli_filter", "lang", "keyword", "--no-wait")[0] == 0
    schema = raw.get("/collections/cli_filter").json()["result"]["payload_schema"]
    assert set(schema) == {"meta.n", "lang"}
    assert cli("count", "cli_filter", "--filter", en)[1] == "15\n"
    assert cli("index", "delete", "cli_filter", "meta.n") == (
        0,
        "index on meta.n dropped from cli_filter\n",
        "",
    )
    schema = raw.get("/collections/cli_filter").json()["result"]["payload_schema"]
    assert set(schema) == {"lang"}

    code, out, _ = cli("delete-points", "cli_filter", "--ids", "1,3,[5]")
    assert code == 1  # "[5]" is not an id
    code, out, _ = cli("delete-points", "cli_filter", "--ids", "[1, 3]")
    assert (code, out.startswith("deleted from cli_filter (operation ")) == (0, True)
    assert cli("count", "cli_filter", "--filter", en)[1] == "13\n"
    assert cli("delete-points", "cli_filter", "--filter", en)[0] == 0
    assert cli("count", "cli_filter")[1] == "15\n"
    assert cli("delete-points", "cli_filter", "--ids", "0,2")[0] == 0
    assert cli("count", "cli_filter")[1] == "13\n"
    raw.close()


def test_geo_and_nested_filters_and_a_geo_index(
    server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        return run(server, monkeypatch, capsys, *args)

    path = tmp_path / "places.jsonl"
    with path.open("wb") as out:
        for i in range(20):  # point i on the equator at longitude i (about 111 km apart)
            payload = {"at": {"lon": i, "lat": 0}, "offers": [{"kind": "a", "k": i % 2}]}
            out.write(orjson.dumps({"id": i, "vector": [float(i), 0.0], "payload": payload}))
            out.write(b"\n")
    assert cli("collections", "create", "cli_geo", "--dim", "2")[0] == 0
    assert cli("import", "cli_geo", str(path), "--no-progress")[0] == 0
    radius = {"center": {"lon": 0, "lat": 0}, "radius": 250000}
    near = orjson.dumps({"must": [{"key": "at", "geo_radius": radius}]}).decode()
    one = {"must": [{"key": "k", "match": {"value": 1}}]}
    odd = orjson.dumps({"must": [{"nested": {"key": "offers", "filter": one}}]}).decode()
    assert cli("count", "cli_geo", "--filter", near) == (0, "3\n", "")
    assert cli("count", "cli_geo", "--filter", odd) == (0, "10\n", "")
    assert cli("index", "create", "cli_geo", "at", "geo")[1] == (
        "index on at (geo) built in cli_geo (completed)\n"
    )
    assert cli("count", "cli_geo", "--filter", near) == (0, "3\n", "")
    far = near.replace('"lat":0}', '"lat":91}')
    code, _, err = cli("count", "cli_geo", "--filter", far)
    assert (code, err.count("\n")) == (1, 1)
    assert "center.lat: must be a number within [-90, 90]" in err


def test_filter_errors_are_one_line(
    server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(server, monkeypatch, capsys, "collections", "create", "cli_filter_bad", "--dim", "2")
    refused = '{"must": [{"key": "lang"}]}'
    with httpx.Client(base_url=server.url) as raw:
        answer = raw.post(
            "/collections/cli_filter_bad/points/count", json={"filter": orjson.loads(refused)}
        )
    server_says = answer.json()["status"]["error"]
    cases = [
        (("count", "cli_filter_bad", "--filter", "{must"), "--filter: not JSON"),
        (("count", "cli_filter_bad", "--filter", "[1]"), "--filter: a filter is a JSON object"),
        (("count", "cli_filter_bad", "--filter", '{"mus": []}'), "filter: unknown field 'mus'"),
        (("count", "cli_filter_bad", "--filter", refused), server_says),
        (("scroll", "cli_filter_bad", "--filter", refused), server_says),
        (("delete-points", "cli_filter_bad", "--filter", refused), server_says),
        (("search", "cli_filter_bad", "--vector", "1,0", "--filter", refused), server_says),
        (("count", "cli_filter_bad", "--filter", "@" + str(tmp_path / "nope.json")), "nope.json"),
        (("scroll", "cli_filter_bad", "--limit", "0"), "--limit: must be at least 1"),
        (("index", "create", "cli_filter_bad", "lang", "texts"), "field_schema: must be an index"),
        (("count", "cli_nope_filter"), "Collection `cli_nope_filter` doesn't exist!"),
    ]
    for args, message in cases:
        code, out, err = run(server, monkeypatch, capsys, *args)
        assert code == 1, (args, out)
        assert err.startswith("zoro: error: "), err
        assert message in err, (args, err)
        assert err.count("\n") == 1
    with pytest.raises(SystemExit) as usage:
        run(server, monkeypatch, capsys, "delete-points", "cli_filter_bad")
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        run(server, monkeypatch, capsys, "delete-points", "x", "--ids", "1", "--filter", "{}")
    assert usage.value.code == 2


def test_a_text_index_from_the_cli(
    server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        return run(server, monkeypatch, capsys, *args)

    path = tmp_path / "docs.jsonl"
    titles = ["cats are running", "a cat runs home", "dogs sleep", "the running dog"]
    path.write_bytes(
        b"".join(
            orjson.dumps({"id": i, "vector": [float(i), 1.0], "payload": {"title": t}}) + b"\n"
            for i, t in enumerate(titles)
        )
    )
    assert cli("collections", "create", "cli_text", "--dim", "2")[0] == 0
    assert cli("import", "cli_text", str(path), "--no-progress")[0] == 0
    running = '{"must": [{"key": "title", "match": {"text": "run"}}]}'
    assert cli("count", "cli_text", "--filter", running) == (0, "0\n", "")  # no stemming yet
    schema = '{"type": "text", "stemmer": {"type": "snowball", "language": "english"}}'
    code, out, err = cli("index", "create", "cli_text", "title", schema)
    assert (code, err) == (0, ""), err
    assert out.startswith("index on title (")
    assert cli("count", "cli_text", "--filter", running) == (0, "3\n", "")
    code, _, err = cli("index", "create", "cli_text", "title", "{not json")
    assert code == 1
    assert "schema: not JSON" in err
    code, _, err = cli("index", "create", "cli_text", "title", '{"type": "text", "stemmer": {}}')
    assert code == 1
    assert "field_schema.stemmer" in err


def test_payload_and_batch_commands(server: ServerProcess, tmp_path: Path) -> None:
    name = "cli_payload"
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.put(f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
        points = [{"id": i, "vector": [1, i], "payload": {"i": i, "c": i % 2}} for i in range(4)]
        http.put(f"/collections/{name}/points?wait=true", json={"points": points})
        odd = '{"must": [{"key": "c", "match": {"value": 1}}]}'
        assert (
            zoro(server, "payload", "set", name, '{"odd": true}', "--filter", odd).returncode == 0
        )
        assert (
            zoro(server, "payload", "set", name, '{"x": 1}', "--ids", "0", "--key", "m").returncode
            == 0
        )
        assert zoro(server, "payload", "overwrite", name, '{"o": 1}', "--ids", "2").returncode == 0
        assert zoro(server, "payload", "delete", name, "i,c", "--ids", "1,3").returncode == 0
        ops = tmp_path / "ops.json"
        ops.write_text(
            orjson.dumps([{"clear_payload": {"points": [2]}}, {"delete": {"points": [3]}}]).decode()
        )
        done = zoro(server, "batch", name, f"@{ops}")
        assert done.returncode == 0, done.stderr
        assert "2 operations" in done.stdout
        missing = zoro(server, "payload", "clear", name, "--ids", "99")
        assert missing.returncode == 1
        assert "99" in missing.stderr
        r = http.post(f"/collections/{name}/points/scroll", json={"limit": 10})
        got = {p["id"]: p["payload"] for p in r.json()["result"]["points"]}
    assert got == {0: {"i": 0, "c": 0, "m": {"x": 1}}, 1: {"odd": True}, 2: {}}
