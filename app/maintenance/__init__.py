"""Operator commands: backup, restore, migrate."""
