"""A child process that logs WAL batches on powerfs, for the torn-batch test.

    python -m tests.powerloss.wal_child DIRECTORY BATCHES RECORDS

Appends BATCHES synced batches of RECORDS records, prints "ready", waits for a line on stdin,
then appends one more such batch (the test holds its fsync at the gate and kills us).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from zoro.settings import WalSettings
from zoro.types import UpsertBatch, int_keys

DIM = 16


def batch(first: int, records: int) -> list[UpsertBatch]:
    ops = []
    for i in range(first, first + records):
        ids = np.arange(i * 10, i * 10 + 5, dtype=np.uint64)
        vectors = np.full((5, DIM), float(i), dtype=np.float32)
        ops.append(UpsertBatch(int_keys(ids), vectors, [b'{"r":%d}' % i] * 5))
    return ops


def main(argv: list[str]) -> int:
    from zoro.wal import WalWriter

    directory, batches, records = Path(argv[0]), int(argv[1]), int(argv[2])
    wal = WalWriter(directory, next_lsn=1, settings=WalSettings(segment_max_bytes=1 << 30))
    for b in range(batches):
        wal.append(batch(b * records, records))
    print("ready", flush=True)
    sys.stdin.readline()
    wal.append(batch(batches * records, records))
    print("synced", flush=True)  # only once the gate opens: never, in the test
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
