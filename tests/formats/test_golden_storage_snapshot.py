"""A full-storage snapshot of format version 1 (written once by zoro.storage.snapshots
.pack_storage and never regenerated) is still read: its manifest, its aliases, and each
collection's archive, checked and extracted byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

from zoro.storage import snapshots

GOLDEN = Path(__file__).parent / "golden" / "storage_snapshot_v1" / "full.snapshot"
SHA256 = "772028f48e1d78742f8bd7347c8d18f7b2734db23385cbab3770680f2ba21b99"


def test_a_version_1_full_storage_snapshot_is_read(tmp_path: Path) -> None:
    assert hashlib.sha256(GOLDEN.read_bytes()).hexdigest() == SHA256, "never edit a golden file"
    manifest = snapshots.verify_storage(GOLDEN)
    assert manifest.aliases == {"latest": "two"}
    assert sorted(manifest.collections) == ["one", "two"]
    for name in ("one", "two"):
        snapshots.extract_collection(GOLDEN, name, tmp_path / name)
        assert (tmp_path / name).read_bytes() == f"the archive of collection {name}\n".encode()
