"""Bulk upload: stream points in batches, `parallel` requests in flight, each batch retried.

One producer task slices the input (a numpy array is sliced without copying; any iterable is
read a batch at a time), checks each batch as upsert() would and hands it to `parallel` sender
tasks through a channel of `parallel` places, so memory stays bounded however large the input.
Batches are acknowledged out of order; every upsert is by id, so a retried or repeated batch
changes nothing, and the first batch that fails for good stops the rest.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
import numpy as np

from zoro.client import _binary
from zoro.client import _validate as check
from zoro.client._base import Encoded
from zoro.client._errors import InvalidInput
from zoro.client._models import UploadResult
from zoro.client._transport import CallTrace

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from zoro.client._config import RetryPolicy
    from zoro.client._points import PointsMixin

MAX_PARALLEL = 64
# how batches are sent: the binary body when the server reads it, always binary, always JSON
Encoding = Literal["auto", "binary", "json"]


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int  # index of the first point in the whole input (for error messages)
    ids: Any
    vectors: Any
    payloads: Any


@dataclass(frozen=True, slots=True)
class Batch:
    start: int
    size: int
    body: dict[str, Any] | Encoded  # JSON, or the binary body (_binary)


@dataclass(slots=True)
class _State:
    tasks: TaskGroup | None = None
    points: int = 0
    batches: int = 0
    retried: int = 0
    error: BaseException | None = None
    on_batch: Callable[[int], object] | None = None

    def fail(self, exc: BaseException) -> None:
        """Keep the first error and stop every task: the rest of the upload is pointless."""
        if self.error is None:
            self.error = exc
        assert self.tasks is not None
        self.tasks.cancel_scope.cancel()


async def upload(
    client: PointsMixin,
    collection: str,
    source: Iterator[Chunk],
    *,
    parallel: int,
    wait: bool,
    retry: RetryPolicy,
    on_batch: Callable[[int], object] | None,
    encoding: Encoding = "auto",
) -> UploadResult:
    """See AsyncZoroClient.upload: send the chunks of `source`."""
    check.collection_name(collection, client._limits)
    check.positive(parallel, "parallel", high=MAX_PARALLEL)
    binary = await client._sends_binary(encoding)
    state = _State(on_batch=on_batch)
    started = time.perf_counter()
    send, receive = anyio.create_memory_object_stream[Batch](parallel)
    async with anyio.create_task_group() as tasks:
        state.tasks = tasks
        with receive:
            for _ in range(parallel):
                tasks.start_soon(_sender, client, collection, receive.clone(), state, wait, retry)
        tasks.start_soon(_producer, client, collection, source, send, state, binary)
    if state.error is not None:
        raise state.error
    return UploadResult(state.points, state.batches, time.perf_counter() - started, state.retried)


async def _producer(
    client: PointsMixin,
    collection: str,
    source: Iterator[Chunk],
    send: MemoryObjectSendStream[Batch],
    state: _State,
    binary: bool,
) -> None:
    position = 0
    with send:
        try:
            for chunk in source:
                position = chunk.start
                body = await client._upsert_body(
                    collection, chunk.ids, chunk.vectors, chunk.payloads
                )
                size = len(body["batch"]["ids"])
                # a batch the binary body cannot carry (multi, sparse, absent vectors) goes as JSON
                content = _binary.encode(body["batch"]) if binary else None
                sent = body if content is None else Encoded(content, _binary.MEDIA_TYPE)
                await send.send(Batch(chunk.start, size, sent))
        except Exception as exc:  # a bad batch or a broken input iterator ends the upload
            exc.add_note(f"upload: while preparing a batch, at or after point {position}")
            state.fail(exc)


async def _sender(
    client: PointsMixin,
    collection: str,
    receive: MemoryObjectReceiveStream[Batch],
    state: _State,
    wait: bool,
    retry: RetryPolicy,
) -> None:
    with receive:
        async for batch in receive:
            trace = CallTrace()
            try:
                await client._send_upsert(
                    collection, batch.body, wait=wait, retry=retry, trace=trace
                )
            except Exception as exc:
                exc.add_note(
                    f"upload: the batch of points {batch.start}..{batch.start + batch.size - 1} "
                    f"failed after {trace.attempts} attempt(s); other batches may be stored, "
                    "and uploading again is safe (upserts by id are idempotent)"
                )
                state.fail(exc)
                return
            state.points += batch.size
            state.batches += 1
            state.retried += trace.attempts > 1
            if state.on_batch is not None:
                state.on_batch(batch.size)


def chunks(
    ids: Iterable[object] | None,
    vectors: Iterable[object],
    payloads: Iterable[object] | None,
    batch_size: int,
) -> Iterator[Chunk]:
    """The input in batches of `batch_size`, ids and payloads kept in step with the vectors.
    Without ids, each point gets a random UUID, made before its batch is first sent, so that a
    retried batch writes the same points."""
    id_parts = None if ids is None else _slices(ids, batch_size)
    payload_parts = None if payloads is None else _slices(payloads, batch_size)
    start = 0
    parts = _named_slices(vectors, batch_size) if isinstance(vectors, Mapping) else None
    for rows in parts if parts is not None else _slices(vectors, batch_size):
        n = len(next(iter(rows.values()))) if isinstance(rows, dict) else len(rows)
        if id_parts is None:
            batch_ids: Any = [str(uuid.uuid4()) for _ in range(n)]
        else:
            batch_ids = next(id_parts, ())
        batch_payloads = None if payload_parts is None else next(payload_parts, ())
        for given, what in ((batch_ids, "ids"), (batch_payloads, "payloads")):
            if given is not None and len(given) != n:
                raise InvalidInput(
                    f"upload: {what} and vectors out of step: {len(given)} {what} for the {n} "
                    f"vectors from point {start}"
                )
        yield Chunk(start, batch_ids, rows, batch_payloads)
        start += n
    for parts, what in ((id_parts, "ids"), (payload_parts, "payloads")):
        if parts is not None and next(parts, None) is not None:
            raise InvalidInput(f"upload: more {what} than the {start} vectors")


def _named_slices(vectors: Mapping[Any, Any], size: int) -> Iterator[dict[Any, Any]]:
    """Named columns ({name: vectors}) cut in step: one {name: slice} per batch."""
    if not vectors:
        raise InvalidInput("upload: named vectors need at least one column (use upload_points)")
    columns = {name: _slices(column, size) for name, column in vectors.items()}
    start = 0
    while True:
        batch = {name: next(parts, None) for name, parts in columns.items()}
        if all(part is None for part in batch.values()):
            return
        lengths = {name: 0 if part is None else len(part) for name, part in batch.items()}
        if len(set(lengths.values())) > 1:
            counts = ", ".join(f"{name!r}: {n}" for name, n in lengths.items())
            raise InvalidInput(
                f"upload: named vector columns out of step from point {start} ({counts})"
            )
        yield batch
        start += next(iter(lengths.values()))


def point_chunks(points: Iterable[object], batch_size: int) -> Iterator[Chunk]:
    """Batches from points given one by one: (id, vector), (id, vector, payload) or a mapping
    with "id", "vector" and optionally "payload" (a line of a .jsonl file)."""
    start = 0
    for part in _slices(points, batch_size):
        ids, vectors, payloads = [], [], []
        for i, point in enumerate(part, start):
            pid, vector, payload = _unpack(point, i)
            ids.append(pid)
            vectors.append(vector)
            payloads.append(payload)
        yield Chunk(start, ids, vectors, payloads)
        start += len(part)


def _unpack(point: object, i: int) -> tuple[object, object, object]:
    if isinstance(point, Mapping):
        if "id" not in point or "vector" not in point:
            raise InvalidInput(f'points[{i}]: needs "id" and "vector"')
        return point["id"], point["vector"], point.get("payload")
    if isinstance(point, tuple | list) and len(point) in (2, 3):
        return point[0], point[1], point[2] if len(point) == 3 else None
    raise InvalidInput(f"points[{i}]: use (id, vector[, payload]) or a dict with id and vector")


def _slices(source: Iterable[Any], size: int) -> Iterator[Any]:
    """Views of arrays and ranges, slices of sequences, lists drawn from anything else."""
    if isinstance(source, np.ndarray | range | list | tuple):
        for s in range(0, len(source), size):
            yield source[s : s + size]
        return
    items = iter(source)
    while part := list(itertools.islice(items, size)):
        yield part


def total_of(vectors: object) -> int | None:
    """The number of points, when it is known without reading the input."""
    if isinstance(vectors, Mapping):
        return total_of(next(iter(vectors.values()))) if vectors else None
    try:
        return len(vectors)  # type: ignore[arg-type]
    except TypeError:
        return None
