"""The schema version kept in the database, so a release knows whether its code and the data agree.

The database holds ``{"version": V, "oldestCompatible": O}`` under the queue-control name
``schema``: the data is at schema V, and code of schema O or newer can work with it. During a
rolling release old and new code run at once, so a migration that raises O above the version the
old code knows must not happen while old code serves; ``init-db`` refuses it unless the operator
says the old releases are stopped (docs/operations.md, "Breaking migrations").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.store.base import ControlStore

# The schema this code writes. Raise it with every change to the stored shape, and raise
# OLDEST_COMPATIBLE too when code of an older schema can no longer read or write the new data.
SCHEMA_VERSION = 1
OLDEST_COMPATIBLE = 1
CONTROL_NAME = "schema"


class _HasControls(Protocol):
    @property
    def controls(self) -> ControlStore: ...


class SchemaRefused(Exception):
    """The database and this code cannot be brought together without the operator's say-so."""


@dataclass(frozen=True)
class SchemaState:
    version: int
    oldest_compatible: int


def stored(store: _HasControls) -> SchemaState | None:
    doc = store.controls.get(CONTROL_NAME)
    if not doc:
        return None
    return SchemaState(int(doc["version"]), int(doc.get("oldestCompatible", doc["version"])))


def decide(current: SchemaState | None, code: SchemaState, allow_breaking: bool) -> SchemaState | None:
    """What to record for ``code`` given the database's ``current`` state: a new state, None for
    "nothing to record", or SchemaRefused. Pure, so every case is testable without a database."""
    if current is None or current == code:
        return None if current == code else code
    if current.version > code.version:
        if current.oldest_compatible > code.version:
            raise SchemaRefused(
                f"the database is at schema {current.version}, which needs code of schema "
                f"{current.oldest_compatible} or newer; this release knows schema {code.version}")
        return None  # an older release running against newer, still compatible data
    if code.oldest_compatible > current.version and not allow_breaking:
        raise SchemaRefused(
            f"migrating schema {current.version} -> {code.version} breaks code of schema "
            f"{current.version}, which may still be serving. Stop the old releases, then run "
            f"init-db with --allow-breaking-migration (docs/operations.md, \"Breaking migrations\")")
    return code


def ensure_version(store: _HasControls, allow_breaking: bool = False) -> SchemaState:
    """Record this code's schema version if the database may take it; return the database's state."""
    code = SchemaState(SCHEMA_VERSION, OLDEST_COMPATIBLE)
    current = stored(store)
    new = decide(current, code, allow_breaking)
    if new is not None:
        store.controls.set(CONTROL_NAME, {"version": new.version, "oldestCompatible": new.oldest_compatible})
        return new
    return current or code
