"""Catalog: create / delete in two durable steps, and recovery from a crash between them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from zoro.errors import CollectionExists, CollectionNotFound, CorruptionError
from zoro.settings import StorageSettings
from zoro.storage import Catalog, CollectionState, CollectionStore
from zoro.types import Distance, VectorConfig

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ENGINE = {"kind": "hnsw", "m": 16}


def _create(catalog: Catalog, name: str, dimension: int = 4) -> None:
    entry = catalog.begin_create(name, VectorConfig.single(dimension, Distance.COSINE), ENGINE)
    CollectionStore.create(catalog.collection_dir(entry), dimension, StorageSettings()).close()
    catalog.finish_create(name)


def test_open_creates_an_empty_catalog(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "data")
    assert catalog.entries() == []
    assert (tmp_path / "data" / "catalog").is_file()
    assert (tmp_path / "data" / "collections").is_dir()


def test_create_list_get_and_reopen(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "b", 8)
    _create(catalog, "a")
    assert [e.name for e in catalog.entries()] == ["a", "b"]
    entry = catalog.get("b")
    assert entry is not None
    assert (entry.dimension, entry.distance, entry.state) == (8, Distance.COSINE, "ready")
    assert dict(entry.engine) == ENGINE
    assert len(entry.id) == 32
    assert entry.created_at > 0
    assert catalog.collection_dir(entry) == tmp_path / "collections" / entry.id
    assert Catalog.open(tmp_path).entries() == catalog.entries()


def test_a_creating_collection_is_not_listed(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    catalog.begin_create("new", VectorConfig.single(4, Distance.DOT), {})
    assert catalog.entries() == []
    assert catalog.get("new") is None


def test_name_taken_in_any_state(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    catalog.begin_create("creating", VectorConfig.single(4, Distance.DOT), {})
    _create(catalog, "ready")
    _create(catalog, "deleting")
    catalog.begin_delete("deleting")
    for name in ("creating", "ready", "deleting"):
        with pytest.raises(CollectionExists):
            catalog.begin_create(name, VectorConfig.single(4, Distance.DOT), {})


def test_delete_removes_directory_and_entry(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "a")
    entry = catalog.begin_delete("a")
    assert entry.state is CollectionState.DELETING
    assert catalog.get("a") is None
    catalog.finish_delete("a")
    assert not catalog.collection_dir(entry).exists()
    assert Catalog.open(tmp_path).entries() == []
    _create(catalog, "a")  # the name is free again


def test_delete_of_unknown_collection(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    with pytest.raises(CollectionNotFound):
        catalog.begin_delete("nope")
    catalog.begin_create("half", VectorConfig.single(4, Distance.DOT), {})
    with pytest.raises(CollectionNotFound):
        catalog.begin_delete("half")  # not ready yet
    with pytest.raises(CollectionNotFound):
        catalog.finish_delete("half")  # not being deleted


def test_crash_during_create_is_rolled_back(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "keep")
    entry = catalog.begin_create("half", VectorConfig.single(4, Distance.EUCLID), {})
    directory = catalog.collection_dir(entry)
    (directory / "source").mkdir(parents=True)
    (directory / "source" / "vectors").write_bytes(b"ZVEC")  # half-made, no meta
    del catalog  # crash
    catalog = Catalog.open(tmp_path)
    assert [e.name for e in catalog.entries()] == ["keep"]
    assert not directory.exists()
    catalog.begin_create(
        "half", VectorConfig.single(4, Distance.EUCLID), {}
    )  # no half entry holds the name
    assert "half" in (tmp_path / "catalog").read_text()


def test_crash_during_delete_is_finished(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "gone")
    entry = catalog.begin_delete("gone")
    del catalog  # crash before finish_delete
    catalog = Catalog.open(tmp_path)
    assert catalog.entries() == []
    assert not catalog.collection_dir(entry).exists()
    assert "gone" not in (tmp_path / "catalog").read_text()


def test_orphan_directory_is_removed(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "keep")
    orphan = tmp_path / "collections" / ("0" * 32)
    (orphan / "index").mkdir(parents=True)
    stray_file = tmp_path / "collections" / "README"
    stray_file.write_text("not a collection directory")
    catalog = Catalog.open(tmp_path)
    assert not orphan.exists()
    assert stray_file.exists()  # only directories are collections
    entry = catalog.get("keep")
    assert entry is not None
    assert catalog.collection_dir(entry).is_dir()


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # torn: not JSON any more
        lambda raw: raw.replace(b'"size": 4', b'"size": 5'),  # rot: JSON, bad CRC
        lambda raw: b"[]",
    ],
)
def test_corrupt_catalog_is_refused(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "a")
    path = tmp_path / "catalog"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CorruptionError) as caught:
        Catalog.open(tmp_path)
    assert caught.value.path == str(path)
    assert len(list((tmp_path / "collections").iterdir())) == 1  # nothing was removed


def test_missing_catalog_beside_collections_is_refused(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "a")
    (tmp_path / "catalog").unlink()
    with pytest.raises(CorruptionError, match="missing"):
        Catalog.open(tmp_path)
    assert len(list((tmp_path / "collections").iterdir())) == 1


def test_catalog_entry_with_a_path_for_an_id_is_refused(tmp_path: Path) -> None:
    from zoro import checked_json as _jsonfile

    catalog = Catalog.open(tmp_path)
    _create(catalog, "a")
    data = _jsonfile.read(tmp_path / "catalog")
    collections = data["collections"]
    assert isinstance(collections, list)
    collections[0]["id"] = "../../elsewhere"
    _jsonfile.write(tmp_path / "catalog", data)
    with pytest.raises(CorruptionError, match="bad id"):
        Catalog.open(tmp_path)
