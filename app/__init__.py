"""Refractor: a self-hostable Stellar multisig coordinator."""

__version__ = "1.0.0"
