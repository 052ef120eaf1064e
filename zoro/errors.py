"""Every error Zoro-DB raises on purpose. One root; each family carries its HTTP status.

ZoroError
 +-- BadRequest (400)                 bad input; the message names the field
 |    +-- DimensionMismatch
 |    +-- SparseVectorError
 |    +-- MultivectorError             a malformed matrix (ragged, wrong width, non-finite, empty)
 |    +-- UnknownVectorName            a filter's has_vector names no vector of the collection
 +-- Unauthorized (401)
 +-- Forbidden (403)
 +-- NotFound (404)
 |    +-- CollectionNotFound
 |    +-- PointNotFound (also a KeyError)
 |    +-- AliasNotFound
 +-- NotSupported (405)               a method Zoro does not serve on a path it serves (Allow)
 +-- Conflict (409)
 |    +-- CollectionExists            the name is taken by a collection
 |    +-- AliasExists                 the name is taken by an alias
 +-- PayloadTooLarge (413)
 +-- Overloaded (429)                 a mailbox is full; retry after a moment
 +-- Unavailable (503)
 |    +-- CollectionRecovering        still replaying its WAL
 |    +-- CollectionClosed            shut down on purpose ("you closed it")
 |    +-- CollectionFailed            it broke; carries the reason ("it broke")
 |    +-- DataDirInUse                another process owns the data directory (at start-up)
 |    +-- LoggedNotApplied            durable in the WAL, applied when the collection recovers
 |    +-- ReplayNeeded                (to the supervisor, not to clients) recover from the WAL
 +-- RouteNotSupported (501)          a route of Qdrant's that Zoro does not serve at all
 +-- StorageError (500)               an I/O error other than a full disk
 |    +-- CorruptionError             a damaged file: names the file and byte offset
 +-- StorageFull (507)                ENOSPC / EDQUOT

Lower layers raise these directly (they are plain exceptions with no trio or HTTP in them);
zoro/http maps `status` to the response in one place.
"""

from __future__ import annotations

import errno
from typing import ClassVar


class ZoroError(Exception):
    status: ClassVar[int] = 500
    retry_after_s: float | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ZoroError):
    status = 400


class DimensionMismatch(BadRequest):
    pass


def with_rule(message: str, rule_id: str) -> str:
    """A refusal's message naming the registered rule it applies (zoro.wire.rules): the layers
    below the services raise a few of those themselves."""
    return f"{message} [rule: {rule_id}]"


class UnknownVectorName(BadRequest):
    """A filter's `has_vector` names no vector of the collection: the wire's rule
    has-vector-name, found only as the selection runs (in the actor, which knows no wire)."""

    RULE: ClassVar[str] = "has-vector-name"

    def __init__(self, name: str) -> None:
        message = f"has_vector: no vector named {name!r} in this collection"
        super().__init__(with_rule(message, self.RULE))


class SparseVectorError(BadRequest, ValueError):
    """A malformed sparse vector: `row` is its position in the batch, `fault` says what is wrong."""

    def __init__(self, row: int, fault: str) -> None:
        super().__init__(f"sparse vector {row}: {fault}")
        self.row = row
        self.fault = fault


class MultivectorError(BadRequest, ValueError):
    """A malformed multivector (a matrix of rows): `field` names where it came from on the wire
    (`vector.colbert` of point 3, say), `fault` says what is wrong."""

    def __init__(self, field: str, fault: str) -> None:
        super().__init__(f"{field}: {fault}")
        self.field = field
        self.fault = fault


class Unauthorized(ZoroError):
    status = 401


class Forbidden(ZoroError):
    status = 403


class NotFound(ZoroError):
    status = 404


class CollectionNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Collection `{name}` doesn't exist!")
        self.name = name


class PointNotFound(NotFound, KeyError):
    def __init__(self, point_id: object) -> None:
        NotFound.__init__(self, f"No point with id {point_id} found")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class AliasNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Alias `{name}` does not exist!")
        self.name = name


class NotSupported(ZoroError):
    """A method Zoro does not serve on a path it serves with `allow` (the Allow header)."""

    status = 405

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class RouteNotSupported(ZoroError):
    """A route of Qdrant's REST API that Zoro does not serve (cluster, shards, snapshots)."""

    status = 501


class Conflict(ZoroError):
    status = 409


class CollectionExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"Collection `{name}` already exists!")
        self.name = name


class AliasExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"Alias `{name}` already exists! A collection cannot take its name")
        self.name = name


class PayloadTooLarge(ZoroError):
    status = 413


class Overloaded(ZoroError):
    status = 429
    retry_after_s: float | None = 1.0


class Unavailable(ZoroError):
    status = 503
    retry_after_s: float | None = 1.0


class CollectionRecovering(Unavailable):
    def __init__(self, name: str) -> None:
        super().__init__(f"Collection `{name}` is recovering; retry shortly")


class CollectionClosed(Unavailable):
    def __init__(self, name: str) -> None:
        super().__init__(f"Collection `{name}` is closed")


class CollectionFailed(Unavailable):
    retry_after_s = None

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Collection `{name}` has failed: {reason}")
        self.reason = reason


class DataDirInUse(Unavailable):
    retry_after_s = None

    def __init__(self, data_dir: str, holder_pid: int | None) -> None:
        holder = f"process {holder_pid}" if holder_pid is not None else "another process"
        super().__init__(
            f"the data directory {data_dir} is in use by {holder}: one server owns a data "
            "directory (two would lose acknowledged writes); stop it or choose another --data-dir"
        )
        self.data_dir = data_dir
        self.holder_pid = holder_pid


class LoggedNotApplied(Unavailable):
    """A write whose outcome is known: it is durable in the WAL, but applying it failed (a full
    disk while writing the vectors file, say). It is not lost and not yet visible: the
    collection recovers by replaying its WAL, which applies it. Retrying it is harmless (an
    upsert or delete applied twice ends the same) but not needed."""

    retry_after_s = None

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"Collection `{name}` logged this write durably but could not apply it ({reason}); "
            "it will be applied when the collection recovers"
        )
        self.reason = reason


class ReplayNeeded(Unavailable):
    """How a collection actor's run ends when its memory can no longer be trusted but its WAL
    can (a batch failed to apply after its WAL sync): the supervisor should reopen the
    collection, which replays the WAL from the last checkpoint. Never sent to a client."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Collection `{name}` must recover from its WAL: {reason}")
        self.name = name
        self.reason = reason


class StorageError(ZoroError):
    status = 500


class FollowerBehind(StorageError):
    """A follower (docs/workers.md) cannot go on from where it is: the owner's files or WAL
    moved past it (a checkpoint removed the WAL segment it needs, a compaction switched file
    generations, a vector was declared since the checkpoint). It opens the collection again."""

    status = 503


class CorruptionError(StorageError):
    def __init__(self, path: str, offset: int, what: str) -> None:
        super().__init__(f"corrupt data in {path} at byte {offset}: {what}")
        self.path = path
        self.offset = offset


class SparseIndexDamaged(CorruptionError):
    """The persisted sparse index cannot be used as it is: rebuild it from the source rows."""


class SnapshotDamaged(ZoroError):
    """A snapshot archive asked for is not a whole, undamaged one: refused before anything
    changes."""

    status = 400

    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"snapshot {name} cannot be restored: {what}")


class SnapshotFetchFailed(ZoroError):
    """A snapshot's http(s) location could not be fetched (the other server's answer or the
    network, named in the message)."""

    status = 502


class SwitchUncertain(StorageError):
    """A compaction's commit failed while writing meta: which file generation the collection
    is in is known only on disk, so the collection must be reopened."""


class StorageFull(ZoroError):
    status = 507


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def storage_error(exc: OSError, doing: str) -> ZoroError:
    """Translate an OSError at a storage boundary: `raise storage_error(e, "...") from e`."""
    if exc.errno in _FULL_ERRNOS:
        return StorageFull(f"No space left on device while {doing}")
    return StorageError(f"I/O error while {doing}: {exc.strerror or exc}")
