"""A strict loopback fake of the Stellar network (Stellar RPC + Horizon) for the test suite.

The ledger validates envelopes the way stellar-core does (thresholds, SignatureChecker order,
txBAD_AUTH_EXTRA, sequence numbers, preconditions, fee bumps), and the server exposes the same
ledger through Stellar RPC's JSON-RPC, Horizon's REST API and a small /_fake control API.
"""

from .faults import Fault, Faults
from .ledger import Ledger
from .model import Account, ApplyResult, Signer, Submission
from .server import FakeStellarNetwork

__all__ = [
    "Account",
    "ApplyResult",
    "FakeStellarNetwork",
    "Fault",
    "Faults",
    "Ledger",
    "Signer",
    "Submission",
]
