"""A MongoDB outage becomes the error tree's ``StoreUnavailable`` at the store's boundary.

Callers (the web layer, the job runner) then see one engine-neutral condition that maps to a 503
with ``Retry-After``, instead of driver exceptions that would be a 500. Only conditions that pass
by themselves count: no server selectable, a connection lost or timed out, no primary (an
election), a write concern that timed out waiting for the majority. A bad query or a duplicate key
stays what it is.
"""

from __future__ import annotations

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError, WTimeoutError

from app.errors import StoreUnavailable
from app.store.outages import outage_guard

# Server error codes of a node shutting down, stepping down or unreachable behind a mongos.
_TRANSIENT_CODES = frozenset({
    6,      # HostUnreachable
    7,      # HostNotFound
    89,     # NetworkTimeout
    91,     # ShutdownInProgress
    189,    # PrimarySteppedDown
    9001,   # SocketException
    10107,  # NotWritablePrimary
    11600,  # InterruptedAtShutdown
    11602,  # InterruptedDueToReplStateChange
    13435,  # NotPrimaryNoSecondaryOk
    13436,  # NotPrimaryOrSecondary
})


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached now (rather than that the operation
    is wrong). ConnectionFailure covers ServerSelectionTimeoutError, AutoReconnect,
    NotPrimaryError, NetworkTimeout and WaitQueueTimeoutError."""
    if isinstance(exc, (ConnectionFailure, WTimeoutError)):
        return True
    return isinstance(exc, OperationFailure) and exc.code in _TRANSIENT_CODES


def _translate(exc: Exception) -> StoreUnavailable | None:
    if isinstance(exc, PyMongoError) and is_outage(exc):
        return StoreUnavailable(f"MongoDB {type(exc).__name__}")
    return None


# Class decorator: every public method raises StoreUnavailable for an outage.
outages_unavailable = outage_guard(_translate)
