"""Append-only write-ahead log: record codec with CRC, segment files, batch writer, replay.

Plain blocking code with no trio in it; the collection actor runs it in a worker thread.
The byte layout is documented in _format.py.

    recover(dir)                    check every segment, cut a torn tail, or refuse
    replay(dir, after_lsn)          the logged ops after a checkpoint, in LSN order
    WalWriter(dir, next_lsn=...)    append batches, one write and one sync each
    WalTail(dir, after_lsn)         a follower's reader, up to the LSN the owner publishes
"""

from zoro.wal._recovery import WalRecovery, recover
from zoro.wal._replay import replay
from zoro.wal._tail import WalTail
from zoro.wal._writer import WalStats, WalWriter

__all__ = ["WalRecovery", "WalStats", "WalTail", "WalWriter", "recover", "replay"]
