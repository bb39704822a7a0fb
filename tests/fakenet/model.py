"""Plain records shared by the ledger and the HTTP views."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .codes import horizon_tx_code
from .sigcheck import ED25519, SignerSpec, decode_signer_key, spec

STROOPS_PER_XLM = 10_000_000
DEFAULT_BALANCE = 10_000 * STROOPS_PER_XLM
MAX_SIGNERS = 20
_CORE_STATUS = {
    "applied": "PENDING",
    "queued": "PENDING",
    "duplicate": "DUPLICATE",
    "try_again_later": "TRY_AGAIN_LATER",
}


@dataclass(frozen=True, slots=True)
class Signer:
    key: str  # strkey: G... ed25519, T... pre-auth tx, X... hash(x), P... signed payload
    weight: int


@dataclass(frozen=True)
class Account:
    """An account entry. Immutable: the ledger swaps whole records, so readers never see a
    half-applied transaction."""

    account_id: str
    balance: int
    seq_num: int
    master_weight: int = 1
    low: int = 0
    med: int = 0
    high: int = 0
    signers: tuple[Signer, ...] = ()
    last_modified: int = 0
    # AccountEntryExtensionV3: ledger and close time of the last sequence-number change.
    seq_ledger: int = 0
    seq_time: int = 0
    flags: int = 0
    home_domain: str = ""

    @property
    def thresholds(self) -> tuple[int, int, int]:
        return self.low, self.med, self.high

    @property
    def num_sub_entries(self) -> int:
        return len(self.signers)

    def signer_specs(self) -> list[SignerSpec]:
        # core puts the master key first, and only when its weight is non-zero
        specs = []
        if self.master_weight:
            master = decode_signer_key(self.account_id)[1]
            specs.append(SignerSpec(ED25519, master, b"", self.master_weight))
        specs.extend(spec(s.key, s.weight) for s in self.signers)
        return specs

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["signers"] = [{"key": s.key, "weight": s.weight} for s in self.signers]
        return data


def sort_signers(signers: list[Signer] | tuple[Signer, ...]) -> tuple[Signer, ...]:
    """Core keeps signers ordered by SignerKey (type first, then key bytes)."""
    return tuple(sorted(signers, key=lambda s: decode_signer_key(s.key)))


@dataclass
class ApplyResult:
    """What happened to one submitted envelope.

    status: "applied" (in a ledger, successful or not), "queued" (admitted, waiting in the
    transaction queue), "duplicate" / "try_again_later" (the queue's answers), "rejected"
    (failed validation, never reached a ledger, like core's txBAD_SEQ/txBAD_AUTH answers),
    "dropped" (was queued, invalid when its ledger closed) or "malformed" (not decodable).
    """

    status: str
    code: str
    hash: str | None = None
    inner_hash: str | None = None
    fee_bump: bool = False
    successful: bool = False
    inner_code: str | None = None
    op_codes: list[str] = field(default_factory=list)
    op_results: list[str] = field(default_factory=list)
    result_xdr: str | None = None
    result_meta_xdr: str | None = None
    envelope_xdr: str = ""
    ledger: int | None = None
    created_at: int | None = None
    application_order: int = 1
    fee_charged: int = 0
    source_account: str | None = None
    fee_account: str | None = None
    max_fee: int = 0
    operation_count: int = 0
    sequence: int | None = None

    @property
    def applied(self) -> bool:
        return self.status == "applied"

    @property
    def core_status(self) -> str:
        """What core answers a submission: PENDING, DUPLICATE, TRY_AGAIN_LATER or ERROR."""
        return _CORE_STATUS.get(self.status, "ERROR")

    def horizon_result_codes(self) -> dict[str, Any]:
        codes: dict[str, Any] = {"transaction": horizon_tx_code(self.code)}
        if self.inner_code is not None:
            inner: dict[str, Any] = {"transaction": horizon_tx_code(self.inner_code)}
            if self.op_codes:
                inner["operations"] = list(self.op_codes)
            codes["inner_transaction"] = inner
        elif self.op_codes:
            codes["operations"] = list(self.op_codes)
        return codes

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Submission:
    """One envelope as received, kept even when it was garbage, for exactly-once checks."""

    index: int
    received_at: float
    via: str
    envelope_xdr: str
    hash: str | None
    status: str
    code: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
