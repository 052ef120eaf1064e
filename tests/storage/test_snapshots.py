"""Snapshot archives (zoro.storage.snapshots): what a snapshot links, that the archive restores
the checkpoint exactly (a compacted collection too), and that every kind of damage is refused
by name before anything is written."""

from __future__ import annotations

import io
import tarfile
from typing import TYPE_CHECKING

import orjson
import pytest

from zoro.errors import CorruptionError
from zoro.settings import StorageSettings
from zoro.storage import CollectionStore, snapshots

from .test_compaction import LAYOUT, Churn, _check

if TYPE_CHECKING:
    from pathlib import Path

SETTINGS = StorageSettings()


def _snapshot(store: CollectionStore, tmp_path: Path) -> Path:
    store.checkpoint()
    staging = tmp_path / "staging"
    paths = snapshots.link(store.directory, store.file_generation, store.file_lengths(), staging)
    target = tmp_path / "snaps" / "c.snapshot"
    snapshots.pack(staging, paths, {"name": "c"}, store.checkpoint_lsn, target)
    assert not staging.exists()
    return target


@pytest.mark.parametrize("compacted", [False, True])
def test_an_archive_restores_the_checkpoint(tmp_path: Path, compacted: bool) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(21)
    for _ in range(4):
        churn.step(store)
    if compacted:
        compaction = store.begin_compaction()
        compaction.copy()
        store.switch_to(compaction)
    archive = _snapshot(store, tmp_path)
    churn_after = Churn(22)
    churn_after.step(store)  # after the snapshot: appended to the very files it linked
    manifest = snapshots.verify(archive)
    assert manifest.checkpoint_lsn == len(churn.log)
    assert not any(p.startswith("wal/") for p in manifest.files)
    assert ("files.1/source/payloads" in manifest.files) is compacted
    assert (tmp_path / "snaps" / "c.snapshot.checksum").read_text().strip() == (
        snapshots.describe(archive).checksum
    )
    assert snapshots.unpack(archive, tmp_path / "restored") == manifest
    restored = CollectionStore.open(tmp_path / "restored", LAYOUT, SETTINGS)
    _check(restored, churn.model)
    assert restored.checkpoint_lsn == len(churn.log)
    restored.close()
    store.close()


def _rewritten(archive: Path, change: object) -> Path:
    """A copy of `archive` with its members passed through `change(name, data) -> (name,
    data) | None` (None: left out)."""
    out = archive.with_name("changed.snapshot")
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src:
            f = src.extractfile(member)
            assert f is not None
            kept = change(member.name, f.read())  # type: ignore[operator]
            if kept is None:
                continue
            name, data = kept
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def _manifest_with(**changes: object) -> object:
    def change(name: str, data: bytes) -> tuple[str, bytes]:
        if name == snapshots.MANIFEST:
            doc = orjson.loads(data)
            doc.update(changes)
            data = orjson.dumps(doc)
        return name, data

    return change


def _flip(name: str, data: bytes) -> tuple[str, bytes]:
    if name.endswith("index/slots"):
        data = data[:-1] + bytes([data[-1] ^ 1])
    return name, data


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_flip, "index/slots does not match its checksum"),
        (lambda n, d: None if n.endswith("meta") else (n, d), "meta is missing"),
        (lambda n, d: (n, d) if n == snapshots.MANIFEST else (n + "x", d), "unexpected member"),
        (_manifest_with(version=2), "version 2, this server reads 1"),
        (_manifest_with(format="other"), "format 'other'"),
        (_manifest_with(files={"../escape": {"size": 1, "sha256": ""}}), "bad file path"),
    ],
)
def test_damage_is_refused_by_name(tmp_path: Path, change: object, said: str) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    Churn(23).step(store)
    archive = _rewritten(_snapshot(store, tmp_path), change)
    store.close()
    with pytest.raises(CorruptionError, match=said) as caught:
        snapshots.verify(archive)
    assert archive.name in str(caught.value)


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    Churn(24).step(store)
    archive = _snapshot(store, tmp_path)
    store.close()
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptionError, match=r"c\.snapshot"):
        snapshots.verify(archive)


def test_names_are_plain_snapshot_files() -> None:
    assert snapshots.valid_name("c-1-2026-12-07-10-00-00.snapshot")
    for bad in ("../c.snapshot", "c.snapshot/x", ".c.snapshot", "c.tar", "a/b.snapshot", ""):
        assert not snapshots.valid_name(bad)
