"""Subcommands of ``refractor`` for operators: backup (and backup verify), restore, migrate.

The modules doing the work are imported inside the handlers, so building the parser stays cheap and
pymongo is loaded only when a maintenance command runs.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import StoreUnavailable
from app.maintenance import MaintenanceError
from app.settings import ConfigError, Settings

if TYPE_CHECKING:
    from app.maintenance.migrate import Item, StoreTarget
    from app.store.base import TxStore
    from app.store.cosigners import CosignerStore


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the maintenance subcommands to the ``refractor`` parser."""
    backup = sub.add_parser(
        "backup", help="write every collection to a verifiable .tar.gz archive, or verify one",
        description="Back up the stores named by the configuration (REFRACTOR_CONFIG) to a gzip'd "
                    "tar with one JSON Lines file per collection (records, jobs, controls, used "
                    "SEP-10 challenges, subscriptions, subscription events, event quotas) and "
                    "manifest.json (format 3; mode 0600, written atomically). `refractor backup verify "
                    "FILE` checks an archive and restores it into a scratch database.")
    backup.add_argument("--output", "-o", type=Path, metavar="FILE.tar.gz",
                        help="archive to write (default: ./var/backups/refractor-<UTC time>.tar.gz)")
    backup.add_argument("--json", action="store_true", help="print the result as one JSON object")
    backup.set_defaults(func=lambda args: _guard("backup", lambda: cmd_backup(args)))
    backup_sub = backup.add_subparsers(dest="backup_action", metavar="{verify}")
    verify = backup_sub.add_parser(
        "verify", help="check an archive against its manifest and restore it into a scratch database",
        description="Verify every checksum, count and item digest of an archive, restore it into a "
                    "scratch SQLite database in a temporary directory and read it back. The live "
                    "store is not opened. Exit 0 only if everything matches.")
    verify.add_argument("archive", type=Path, metavar="FILE.tar.gz")
    verify.add_argument("--json", action="store_true", help="print the result as one JSON object")
    verify.set_defaults(func=lambda args: _guard("backup verify", lambda: cmd_verify(args)))

    restore = sub.add_parser(
        "restore", help="verify a backup archive, replace the store's contents with it, read it back",
        description="Restore a backup into the configured store (any engine): a point in time, so "
                    "whatever is not in the backup is deleted. The archive is verified completely "
                    "before anything is written. Stop every instance using the store first.")
    restore.add_argument("archive", type=Path, metavar="FILE.tar.gz")
    restore.add_argument("--force", action="store_true",
                         help="replace the contents of a store that is not empty (everything "
                              "not in the backup is deleted)")
    restore.add_argument("--safety-backup", type=Path, metavar="FILE.tar.gz",
                         help="first write a backup of what the store holds now to this file")
    restore.add_argument("--json", action="store_true", help="print the result as one JSON object")
    restore.set_defaults(func=lambda args: _guard("restore", lambda: cmd_restore(args)))

    migrate = sub.add_parser(
        "migrate", help="import from an original Refractor, or copy from another of our stores",
        description="Import records into the configured store. Records already present are "
                    "skipped, so running it again is safe.")
    source = migrate.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-original-mongo", metavar="URI",
                        help="the original's MongoDB (collection \"tx\"; database from the URI, "
                             "default \"refractor\")")
    source.add_argument("--from-original-file", metavar="data.json", type=Path,
                        help="the original's file storage (api/data.json)")
    source.add_argument("--from-config", metavar="OTHER.json", type=Path,
                        help="another Refractor config whose store is copied (only that file is "
                             "read: no environment overrides)")
    migrate.add_argument("--dry-run", action="store_true",
                         help="change nothing; print what would be imported, skipped and rejected")
    migrate.set_defaults(func=lambda args: _guard("migrate", lambda: cmd_migrate(args)))


def _guard(name: str, action: Callable[[], int]) -> int:
    """Expected failures become one line on stderr and a non-zero exit, never a traceback."""
    from pymongo.errors import PyMongoError

    def fail(message: str, code: int = 1) -> int:
        print(f"refractor {name}: error: {message}", file=sys.stderr)
        return code

    try:
        return action()
    except ConfigError as exc:
        return fail("configuration problems:\n" + "\n".join(f"  - {p}" for p in exc.problems), 2)
    except MaintenanceError as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        return fail(f"SQLite: {exc}")
    except PyMongoError as exc:
        return fail(f"MongoDB: {exc}")
    except StoreUnavailable as exc:  # the operator's own terminal: the driver's words help
        return fail(f"{exc.message}: {exc.__cause__ or exc.cause}")
    except KeyboardInterrupt:
        return fail("interrupted", 130)


@contextmanager
def _store(settings: Settings) -> Iterator[TxStore]:
    from app.store import open_store

    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _cosigners(settings: Settings) -> Iterator[CosignerStore]:
    from app.store.cosigners import open_cosigner_store

    store = open_cosigner_store(settings)
    try:
        yield store
    finally:
        store.close()


def _require_sqlite_file(settings: Settings) -> None:
    """Opening SQLite creates a missing file, which a read-only command must not do."""
    if settings.storage == "sqlite" and not Path(settings.db.reveal()).is_file():
        raise MaintenanceError(f"SQLite database {settings.db.reveal()} does not exist")


def cmd_backup(args: argparse.Namespace) -> int:
    from app.config import load_settings
    from app.maintenance.backup import default_output, write_backup

    settings = load_settings()
    _require_sqlite_file(settings)
    with _store(settings) as store, _cosigners(settings) as cosigners:
        result = write_backup(store, args.output or default_output(), cosigners)
    if result.note:
        print(f"note: {result.note}", file=sys.stderr)
    m = result.manifest
    if args.json:
        print(json.dumps({"path": str(result.path), "manifest": m}))
        return 0
    print(f"backup written: {result.path}")
    print(f"  {m['record_count']} records, {m['signature_count']} signatures "
          f"({_counts(m['counts_by_status'])}); {_sizes(m['collections'])}; "
          f"{m['source_engine']}, {m['consistency']} read")
    print(f"  records.jsonl sha256 {m['collections']['records']['sha256']}")
    return 0


def _sizes(collections: dict[str, Any]) -> str:
    """"3 jobs, 2 controls, ...": every collection but the records, by count."""
    return ", ".join(f"{int(e['count'] if isinstance(e, dict) else e)} {name}"
                     for name, e in collections.items() if name != "records")


def cmd_verify(args: argparse.Namespace) -> int:
    from app.maintenance.verify import verify_backup

    report = verify_backup(args.archive)
    if args.json:
        print(json.dumps(report))
    else:
        counts = report["counts"]
        print(f"verified {args.archive} (format {report['format_version']}): "
              f"{counts['records']} records, {report['signatures']} signatures, "
              f"{_sizes(counts)}, from {report['source_engine']} at {report['created_at']}; "
              f"restored into a scratch database and read back")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from app.config import load_settings
    from app.maintenance.restore import open_backup, restore_backup

    settings = load_settings()
    with open_backup(args.archive) as backup:
        m = backup.manifest
        counts = backup.counts()
        if not args.json:
            print(f"verified {args.archive} (format {backup.version}): {counts['records']} "
                  f"records, {backup.signature_count} signatures, {_sizes(counts)}, from "
                  f"{m.get('source_engine')} at {m.get('created_at')}")
        with _store(settings) as store, _cosigners(settings) as cosigners:
            result = restore_backup(store, backup, force=args.force,
                                    safety_backup=args.safety_backup, cosigners=cosigners)
    if args.json:
        print(json.dumps({"archive": str(args.archive), "restored": result.restored,
                          "signatures": result.signatures, "previously": result.previously,
                          "safety_backup": str(result.safety_backup or "") or None,
                          "created_at": m.get("created_at")}))
        return 0
    if result.safety_backup:
        print(f"  what the store held before is in {result.safety_backup}")
    print(f"restored {_counts(result.restored)} into {settings.storage}; read back and verified")
    if any(result.previously.values()):
        print(f"  replaced what the store held before ({_counts(result.previously)})")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from app.config import load_settings
    from app.maintenance import migrate

    settings = load_settings()
    now = time.time()
    with ExitStack() as stack:
        if args.from_original_mongo:
            label, docs = stack.enter_context(migrate.original_mongo(args.from_original_mongo))
            items = migrate.from_original(docs, settings.networks, now)
        elif args.from_original_file:
            label, docs = migrate.original_file(args.from_original_file)
            items = migrate.from_original(docs, settings.networks, now)
        else:
            label, items = _other_store(stack, settings, args.from_config)
        target = _target(stack, settings, args.dry_run)
        report = migrate.run(label, items, target, args.dry_run)
    print("\n".join(report.lines()))
    return 0


def _other_store(stack: ExitStack, settings: Settings,
                 path: Path) -> tuple[str, Iterator[Item]]:
    from app.config import load_settings
    from app.maintenance.migrate import other_store

    # Only the named file: this process's REFRACTOR_DB and friends describe the target.
    other = load_settings({"REFRACTOR_CONFIG": str(path)})
    if (other.storage, other.db.reveal()) == (settings.storage, settings.db.reveal()) or (
            other.storage == settings.storage == "sqlite"
            and Path(other.db.reveal()).resolve() == Path(settings.db.reveal()).resolve()):
        raise MaintenanceError(f"{path} names the same store as the current configuration")
    _require_sqlite_file(other)
    source = stack.enter_context(_store(other))
    return stack.enter_context(other_store(source, f"Refractor {other.storage} store of {path}"))


def _target(stack: ExitStack, settings: Settings, dry_run: bool) -> StoreTarget:
    from app.maintenance.migrate import StoreTarget
    from app.maintenance.snapshot import sqlite_copy

    if dry_run and settings.storage == "sqlite":
        # Looked up in a private copy: a dry run must not even create the database file.
        return StoreTarget(stack.enter_context(sqlite_copy(settings.db.reveal(), missing_ok=True)))
    store = stack.enter_context(_store(settings))
    if not dry_run:
        store.ensure_schema()
    return StoreTarget(store)


def _counts(by_status: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in by_status.items()) or "empty"
