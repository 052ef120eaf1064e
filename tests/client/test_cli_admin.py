"""`zoro aliases ...` and `zoro collections update` (and --metadata), run as subprocesses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from tests.client.test_cli import zoro

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.testing import ServerProcess


def test_aliases_and_update_from_the_command_line(server: ServerProcess, tmp_path: Path) -> None:
    for name in ("cli_v1", "cli_v2"):
        done = zoro(server, "collections", "create", name, "--dim", "3", "--sparse", "words")
        assert done.returncode == 0, done.stderr
    (tmp_path / "meta.json").write_text('{"team": "search", "drop": 1}')
    done = zoro(
        server,
        "collections",
        "create",
        "cli_meta",
        "--dim",
        "2",
        "--metadata",
        "@" + str(tmp_path / "meta.json"),
    )
    assert done.returncode == 0, done.stderr

    assert zoro(server, "aliases", "create", "cli_live", "cli_v1").returncode == 0
    done = zoro(server, "aliases", "switch", "cli_live", "cli_v2")
    assert done.stdout.strip() == "cli_live -> cli_v2"
    assert zoro(server, "aliases", "rename", "cli_live", "cli_prod").returncode == 0
    done = zoro(server, "aliases", "list", "--collection", "cli_v2")
    assert done.stdout.splitlines() == ["cli_prod -> cli_v2"]

    done = zoro(
        server, "collections", "update", "cli_prod",
        "--metadata", '{"env": "prod"}', "--m", "10", "--ef-search", "50", "--sparse", "words:idf",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "updated cli_prod"
    info = orjson.loads(zoro(server, "collections", "info", "cli_v2", "--json").stdout)
    assert info["metadata"] == {"env": "prod"}
    assert info["hnsw_m"] == 10
    assert info["ef_search"] == 50
    assert info["sparse_vectors"] == {"words": {"modifier": "idf"}}
    done = zoro(server, "collections", "update", "cli_meta", "--metadata", '{"drop": null}')
    assert done.returncode == 0, done.stderr
    info = orjson.loads(zoro(server, "collections", "info", "cli_meta", "--json").stdout)
    assert info["metadata"] == {"team": "search"}

    done = zoro(server, "aliases", "create", "cli_v1", "cli_v2")
    assert done.returncode == 1
    assert "zoro: error:" in done.stderr
    assert "already exists" in done.stderr
    done = zoro(server, "collections", "update", "cli_v1", "--metadata", "[1]")
    assert done.returncode == 1
    assert "metadata is a JSON object" in done.stderr
    done = zoro(server, "collections", "update", "cli_v1", "--sparse", "words:bm25")
    assert done.returncode == 1
    assert zoro(server, "aliases", "delete", "cli_prod").returncode == 0
    assert zoro(server, "aliases", "list").stdout.strip() == ""


def test_snapshot_and_restore_from_the_command_line(server: ServerProcess, tmp_path: Path) -> None:
    """Take, list, download, restore (under another name) and delete, as a user would; the
    client's methods under each."""
    assert zoro(server, "collections", "create", "cli_snap", "--dim", "3").returncode == 0
    (tmp_path / "p.jsonl").write_text(
        "\n".join(
            f'{{"id": {i}, "vector": [{i}, 1, 0], "payload": {{"i": {i}}}}}' for i in range(7)
        )
    )
    assert zoro(server, "import", "cli_snap", str(tmp_path / "p.jsonl")).returncode == 0
    archive = tmp_path / "cli.snapshot"
    done = zoro(server, "snapshot", "create", "cli_snap", "--download", str(archive))
    assert done.returncode == 0, done.stderr
    name = done.stdout.split()[0]
    assert archive.stat().st_size > 0
    assert zoro(server, "snapshot", "list", "cli_snap").stdout.split()[0] == name
    done = zoro(server, "restore", "cli_snap_copy", f"cli_snap/{name}")
    assert done.returncode == 0, done.stderr
    count = zoro(server, "count", "cli_snap_copy")
    assert count.stdout.strip() == "7", count.stdout
    assert zoro(server, "snapshot", "delete", "cli_snap", name).returncode == 0
    assert zoro(server, "snapshot", "list", "cli_snap").stdout == ""
    done = zoro(server, "restore", "cli_snap_copy", "cli_snap/gone.snapshot")
    assert done.returncode == 1
    assert "not found" in done.stderr
    # the downloaded archive, uploaded from this machine
    done = zoro(server, "restore", "cli_snap_uploaded", str(archive))
    assert done.returncode == 0, done.stderr
    assert "(uploaded)" in done.stdout
    assert zoro(server, "count", "cli_snap_uploaded").stdout.strip() == "7"


def test_full_storage_snapshots_from_the_command_line(
    server: ServerProcess, tmp_path: Path
) -> None:
    assert zoro(server, "collections", "create", "cli_full", "--dim", "2").returncode == 0
    (tmp_path / "p.jsonl").write_text(
        "\n".join(f'{{"id": {i}, "vector": [{i}, 1]}}' for i in range(5))
    )
    assert zoro(server, "import", "cli_full", str(tmp_path / "p.jsonl")).returncode == 0
    archive = tmp_path / "full.snapshot"
    done = zoro(server, "snapshot", "create", "--all", "--download", str(archive))
    assert done.returncode == 0, done.stderr
    name = done.stdout.split()[0]
    assert name.startswith("full-snapshot-")
    assert zoro(server, "snapshot", "list", "--all").stdout.split()[0] == name
    assert zoro(server, "collections", "delete", "cli_full").returncode == 0
    done = zoro(server, "restore", "--all", str(archive))
    assert done.returncode == 0, done.stderr
    assert "cli_full" in done.stdout
    assert zoro(server, "count", "cli_full").stdout.strip() == "5"
    assert zoro(server, "snapshot", "delete", "--all", name).returncode == 0
    assert zoro(server, "snapshot", "list", "--all").stdout == ""
    done = zoro(server, "snapshot", "list")
    assert done.returncode != 0
    assert "name a collection, or give --all" in done.stderr
