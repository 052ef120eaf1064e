"""The client's exceptions, mirroring the server's error families.

ZoroClientError                  every error this package raises on purpose; `.message`, `.status`
 +-- InvalidInput (400)          bad input, found by the client before sending or by the server
 |    +-- DimensionMismatch      a vector's length is not the collection's dimension
 |    +-- PayloadTooLarge (413)  a request body or a payload over the limit
 +-- AuthenticationError (401, 403)
 +-- NotFound (404)              no such collection (or point, for get_point)
 +-- Conflict (409)              the collection already exists
 +-- Overloaded (429)            the server pushes back; `.retry_after_s` says when to come back
 +-- Unavailable (503, 502, 504) not serving now (recovering, closed, failed, or a gateway error)
 |    +-- ConnectionFailed       no answer: refused, reset or closed before a response came
 |    +-- RequestTimeout         no answer within the configured timeout
 +-- ServerError (500)           the server broke on a valid request
 |    +-- StorageFull (507)      its disk is full; reads still work
 |    +-- ProtocolError          an answer that is not Qdrant's JSON envelope
 +-- EmbedderUnavailable         the `embed` extra is not installed (also an ImportError)

When retries run out, the last error is raised (so `except Overloaded` still works) with
`.attempts` set and the count and time spent added to its message.
"""

from __future__ import annotations


class ZoroClientError(Exception):
    """Root of the client's errors. `status` is the HTTP status, or None when no answer came
    (or the client refused the request before sending it)."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.attempts = 1

    def __str__(self) -> str:
        return self.message


class InvalidInput(ZoroClientError):
    """The request is wrong as it stands; sending it again will not help."""


class DimensionMismatch(InvalidInput):
    pass


class PayloadTooLarge(InvalidInput):
    pass


class AuthenticationError(ZoroClientError):
    pass


class NotFound(ZoroClientError):
    pass


class Conflict(ZoroClientError):
    pass


class Overloaded(ZoroClientError):
    pass


class Unavailable(ZoroClientError):
    pass


class ConnectionFailed(Unavailable):
    pass


class RequestTimeout(Unavailable):
    pass


class ServerError(ZoroClientError):
    pass


class StorageFull(ServerError):
    pass


class ProtocolError(ServerError):
    pass


class EmbedderUnavailable(ZoroClientError, ImportError):
    """The built-in embedder needs packages that are not installed."""


_BY_STATUS: dict[int, type[ZoroClientError]] = {
    400: InvalidInput,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: Overloaded,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
    507: StorageFull,
}


def error_for_status(
    status: int, message: str, retry_after_s: float | None = None
) -> ZoroClientError:
    """The exception for an HTTP error answer, carrying the server's own message."""
    kind = _BY_STATUS.get(status)
    if kind is None:
        kind = ServerError if status >= 500 else InvalidInput
    if kind is InvalidInput and "expected dimension" in message:
        kind = DimensionMismatch
    return kind(message, status=status, retry_after_s=retry_after_s)
