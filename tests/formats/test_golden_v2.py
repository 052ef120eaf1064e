"""The golden data directory of format version 2, opened by today's code, on a copy: catalog v2,
meta v2, presence, sparse and multivector files, and WAL records of type 3 past the checkpoint.

Opening it replays the logged upsert and delete onto the checkpoint; every point then shows
exactly the vectors the story gave it, and each kind of vector answers a query.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.formats import golden_v2 as story
from zoro import checked_json
from zoro.storage import Catalog
from zoro.testing import ServerProcess
from zoro.wal import replay
from zoro.wal._format import SEGMENT, TYPE_UPSERT_COLUMNS, list_segments


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(story.DATA, copy)
    return copy


def test_the_files_are_version_2(data: Path) -> None:
    assert checked_json.read(data / "catalog")["version"] == 2
    entry = Catalog.open(data).get(story.NAME)
    assert entry is not None
    assert entry.vectors == story.CONFIG
    directory = data / "collections" / entry.id
    assert checked_json.read(directory / "meta")["version"] == 2
    (_, segment), *_ = list_segments(directory / "wal")
    raw = segment.read_bytes()
    assert raw[SEGMENT.size + 16] == TYPE_UPSERT_COLUMNS  # the first record's type byte
    assert len(list(replay(directory / "wal", 1))) == 2  # the upsert and delete past it


def _shown(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"indices": value[0], "values": value[1]}
    return value


def test_every_point_shows_its_vectors_after_replay(data: Path) -> None:
    with ServerProcess(data) as server:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            final = story.final_points()
            body = {"ids": [*final, *story.LOGGED_DELETE], "with_vector": True}
            got = http.post(f"/collections/{story.NAME}/points", json=body).json()["result"]
            assert {p["id"] for p in got} == set(final)
            for point in got:
                want = {name: _shown(v) for name, v in final[point["id"]].items()}
                assert set(point["vector"]) == set(want), point
                for name, value in want.items():
                    if isinstance(value, dict):
                        assert point["vector"][name] == value
                    else:
                        np.testing.assert_allclose(point["vector"][name], value, rtol=1e-6)
            queries = {
                "image": [1.0, 1.0, 1.0],
                "text": [0.0, 0.0],
                "words": {"indices": [3], "values": [1.0]},
                "colbert": [[1.0, 0.0]],
            }
            for using, query in queries.items():
                r = http.post(
                    f"/collections/{story.NAME}/points/query",
                    json={"query": query, "using": using, "limit": 10},
                )
                ids = {p["id"] for p in r.json()["result"]["points"]}
                carriers = {i for i, p in final.items() if using in p}
                assert ids == carriers if using != "words" else ids <= carriers, (using, ids)
