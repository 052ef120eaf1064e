"""A WAL batch torn by a power cut during its sync is cut off, never refused as corruption.

A child process logs batches on powerfs; the fsync of its last batch is held at the gate, the
child is killed and the held fsync failed. Then the power is cut many times over from that same
disk (each seed writes the unsynced pages back in another order) and recover() must keep every
synced batch and a clean prefix of the torn one. Before format 2 (records that know their
batch), a bad record followed by a good one of the same batch was refused as corruption.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from tests.powerloss.disk import Disk
from tests.powerloss.mount import ROOT, mounted
from tests.powerloss.wal_child import batch
from tests.wal.conftest import assert_same_op, replayed
from zoro.fsutil import make_dirs
from zoro.wal import recover
from zoro.wal._reader import _good_record_batch

BATCHES, RECORDS = 3, 12
CUTS = 300


def _disk_with_a_torn_batch(root: Path) -> Disk:
    """The disk, cache and all, at the moment the child died in its last batch's fsync."""
    with mounted(root) as disk:
        make_dirs(disk.path / "wal")
        command = [sys.executable, "-m", "tests.powerloss.wal_child", str(disk.path / "wal")]
        with subprocess.Popen(
            [*command, str(BATCHES), str(RECORDS)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        ) as child:
            assert child.stdin is not None
            assert child.stdout is not None
            try:
                assert child.stdout.readline().strip() == b"ready"
                disk.close_gate()
                child.stdin.write(b"go\n")
                child.stdin.flush()
                assert disk.wait_held(1), "the last batch's fsync never came"
                child.kill()
            finally:
                disk.drop_gate()  # the killed child waits for its fsync's answer: fail it
                child.kill()
        disk.command(f"cut clean 0 {root / 'state'}")
        disk.check_no_errors()
    return Disk(pickle.loads((root / "state.before").read_bytes()))


@pytest.mark.usefixtures("fuse")
def test_a_torn_unsynced_batch_is_cut_and_every_synced_one_kept(tmp_path: Path) -> None:
    before = _disk_with_a_torn_batch(tmp_path)
    written = [op for b in range(BATCHES + 1) for op in batch(b * RECORDS, RECORDS)]
    synced = BATCHES * RECORDS
    bad_then_good = 0
    for seed in range(CUTS):
        after = before.cut("random", seed)
        wal = tmp_path / f"cut{seed}"
        wal.mkdir()
        for name, ino in after.lookup("/wal").entries.items():
            (wal / name).write_bytes(bytes(after.inodes[ino].data))
        got = recover(wal)  # never CorruptionError
        assert synced <= got.last_lsn <= synced + RECORDS
        kept = replayed(wal)
        assert [lsn for lsn, _op in kept] == list(range(1, got.last_lsn + 1))
        for (_lsn, op), want in zip(kept, written, strict=False):
            assert_same_op(op, want)
        for aside in wal.glob("*.tr*"):  # was a good record left behind a bad one?
            data = aside.read_bytes()
            bad_then_good += any(_good_record_batch(data, at, 2) for at in range(1, len(data)))
    assert bad_then_good, "no cut tore the batch with a good record behind a bad one"
