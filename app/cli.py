"""The ``refractor`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from app import __version__
from app.config import load_settings
from app.settings import ConfigError, Settings


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print("Configuration problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    import dataclasses

    from app.server import serve

    settings = _settings_or_exit()
    if args.no_worker:
        settings = dataclasses.replace(settings, run_worker=False)
    return serve(settings, host=args.host, port=args.port)


def cmd_worker(args: argparse.Namespace) -> int:
    from app.worker.process import run_worker

    if args.health_port is not None and not 1 <= args.health_port <= 65535:
        print("--health-port: expected a port from 1 to 65535", file=sys.stderr)
        return 2
    return run_worker(_settings_or_exit(), health_port=args.health_port)


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings_or_exit()
    from app.risks import config_risks

    for warning in [*settings.warnings, *config_risks(settings)]:
        print(f"warning: {warning}")
    print(f"ok: storage={settings.storage}, networks={', '.join(settings.networks)}, "
          f"port={settings.port}")
    return 0


def cmd_init_db(args: argparse.Namespace) -> int:
    from app.store import open_store
    from app.store.schema import SchemaRefused, ensure_version

    store = open_store(_settings_or_exit())
    try:
        store.ensure_schema()
        store.ping()
        state = ensure_version(store, allow_breaking=args.allow_breaking_migration)
    except SchemaRefused as exc:
        print(f"init-db refused: {exc}", file=sys.stderr)
        return 3
    finally:
        store.close()
    print(f"ok: schema {state.version} and indexes are in place")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    import json
    import time

    from app.store import open_store
    from app.worker.sweeps import cleanup

    settings = _settings_or_exit()
    store = open_store(settings)
    try:
        store.ensure_schema()
        report = cleanup(store, settings, time.time(), dry_run=args.dry_run)
    finally:
        store.close()
    print(json.dumps({"dryRun": args.dry_run, **report.to_json()}))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="refractor", description="Stellar multisig coordinator.")
    p.add_argument("--version", action="version", version=f"refractor {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API, UI and worker in the foreground")
    serve.add_argument("--host", help="bind address (default: config host)")
    serve.add_argument("--port", type=int, help="port (default: config port / PORT)")
    serve.add_argument("--no-worker", action="store_true",
                       help="API and UI only; background jobs run in `refractor worker` processes")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run background jobs only (no API), health on loopback")
    worker.add_argument("--health-port", type=int,
                        help="port of GET /monitoring/health on 127.0.0.1 "
                             "(default: config worker.healthPort, 3001)")
    worker.set_defaults(func=cmd_worker)
    check = sub.add_parser("check-config", help="validate the configuration and exit")
    check.set_defaults(func=cmd_check_config)
    init = sub.add_parser("init-db", help="create tables/collections and indexes (idempotent)")
    init.add_argument("--allow-breaking-migration", action="store_true",
                      help="migrate even when code of the current schema could not work with the "
                           "result (only once every old release is stopped)")
    init.set_defaults(func=cmd_init_db)
    clean = sub.add_parser("cleanup", help="expire overdue records and delete old final ones")
    clean.add_argument("--dry-run", action="store_true", help="report, change nothing")
    clean.set_defaults(func=cmd_cleanup)
    from app.maintenance.commands import register

    register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)
