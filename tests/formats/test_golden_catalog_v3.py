"""The golden version-3 catalog (tests/formats/golden/catalog_v3) opens with today's code as the
story that wrote it says: entries, their metadata and recorded settings, and the aliases."""

from __future__ import annotations

import hashlib
import shutil
from typing import TYPE_CHECKING

from tests.formats import golden_catalog_v3 as story
from zoro import checked_json
from zoro.storage import Catalog

if TYPE_CHECKING:
    from pathlib import Path

SIZE, DIGEST = 1801, "f3a8d5885fdbb025"


def test_the_file_is_as_committed() -> None:
    raw = (story.DATA / "catalog").read_bytes()
    assert (len(raw), hashlib.sha256(raw).hexdigest()[:16]) == (SIZE, DIGEST)
    doc = checked_json.read(story.DATA / "catalog")
    assert (doc["format"], doc["version"]) == ("zoro-catalog", 3)


def test_it_opens_as_the_story_wrote_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(story.DATA, data)
    catalog = Catalog.open(data)
    assert catalog.aliases() == story.ALIASES
    assert [e.name for e in catalog.entries()] == ["docs", "logs"]
    for name, (vectors, metadata, engine) in story.COLLECTIONS.items():
        entry = catalog.get(name)
        assert entry is not None
        assert entry.id == story.IDS[name]
        assert entry.created_at == story.CREATED_AT
        assert entry.vectors == vectors
        assert dict(entry.engine) == engine
        assert (None if entry.metadata is None else dict(entry.metadata)) == metadata
        assert dict(entry.config) == story.RECORDED.get(name, {})
