"""Write tests/formats/golden/v3/wal from the story in tests/formats/test_golden_wal_v3.py (once:
an existing directory is left alone): a WAL segment of format 3 with an upsert and a group
record (a batch update that deletes a point and writes two).

    python -m tests.formats.golden.generate_v3
"""

from __future__ import annotations

import sys

from tests.formats.test_golden_wal_v3 import WAL, logged
from zoro.settings import WalSettings
from zoro.wal import WalWriter


def main() -> int:
    if WAL.exists():
        print(f"{WAL} exists; remove it to write it again")
        return 1
    with WalWriter(WAL, next_lsn=1, settings=WalSettings()) as wal:
        for op in logged():
            wal.append([op])
    return 0


if __name__ == "__main__":
    sys.exit(main())
