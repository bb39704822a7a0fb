"""Operator commands: backup, restore, migrate."""


class MaintenanceError(Exception):
    """An expected problem (missing file, corrupt archive, refused target): reported, never a traceback."""
