"""The `zoro` commands with named, sparse and multivectors: create with --vector and --sparse,
import of .jsonl, .npz and .parquet files with named vectors, search --using and --sparse; run in
this process against the test server. And the pure parsing underneath."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pytest

from tests.client.test_cli import run
from zoro.client import InvalidInput, SparseVectorParams, VectorParams
from zoro.client._sources import open_source
from zoro.client.commands import _parse_sparse, _parse_sparse_spec, _parse_vector_spec

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.testing import ServerProcess


@pytest.fixture
def cli(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    def call(*args: str) -> tuple[int, str, str]:
        return run(server, monkeypatch, capsys, *args)

    return call


def test_vector_and_sparse_specs() -> None:
    assert _parse_vector_spec("text:384:Cosine", "Dot") == ("text", VectorParams(384, "Cosine"))
    assert _parse_vector_spec("text:384", "Dot") == ("text", VectorParams(384, "Dot"))
    assert _parse_vector_spec("c:128:dot:multi", "Cosine") == (
        "c",
        VectorParams(128, "Dot", multivector=True),
    )
    assert _parse_vector_spec("a:b:8:Euclid", "Dot") == ("a:b", VectorParams(8, "Euclid"))
    assert _parse_vector_spec(":4", "Dot") == ("", VectorParams(4, "Dot"))
    for bad in ("text", "text:big", "text:384:Hamming", "384"):
        with pytest.raises(InvalidInput, match="NAME:SIZE"):
            _parse_vector_spec(bad, "Dot")
    assert _parse_sparse_spec("words:idf") == ("words", SparseVectorParams("idf"))
    assert _parse_sparse_spec("words") == ("words", SparseVectorParams())
    assert _parse_sparse_spec("a:b") == ("a:b", SparseVectorParams())
    assert _parse_sparse("3:0.5, 17:1") == {"indices": [3, 17], "values": [0.5, 1.0]}
    assert _parse_sparse('{"indices": [1], "values": [2]}') == {"indices": [1], "values": [2]}
    for bad in ("3", "a:1", "{x", "[1]"):
        with pytest.raises(InvalidInput, match="--sparse"):
            _parse_sparse(bad)


def test_sources_read_named_vectors(tmp_path: Path) -> None:
    path = tmp_path / "points.npz"
    np.savez(
        path,
        id=np.array([5, 6]),
        vector=np.ones((2, 3)),
        **{"vector.colbert": np.zeros((2, 2, 4)), "vector.d": np.eye(2)},
    )
    source = open_source(path)
    assert (source.dimension, source.total, source.ids.tolist()) == (3, 2, [5, 6])
    assert {k: v.shape for k, v in source.vectors.items()} == {
        "": (2, 3),
        "colbert": (2, 2, 4),
        "d": (2, 2),
    }
    np.savez(tmp_path / "odd.npz", vector=np.ones((2, 3)), other=np.ones(2))
    with pytest.raises(InvalidInput, match="array 'other'"):
        open_source(tmp_path / "odd.npz")
    np.savez(tmp_path / "uneven.npz", vector=np.ones((2, 3)), **{"vector.x": np.ones((3, 3))})
    with pytest.raises(InvalidInput, match=r"different numbers of points \[2, 3\]"):
        open_source(tmp_path / "uneven.npz")
    lines = tmp_path / "named.jsonl"
    lines.write_bytes(b'{"id": 1, "vector": {"a": [1, 2]}}\n{"id": 2, "vector": [[1, 2]]}\n')
    jsonl = open_source(lines)
    assert jsonl.dimension is None
    assert [p["vector"] for p in jsonl.points] == [{"a": [1, 2]}, [[1, 2]]]  # type: ignore[index,union-attr]


def test_parquet_named_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": [1, 2],
            "vector.dense": [[1.0, 0.0], None],
            "vector.words": [{"indices": [3], "values": [0.5]}, None],
            "vector.colbert": [[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]],
        }
    )
    pq.write_table(table, tmp_path / "named.parquet")
    source = open_source(tmp_path / "named.parquet")
    assert list(source.points or ()) == [
        (
            1,
            {
                "colbert": [[1.0, 2.0]],
                "dense": [1.0, 0.0],
                "words": {"indices": [3], "values": [0.5]},
            },
            None,
        ),
        (2, {"colbert": [[3.0, 4.0], [5.0, 6.0]]}, None),
    ]
    struct = pa.table({"id": [1], "vector": [{"a": [1.0], "b": None}]})
    pq.write_table(struct, tmp_path / "struct.parquet")
    assert list(open_source(tmp_path / "struct.parquet").points or ()) == [(1, {"a": [1.0]}, None)]


def test_create_info_import_and_search_named(cli: Any, tmp_path: Path) -> None:
    code, out, err = cli(
        "collections",
        "create",
        "cli_named",
        "--vector",
        "dense:3:Cosine",
        "--vector",
        "plane:2:Euclid",
        "--sparse",
        "words:idf",
        "--sparse",
        "tags",
        "--engine",
        "flat",
    )
    assert (code, err) == (0, "")
    assert out == (
        "created cli_named (dense 3 Cosine, plane 2 Euclid, words sparse idf, tags sparse, flat)\n"
    )
    info = orjson.loads(cli("collections", "info", "cli_named", "--json")[1])
    assert info["vectors"] == {
        "dense": {"size": 3, "distance": "Cosine"},
        "plane": {"size": 2, "distance": "Euclid"},
    }
    assert info["sparse_vectors"] == {"words": {"modifier": "idf"}, "tags": {}}
    text = cli("collections", "info", "cli_named")[1]
    assert "vectors['plane']    " in text
    path = tmp_path / "named.jsonl"
    with path.open("wb") as out_file:
        for i in range(40):
            vector: dict[str, Any] = {"plane": [float(i), 0.0]}
            if i % 2:
                vector["words"] = {"indices": [i, 1000], "values": [1.0, 0.25]}
            if i % 5 == 0:
                vector["dense"] = [1.0, float(i), 0.0]
            out_file.write(orjson.dumps({"id": i, "vector": vector, "payload": {"i": i}}) + b"\n")
    code, out, err = cli("import", "cli_named", str(path), "--batch-size", "16", "--no-progress")
    assert (code, err) == (0, "")
    assert "imported 40 points" in out
    hits = orjson.loads(
        cli(
            "search",
            "cli_named",
            "--vector",
            "7.2,0",
            "--using",
            "plane",
            "--limit",
            "2",
            "--json",
            "--with-vector",
        )[1]
    )
    assert [h["id"] for h in hits] == [7, 8]
    assert hits[0]["vector"]["plane"] == [7.0, 0.0]
    assert hits[0]["vector"]["words"] == {"indices": [7, 1000], "values": [1.0, 0.25]}
    sparse = cli("search", "cli_named", "--sparse", "13:1", "--using", "words", "--limit", "1")
    assert sparse[1].split("\t")[0] == "13"
    json_sparse = '{"indices": [21], "values": [2]}'
    assert cli("search", "cli_named", "--sparse", json_sparse, "--using", "words")[1].startswith(
        "21\t"
    )
    by_id = cli("search", "cli_named", "--id", "10", "--using", "dense", "--limit", "1")[1]
    assert by_id.split("\t")[0] in {"5", "15"}  # the nearest of the other points with "dense"
    code, out, _ = cli("scroll", "cli_named", "--limit", "2", "--with-vector", "--no-payload")
    assert [orjson.loads(line) for line in out.splitlines()] == [
        {"id": 0, "vector": {"dense": [1.0, 0.0, 0.0], "plane": [0.0, 0.0]}},
        {
            "id": 1,
            "vector": {"plane": [1.0, 0.0], "words": {"indices": [1, 1000], "values": [1.0, 0.25]}},
        },
    ]


def test_import_npz_and_npy_with_create(cli: Any, tmp_path: Path) -> None:
    np.savez(
        tmp_path / "points.npz",
        id=np.arange(100, 150),
        vector=np.arange(100.0).reshape(50, 2),
        **{"vector.e": np.ones((50, 3))},
    )
    code, out, err = cli(
        "import",
        "cli_npz",
        str(tmp_path / "points.npz"),
        "--create",
        "--vector",
        ":2:Euclid",
        "--vector",
        "e:3:Dot",
        "--no-progress",
    )
    assert (code, err) == (0, "")
    assert "created cli_npz ((unnamed) 2 Euclid, e 3 Dot)" in out
    assert "imported 50 points" in out
    hits = orjson.loads(cli("search", "cli_npz", "--vector", "20,21", "--json", "--limit", "1")[1])
    assert hits[0]["id"] == 110
    # without --vector: declared from the arrays (test_multivectors.py: a 3-D one)
    np.savez(tmp_path / "guess.npz", vector=np.ones((3, 2)), **{"vector.e": np.ones((3, 4))})
    code, out, err = cli(
        "import", "cli_npz_guess", str(tmp_path / "guess.npz"), "--create", "--no-progress"
    )
    assert "created cli_npz_guess ((unnamed) 2 Cosine, e 4 Cosine)" in out
    np.save(tmp_path / "plain.npy", np.eye(4, dtype=np.float32))
    code, out, err = cli(
        "import",
        "cli_npy_named",
        str(tmp_path / "plain.npy"),
        "--create",
        "--vector-name",
        "eye",
        "--no-progress",
    )
    assert (code, err) == (0, "")
    assert "created cli_npy_named (eye 4 Cosine)" in out
    assert cli("search", "cli_npy_named", "--vector", "0,0,1,0", "--using", "eye", "--limit", "1")[
        1
    ].startswith("2\t")


def test_vector_errors_are_one_line(cli: Any, tmp_path: Path) -> None:
    cli("collections", "create", "cli_named_bad", "--vector", "d:2", "--sparse", "w")
    (tmp_path / "bad.jsonl").write_text(
        '{"id": 1, "vector": {"w": {"indices": [1, 1], "values": [1, 2]}}}\n'
    )
    cases = [
        (("collections", "create", "x"), "give --dimension, --vector or --sparse"),
        (("collections", "create", "x", "--vector", "d"), "--vector 'd': use NAME:SIZE"),
        (("collections", "create", "x", "--dim", "2", "--vector", ":3"), "both declare"),
        (("search", "cli_named_bad", "--sparse", "1:1"), "pass using="),
        (("search", "cli_named_bad", "--sparse", "1"), "'1' is not INDEX:VALUE"),
        (("search", "cli_named_bad", "--vector", "1,2,3", "--using", "d"), "expected dimension 2"),
        (("import", "cli_named_bad", str(tmp_path / "bad.jsonl")), "indices must be unique"),
        (
            ("import", "cli_named_bad", str(tmp_path / "bad.jsonl"), "--vector-name", "d"),
            "--vector-name",
        ),
    ]
    for args, message in cases:
        code, out, err = cli(*args)
        assert code == 1, (args, out)
        assert err.startswith("zoro: error: "), err
        assert message in err, (args, err)
        assert err.count("\n") == 1
