"""Write tests/formats/golden/catalog_v3/data/catalog: a version-3 catalog (aliases, metadata,
recorded settings), by today's Catalog (once: an existing directory is left alone). Only the
catalog: the collections' own files are the v1/v2 stories' business.

    python -m tests.formats.golden.generate_catalog_v3
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from dataclasses import replace
from types import MappingProxyType

from tests.formats import golden_catalog_v3 as story
from zoro.storage import Catalog, CreateAlias


def main() -> int:
    if story.DATA.exists():
        print(f"{story.DATA} exists; remove it to write it again")
        return 1
    ids = iter(story.IDS.values())
    uuid.uuid4 = lambda: uuid.UUID(next(ids))  # type: ignore[assignment]  # pinned, as v1's
    time.time = lambda: story.CREATED_AT  # type: ignore[assignment]
    catalog = Catalog.open(story.DATA)
    for name, (config, metadata, engine) in story.COLLECTIONS.items():
        catalog.begin_create(name, config, engine, metadata)
        catalog.finish_create(name)
        recorded = MappingProxyType(story.RECORDED.get(name, {}))
        catalog.update(name, lambda e, recorded=recorded: replace(e, config=recorded))
    catalog.change_aliases([CreateAlias(a, c) for a, c in story.ALIASES.items()])
    shutil.rmtree(story.DATA / "collections")  # empty directories; git keeps no such thing
    return 0


if __name__ == "__main__":
    sys.exit(main())
