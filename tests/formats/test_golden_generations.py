"""The file-generation formats (docs/compaction.md): meta version 3 and ANN manifest version 2,
each written once by this code into tests/formats/golden/generations/ and read back here as
committed, beside the version 2 meta and version 1 manifest every older golden collection has
(they read as generation 0)."""

from __future__ import annotations

from pathlib import Path

from tests.formats import golden_v1
from zoro import checked_json
from zoro.ann.manifest import read_manifest
from zoro.storage import meta
from zoro.types import Distance

GOLDEN = Path(__file__).parent / "golden" / "generations"


def test_meta_version_3_names_its_file_generation() -> None:
    assert checked_json.read(GOLDEN / "meta")["version"] == 3
    read = meta.read(GOLDEN / "meta")
    assert (read.files, read.generation, read.checkpoint_lsn, read.slots, read.live) == (
        2,
        5,
        40,
        11,
        10,
    )


def test_manifest_version_2_names_its_file_generation() -> None:
    manifest = read_manifest(GOLDEN)
    assert manifest is not None
    assert (manifest.files, manifest.dimension, manifest.distance) == (2, 4, Distance.DOT)
    assert [e.file for e in manifest.segments] == ["seg-0000000003.zann"]


def test_older_files_read_as_generation_0() -> None:
    collections = golden_v1.DATA / "collections"
    manifests = sorted(collections.glob("*/ann/manifest"))
    assert manifests
    for path in manifests:
        manifest = read_manifest(path.parent)
        assert manifest is not None
        assert manifest.files == 0
    for path in sorted(collections.glob("*/meta")):
        assert meta.read(path).files == 0
