"""Storage engine benchmark: build a collection, checkpoint it, reopen it, read it back.

    .venv/bin/python bench/storage_open.py [--points 1000000] [--dim 128] [--batch 1000]
                                           [--order shuffled|sequential]

By default ids are shuffled, so every batch is out of key order and lands all over the index (the
delta run fills and merges); `--order sequential` is the easy case of ascending ids. Every point
has a small JSON payload. Reports apply throughput, checkpoint time, open time
(the page cache is warm: this measures the engine, not the disk), and read timings.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from zoro.settings import StorageSettings
from zoro.storage import CollectionStore
from zoro.types import UpsertBatch, int_keys


def _timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"{label:<44} {(time.perf_counter() - start) * 1000:10.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--order", choices=["shuffled", "sequential"], default="shuffled")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    ids = np.arange(args.points, dtype=np.uint64)
    if args.order == "shuffled":
        ids = rng.permutation(ids)
    pool = rng.standard_normal((args.batch, args.dim), dtype=np.float32)
    settings = StorageSettings()

    with tempfile.TemporaryDirectory(prefix="zoro-bench-") as tmp:
        directory = Path(tmp) / "collection"
        store = CollectionStore.create(directory, args.dim, settings)
        batches = [
            (lsn, int_keys(ids[start : start + args.batch]))
            for lsn, start in enumerate(range(0, args.points, args.batch), start=1)
        ]
        payloads = [b'{"n":%d,"tag":"bench"}' % i for i in range(args.batch)]
        apply_s = 0.0
        for lsn, keys in batches:
            op = UpsertBatch(keys, pool[: len(keys)], payloads[: len(keys)])
            start = time.perf_counter()
            store.apply_many([(lsn, op)])
            apply_s += time.perf_counter() - start
        print(f"points {args.points:,} x dim {args.dim}, batches of {args.batch}, {args.order} ids")
        print(
            f"{'apply (new points)':<44} {apply_s * 1000:10.1f} ms  "
            f"{args.points / apply_s:,.0f} points/s  "
            f"{apply_s / len(batches) * 1e6:,.0f} us/batch"
        )
        replace_s = 0.0
        for lsn, keys in batches[:200]:
            op = UpsertBatch(keys, pool[: len(keys)], payloads[: len(keys)])
            start = time.perf_counter()
            store.apply_many([(len(batches) + lsn, op)])
            replace_s += time.perf_counter() - start
        print(
            f"{'apply (replacing existing points)':<44} {replace_s * 1000:10.1f} ms  "
            f"{replace_s / 200 * 1e6:,.0f} us/batch"
        )
        _timed("checkpoint", store.checkpoint)
        store.close()

        store = _timed("open", CollectionStore.open, directory, args.dim, settings)
        live = _timed("live_slots", store.live_slots)
        vectors = _timed("vectors_of_slots(all live) bulk read", store.vectors_of_slots, live)
        assert vectors.shape == (args.points, args.dim)
        few = rng.choice(live, 10)
        _timed("vectors_of_slots(10 random)", store.vectors_of_slots, few)
        keys = int_keys(rng.choice(ids, 100))
        _timed(
            "get(100 random, vector + payload)",
            store.get,
            keys,
            with_vector=True,
            with_payload=True,
        )
        _timed("scroll(1000)", store.scroll, None, 1000)
        print(f"{'stats':<44} {store.stats()}")
        store.close()


if __name__ == "__main__":
    main()
