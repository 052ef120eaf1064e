"""New directories survive a power cut: each one's entry is synced in its parent.

Found by the torture loop: the data directory (so the whole catalog) and a collection's payload
index directory (so every acknowledged payload index) vanished in a clean power cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.payload.test_select import Source
from tests.powerloss.mount import PowerMount, mounted
from zoro.ann import SegmentedIndex
from zoro.fsutil import make_dirs
from zoro.payload import PayloadIndexes
from zoro.settings import AnnSettings, StorageSettings
from zoro.storage import Catalog, CollectionStore
from zoro.types import Distance, VectorConfig


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[PowerMount]:
    with mounted(tmp_path) as disk:
        yield disk
        disk.check_no_errors()


def test_make_dirs_makes_every_new_level_durable(disk: PowerMount) -> None:
    make_dirs(disk.path / "a" / "b" / "c")
    disk.power_cut()
    assert (disk.path / "a" / "b" / "c").is_dir()


def test_an_acknowledged_collection_survives_in_a_new_data_directory(disk: PowerMount) -> None:
    data = disk.path / "data"
    catalog = Catalog.open(data)
    entry = catalog.begin_create("c", VectorConfig.single(4, Distance.DOT), {})
    CollectionStore.create(catalog.collection_dir(entry), 4, StorageSettings()).close()
    catalog.finish_create("c")
    disk.power_cut()
    assert [e.name for e in Catalog.open(data).entries()] == ["c"]


def test_an_acknowledged_payload_index_survives(disk: PowerMount) -> None:
    make_dirs(disk.path / "coll")  # as the collection's files make it
    indexes = PayloadIndexes(disk.path / "coll")
    assert indexes.change("g", "integer") is not None
    indexes.write_schema()  # what acknowledges the index
    disk.power_cut()
    assert PayloadIndexes.open(disk.path / "coll", 0, Source([])).schema_of("g") == "integer"


def test_the_ann_directory_survives(disk: PowerMount) -> None:
    make_dirs(disk.path / "coll")
    SegmentedIndex(disk.path / "coll" / "ann", 4, Distance.DOT, AnnSettings())
    disk.power_cut()
    assert (disk.path / "coll" / "ann").is_dir()
