"""Subcommands of ``refractor`` for operators (filled in by the maintenance modules)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the maintenance subcommands to the ``refractor`` parser."""
