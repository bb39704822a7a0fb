"""The one error tree of the service, and how each branch maps to HTTP.

    AppError                      500  unexpected: logged and reported, message hidden from clients
    ├── BadRequest                400  the request cannot be understood or is invalid
    │   └── ValidationFailed      400  one named field is invalid (``field`` tells which)
    ├── Unauthorized              401  missing or wrong admin token; sign-in needed
    │   └── InvalidToken          401  a sign-in token (JWT) that is malformed, forged or expired
    ├── NotFound                  404  no such record or route
    ├── MethodNotAllowed          405
    ├── Conflict                  409  the record is not in a state that allows the action
    ├── PayloadTooLarge           413  body over the configured limit
    ├── UnsupportedMediaType      415  body is neither JSON nor a form
    ├── TooManyRequests           429  rate limit hit (``retry_after`` seconds)
    ├── UpstreamUnavailable       503  the Stellar network (RPC/Horizon) is unreachable (``retry_after``)
    └── StoreUnavailable          503  the database is unreachable (``retry_after`` seconds)

``retry_after`` becomes a ``Retry-After`` header.
"""

from __future__ import annotations


class AppError(Exception):
    status = 500
    public = False  # whether the message may be shown to clients
    retry_after: int | None = None

    def __init__(self, message: str = "Internal server error") -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, object]:
        message = self.message if self.public else "Internal server error"
        return {"error": message, "status": self.status}


class _ClientError(AppError):
    public = True


class BadRequest(_ClientError):
    status = 400


class ValidationFailed(BadRequest):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field

    def body(self) -> dict[str, object]:
        return {**super().body(), "field": self.field}


class Unauthorized(_ClientError):
    status = 401


class InvalidToken(Unauthorized):
    """The bearer token is not (or no longer) a valid sign-in: the client should sign in again.
    Marked as RFC 6750 says (``WWW-Authenticate: Bearer error="invalid_token"``) and in the body."""

    def body(self) -> dict[str, object]:
        return {**super().body(), "reason": "invalid_token"}


class NotFound(_ClientError):
    status = 404


class MethodNotAllowed(_ClientError):
    status = 405


class Conflict(_ClientError):
    status = 409


class PayloadTooLarge(_ClientError):
    status = 413


class UnsupportedMediaType(_ClientError):
    status = 415


class TooManyRequests(_ClientError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamUnavailable(_ClientError):
    """The Stellar network (RPC/Horizon) could not be asked: like an unreachable store, a condition
    that usually passes, so clients are told when to try again."""

    status = 503
    retry_after = 5


class StoreUnavailable(_ClientError):
    """The database cannot be reached (no server selectable, connection lost, no primary; SQLite's
    write lock held elsewhere past the busy timeout, a full disk): a condition of the deployment,
    not of the request, and one that usually passes. The message is fixed so that nothing about
    the connection (hosts, paths, credentials) reaches a client; ``cause`` names the engine's
    error type for the logs."""

    status = 503

    def __init__(self, cause: str, retry_after: int = 5) -> None:
        super().__init__("Storage is unavailable, retry later")
        self.cause = cause
        self.retry_after = retry_after
