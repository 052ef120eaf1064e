"""Catalog version 3: aliases (all of a list of actions or none, durably), metadata and recorded
settings; catalogs of versions 1 and 2 still open, with neither."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

import pytest

from zoro import checked_json
from zoro.errors import (
    AliasExists,
    AliasNotFound,
    CollectionExists,
    CollectionNotFound,
    CorruptionError,
    StorageError,
)
from zoro.storage import Catalog, CreateAlias, DeleteAlias, RenameAlias
from zoro.storage.catalog import CATALOG
from zoro.types import Distance, VectorConfig

if TYPE_CHECKING:
    from pathlib import Path

ENGINE = {"kind": "hnsw"}


def _create(catalog: Catalog, name: str) -> None:
    catalog.begin_create(name, VectorConfig.single(4, Distance.DOT), ENGINE, {"team": name})
    catalog.finish_create(name)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = Catalog.open(tmp_path)
    _create(catalog, "a")
    _create(catalog, "b")
    return catalog


def test_actions_apply_in_order_and_survive_a_reopen(catalog: Catalog, tmp_path: Path) -> None:
    result = catalog.change_aliases(
        [
            CreateAlias("x", "a"),
            CreateAlias("y", "b"),
            RenameAlias("x", "z"),
            CreateAlias("y", "a"),  # an existing alias is moved, as in Qdrant
            DeleteAlias("never-there"),  # deleting a missing alias is no error
        ]
    )
    assert result == {"z": "a", "y": "a"}
    assert Catalog.open(tmp_path).aliases() == {"z": "a", "y": "a"}
    assert catalog.alias_target("z") == "a"
    assert catalog.alias_target("a") is None


@pytest.mark.parametrize(
    ("actions", "error"),
    [
        ([CreateAlias("x", "a"), CreateAlias("w", "missing")], CollectionNotFound),
        ([CreateAlias("x", "a"), CreateAlias("b", "a")], CollectionExists),
        ([CreateAlias("x", "a"), RenameAlias("x", "b")], CollectionExists),
        ([CreateAlias("x", "a"), RenameAlias("nope", "q")], AliasNotFound),
        ([CreateAlias("x", "a"), CreateAlias("w", "x")], CollectionNotFound),  # not to an alias
    ],
)
def test_a_bad_action_changes_nothing(
    catalog: Catalog, tmp_path: Path, actions: list[CreateAlias | RenameAlias], error: type
) -> None:
    catalog.change_aliases([CreateAlias("old", "b")])
    with pytest.raises(error):
        catalog.change_aliases(actions)
    assert catalog.aliases() == {"old": "b"}
    assert Catalog.open(tmp_path).aliases() == {"old": "b"}


def test_a_failed_write_changes_nothing(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(checked_json, "write", refuse)
    with pytest.raises(StorageError):
        catalog.change_aliases([CreateAlias("x", "a")])
    assert catalog.aliases() == {}
    monkeypatch.undo()
    assert Catalog.open(tmp_path).aliases() == {}


def test_deleting_a_collection_drops_its_aliases_in_the_same_write(
    catalog: Catalog, tmp_path: Path
) -> None:
    catalog.change_aliases([CreateAlias("x", "a"), CreateAlias("y", "b")])
    catalog.begin_delete("a")
    # a crash here: the entry says 'deleting' and its alias is already gone
    assert Catalog.open(tmp_path).aliases() == {"y": "b"}
    assert [e.name for e in Catalog.open(tmp_path).entries()] == ["b"]


def test_a_collection_cannot_take_an_alias_name(catalog: Catalog) -> None:
    catalog.change_aliases([CreateAlias("x", "a")])
    with pytest.raises(AliasExists):
        catalog.begin_create("x", VectorConfig.single(4, Distance.DOT), ENGINE)


def test_metadata_and_settings_are_kept(catalog: Catalog, tmp_path: Path) -> None:
    entry = catalog.update(
        "a",
        lambda e: replace(
            e,
            config=MappingProxyType({"params": {"on_disk_payload": True}}),
            metadata=MappingProxyType({"team": "search", "n": [1, 2]}),
        ),
    )
    again = Catalog.open(tmp_path).get("a")
    assert again is not None
    assert dict(again.metadata or {}) == {"team": "search", "n": [1, 2]} == entry.metadata
    assert dict(again.config) == {"params": {"on_disk_payload": True}}
    other = Catalog.open(tmp_path).get("b")
    assert other is not None
    assert dict(other.metadata or {}) == {"team": "b"}


def _rewrite(tmp_path: Path, change: dict[str, object]) -> None:
    doc = checked_json.read(tmp_path / CATALOG)
    checked_json.write(tmp_path / CATALOG, {**doc, **change})


def test_version_2_catalogs_open_with_no_aliases_and_no_metadata(
    catalog: Catalog, tmp_path: Path
) -> None:
    catalog.change_aliases([CreateAlias("x", "a")])
    doc = checked_json.read(tmp_path / CATALOG)
    old = []
    for item in doc["collections"]:  # type: ignore[attr-defined]
        item = dict(item)
        del item["config"], item["metadata"]
        old.append(item)
    _rewrite(tmp_path, {"version": 2, "collections": old, "aliases": {"ignored": "a"}})
    reopened = Catalog.open(tmp_path)
    assert reopened.aliases() == {}
    entry = reopened.get("a")
    assert entry is not None
    assert entry.metadata is None
    assert dict(entry.config) == {}


def test_dangling_aliases_are_dropped_and_a_shadowing_one_refused(
    catalog: Catalog, tmp_path: Path
) -> None:
    _rewrite(tmp_path, {"aliases": {"x": "gone", "y": "a"}})
    assert Catalog.open(tmp_path).aliases() == {"y": "a"}
    assert checked_json.read(tmp_path / CATALOG)["aliases"] == {"y": "a"}  # tidied on disk
    _rewrite(tmp_path, {"aliases": {"b": "a"}})
    with pytest.raises(CorruptionError, match="also a collection"):
        Catalog.open(tmp_path)
