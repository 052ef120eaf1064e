"""Write tests/formats/golden/v2/data from the story in tests/formats/golden_v2.py (once: an
existing directory is left alone). Plays the story through the same components a collection
actor uses, in the same order: log, then apply; a checkpoint; then writes only logged.

    python -m tests.formats.golden.generate_v2
"""

from __future__ import annotations

import sys

from tests.formats import golden_v2 as story
from zoro.settings import Settings
from zoro.storage import Catalog, CollectionStore, Layout
from zoro.wal import WalWriter


def main() -> int:
    if story.DATA.exists():
        print(f"{story.DATA} exists; remove it to write it again")
        return 1
    settings = Settings()
    catalog = Catalog.open(story.DATA)
    catalog.begin_create(story.NAME, story.CONFIG, {"kind": "flat"})
    entry = catalog.finish_create(story.NAME)
    directory = catalog.collection_dir(entry)
    store = CollectionStore.create(directory, Layout.of(story.CONFIG), settings.storage)
    wal = WalWriter(directory / "wal", next_lsn=1, settings=settings.wal)
    first = story.upsert(story.CHECKPOINTED)
    lsn = wal.append([first])
    store.apply_many([(lsn, first)])
    store.checkpoint()
    wal.remove_segments_through(store.checkpoint_lsn)
    wal.append(story.logged_ops())  # logged, not applied: recovery replays them
    wal.close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
