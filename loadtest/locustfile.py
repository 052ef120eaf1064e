"""Locust users for Zoro-DB: a search-heavy reader, a writer that journals its acks, an admin.

Run through `python -m loadtest.run` (it seeds the collection and verifies the journals), or by
hand: `locust -f loadtest/locustfile.py --headless -u 16 -r 16 --run-time 30s --host URL`.

Environment (all optional):

    ZORO_COLLECTION      collection the readers and writers use            (default "c")
    ZORO_DIM             vector dimension                                   (default 128)
    ZORO_SEED_POINTS     seeded ids are 0..N-1; readers retrieve from them  (default 200000)
    ZORO_SEED            base seed of every numpy generator                 (default 1234)
    ZORO_W_READER        weight of ReaderUser                               (default 8)
    ZORO_W_WRITER        weight of WriterUser                               (default 3)
    ZORO_W_ADMIN         weight of AdminUser                                (default 1)
    ZORO_QUERY_BATCH     searches per /points/query/batch                   (default 8)
    ZORO_RETRIEVE_IDS    ids per retrieve                                   (default 20)
    ZORO_BATCH_MIN       smallest upsert batch                              (default 100)
    ZORO_BATCH_MAX       largest upsert batch                               (default 1000)
    ZORO_READER_WAIT     max think time of a reader, seconds                (default 0.05)
    ZORO_WRITER_WAIT     max think time of a writer, seconds                (default 0.2)
    ZORO_ADMIN_WAIT      max think time of an admin, seconds (min is half)  (default 10)
    ZORO_JOURNAL_DIR     where writers append journal-<pid>.jsonl
                         (default loadtest/results/journal; run.py uses its work directory)

Writer ids: WRITER_BASE + (slot * 4096 + user_index) * ID_SPAN + counter, where slot is the
process id mod 4096, so concurrent writers (and locust worker processes) never share an id and
never touch the seed range. A journal line is appended only after a 200 answer, in ack order:
{"seq", "op": "upsert"|"delete", "id", "vector"?, "payload"?}. A request that failed is journaled
as {"op": "unknown", "ids": [...]}: its outcome is unknown, and the verifier reports those ids.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from locust import FastHttpUser, between, task

COLLECTION = os.environ.get("ZORO_COLLECTION", "c")
DIM = int(os.environ.get("ZORO_DIM", "128"))
SEED_POINTS = int(os.environ.get("ZORO_SEED_POINTS", "200000"))
SEED = int(os.environ.get("ZORO_SEED", "1234"))
QUERY_BATCH = int(os.environ.get("ZORO_QUERY_BATCH", "8"))
RETRIEVE_IDS = int(os.environ.get("ZORO_RETRIEVE_IDS", "20"))
BATCH_MIN = int(os.environ.get("ZORO_BATCH_MIN", "100"))
BATCH_MAX = int(os.environ.get("ZORO_BATCH_MAX", "1000"))
READER_WAIT = float(os.environ.get("ZORO_READER_WAIT", "0.05"))
WRITER_WAIT = float(os.environ.get("ZORO_WRITER_WAIT", "0.2"))
ADMIN_WAIT = float(os.environ.get("ZORO_ADMIN_WAIT", "10"))
JOURNAL_DIR = Path(os.environ.get("ZORO_JOURNAL_DIR", "loadtest/results/journal"))

WRITER_BASE = 1 << 40
ID_SPAN = 1 << 24
JSON = {"Content-Type": "application/json"}
TAGS = ("red", "green", "blue", "amber")

_user_index = itertools.count()
_seq = itertools.count()
_journal_lock = threading.Lock()
_journal: Any = None


def journal(records: list[dict[str, Any]]) -> None:
    """Append records (one JSON line each) in ack order; flushed before returning."""
    global _journal
    with _journal_lock:
        if _journal is None:
            JOURNAL_DIR.mkdir(parents=True, exist_ok=True)
            _journal = (JOURNAL_DIR / f"journal-{os.getpid()}.jsonl").open("ab")
        _journal.write(b"".join(orjson.dumps({"seq": next(_seq), **r}) + b"\n" for r in records))
        _journal.flush()


def dumps(obj: Any) -> str:
    """A JSON body (str: what locust's FastHttpSession is typed to take)."""
    return orjson.dumps(obj).decode()


def next_index() -> int:
    return next(_user_index)


class ReaderUser(FastHttpUser):
    """Search-heavy: single queries, batch queries, retrieves of seed points."""

    weight = int(os.environ.get("ZORO_W_READER", "8"))
    wait_time = between(0.0, READER_WAIT)

    def on_start(self) -> None:
        self.rng = np.random.default_rng([SEED, 1, os.getpid(), next_index()])

    def _vectors(self, n: int) -> list[list[float]]:
        out: list[list[float]] = self.rng.standard_normal((n, DIM), dtype=np.float32).tolist()
        return out

    @task(10)
    def query(self) -> None:
        body = {
            "query": self._vectors(1)[0],
            "limit": 10,
            "with_payload": bool(self.rng.integers(2)),
        }
        with self.client.post(
            f"/collections/{COLLECTION}/points/query",
            data=dumps(body),
            headers=JSON,
            name="query",
            catch_response=True,
        ) as resp:
            if resp.status_code == 200 and len(resp.json()["result"]["points"]) != 10:
                resp.failure("query: fewer than 10 points")

    @task(2)
    def query_batch(self) -> None:
        body = {"searches": [{"query": v, "limit": 10} for v in self._vectors(QUERY_BATCH)]}
        with self.client.post(
            f"/collections/{COLLECTION}/points/query/batch",
            data=dumps(body),
            headers=JSON,
            name="query_batch",
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                result = resp.json()["result"]
                if len(result) != QUERY_BATCH or any(len(r["points"]) != 10 for r in result):
                    resp.failure("query_batch: wrong answer count")

    @task(3)
    def retrieve(self) -> None:
        ids = self.rng.choice(SEED_POINTS, size=RETRIEVE_IDS, replace=False).tolist()
        with_payload = bool(self.rng.integers(2))
        body = {"ids": ids, "with_payload": with_payload}
        name = "retrieve+payload" if with_payload else "retrieve"
        with self.client.post(
            f"/collections/{COLLECTION}/points",
            data=dumps(body),
            headers=JSON,
            name=name,
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                got = resp.json()["result"]
                if sorted(p["id"] for p in got) != sorted(ids):
                    resp.failure("retrieve: seed points missing")
                elif with_payload and any(p.get("payload", {}).get("seed") != p["id"] for p in got):
                    resp.failure("retrieve: wrong seed payload")


class WriterUser(FastHttpUser):
    """Single upserts, batches of BATCH_MIN..BATCH_MAX, deletes and re-upserts of its own ids."""

    weight = int(os.environ.get("ZORO_W_WRITER", "3"))
    wait_time = between(0.0, WRITER_WAIT)

    def on_start(self) -> None:
        self.index = next_index()
        self.rng = np.random.default_rng([SEED, 2, os.getpid(), self.index])
        self.base = WRITER_BASE + ((os.getpid() % 4096) * 4096 + self.index) * ID_SPAN
        self.counter = 0
        self.version = 0
        self.live: list[int] = []  # acked upserted, not deleted since
        self.dead: list[int] = []  # acked deleted

    def _new_ids(self, n: int) -> list[int]:
        ids = list(range(self.base + self.counter, self.base + self.counter + n))
        self.counter += n
        return ids

    def _upsert(self, ids: list[int], name: str) -> None:
        vectors = self.rng.standard_normal((len(ids), DIM), dtype=np.float32).tolist()
        self.version += 1
        points = [
            {
                "id": i,
                "vector": v,
                "payload": {"w": self.index, "v": self.version, "tag": TAGS[i % len(TAGS)]},
            }
            for i, v in zip(ids, vectors, strict=True)
        ]
        with self.client.put(
            f"/collections/{COLLECTION}/points?wait=true",
            data=dumps({"points": points}),
            headers=JSON,
            name=name,
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                journal([{"op": "upsert", **p} for p in points])
                fresh = set(ids)
                self.dead = [i for i in self.dead if i not in fresh]
                known = set(self.live)
                self.live.extend(i for i in ids if i not in known)
            else:
                journal([{"op": "unknown", "ids": ids}])

    @task(6)
    def upsert_one(self) -> None:
        if self.dead and self.rng.random() < 0.2:  # re-create a deleted point
            victim = self.dead[int(self.rng.integers(len(self.dead)))]
            self._upsert([victim], "upsert x1 (recreate)")
        else:
            self._upsert(self._new_ids(1), "upsert x1")

    @task(2)
    def upsert_batch(self) -> None:
        n = int(self.rng.integers(BATCH_MIN, BATCH_MAX + 1))
        self._upsert(self._new_ids(n), "upsert batch")

    @task(1)
    def overwrite(self) -> None:
        if self.live:
            picks = self.rng.choice(len(self.live), size=min(5, len(self.live)), replace=False)
            self._upsert([self.live[int(k)] for k in picks], "upsert overwrite")

    @task(2)
    def delete(self) -> None:
        if len(self.live) < 10:
            return
        picks = set(self.rng.choice(len(self.live), size=5, replace=False).tolist())
        ids = [self.live[k] for k in picks]
        with self.client.post(
            f"/collections/{COLLECTION}/points/delete?wait=true",
            data=dumps({"points": ids}),
            headers=JSON,
            name="delete",
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                journal([{"op": "delete", "id": i} for i in ids])
                self.live = [i for k, i in enumerate(self.live) if k not in picks]
                self.dead.extend(ids)
            else:
                journal([{"op": "unknown", "ids": ids}])


class AdminUser(FastHttpUser):
    """Now and then creates a small collection, fills and queries it, and drops it."""

    weight = int(os.environ.get("ZORO_W_ADMIN", "1"))
    wait_time = between(ADMIN_WAIT / 2, ADMIN_WAIT)

    def on_start(self) -> None:
        self.index = next_index()
        self.rng = np.random.default_rng([SEED, 3, os.getpid(), self.index])
        self.round = 0

    @task
    def create_and_drop(self) -> None:
        self.round += 1
        name = f"adm-{os.getpid()}-{self.index}-{self.round}"
        path = f"/collections/{name}"
        body = {"vectors": {"size": 16, "distance": "Cosine"}}
        self.client.put(path, data=dumps(body), headers=JSON, name="create_collection")
        vectors = self.rng.standard_normal((50, 16), dtype=np.float32).tolist()
        points = [{"id": i, "vector": v} for i, v in enumerate(vectors)]
        self.client.put(
            path + "/points?wait=true",
            data=dumps({"points": points}),
            headers=JSON,
            name="admin upsert x50",
        )
        self.client.post(
            path + "/points/query",
            data=dumps({"query": vectors[0], "limit": 5}),
            headers=JSON,
            name="admin query",
        )
        self.client.delete(path, name="delete_collection")
