"""Evaluate a stored transaction: is it fully signed, which signatures go to the network, and the
per-account progress shown to co-signers. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.stellar.accounts import AccountData
from app.stellar.checker import Candidate, select_minimal, simulate
from app.stellar.envelope import Level, ParsedEnvelope
from app.stellar.requirements import (
    SCOPE_FEE_BUMP,
    SCOPE_TRANSACTION,
    AuthNeeds,
    Requirement,
    build_needs,
    identify_signer,
)
from app.stellar.signers import SignerType, parse_signer

_LEVEL_NAMES = {Level.LOW: "low", Level.MEDIUM: "medium", Level.HIGH: "high"}


@dataclass(frozen=True, slots=True)
class Evaluation:
    ready: bool
    selected: list[Candidate] | None  # the signatures to submit, in order; None if not ready
    progress: dict[str, Any]
    potential_signers: list[str] = field(default_factory=list)


def collect_needs(parsed: ParsedEnvelope, accounts: Mapping[str, AccountData]) -> AuthNeeds:
    """Needs of the collected signature list (the fee bump's outer list for a fee bump)."""
    scope = SCOPE_FEE_BUMP if parsed.is_fee_bump else SCOPE_TRANSACTION
    return build_needs(parsed.shape, accounts, scope)


def accounts_to_load(parsed: ParsedEnvelope) -> list[str]:
    found = dict.fromkeys(parsed.shape.needs)
    if parsed.inner is not None:
        found.update(dict.fromkeys(parsed.inner.needs))
    return list(found)


def evaluate(parsed: ParsedEnvelope, accounts: Mapping[str, AccountData],
             stored: Sequence[Candidate], desired: Iterable[str] = ()) -> Evaluation:
    desired_set = set(desired)
    needs = collect_needs(parsed, accounts)
    selected = select_minimal(needs, stored)
    signed = {c.key for c in stored}
    account_rows = [_account_row(needs, req, stored, signed, desired_set)
                    for req in needs.requirements]
    warnings: list[str] = []
    potential = needs.potential_signers()
    inner_ok = True
    if parsed.inner is not None:
        inner_needs = build_needs(parsed.inner, accounts, SCOPE_TRANSACTION)
        inner_ok, inner_rows = _inner_state(parsed, inner_needs, desired_set, warnings)
        account_rows = inner_rows + account_rows
        potential = list(dict.fromkeys(inner_needs.potential_signers() + potential))
    for row in account_rows:
        if row["missing"]:
            warnings.append(f"account {row['account']} does not exist on the ledger")
    ready = selected is not None and inner_ok
    progress = {
        "ready": ready,
        "accounts": account_rows,
        "extraSigners": [{"key": k, "signed": k in signed} for k in needs.extra_signers],
        "warnings": warnings,
    }
    return Evaluation(ready, selected if ready else None, progress, potential)


def _inner_state(parsed: ParsedEnvelope, needs: AuthNeeds, desired: set[str],
                 warnings: list[str]) -> tuple[bool, list[dict[str, Any]]]:
    """A fee bump's inner signatures are frozen: report whether core would accept them as they are."""
    cands = []
    for sig in parsed.inner_signatures:
        key = identify_signer(needs, sig.hint, sig.signature)
        if key is None:
            warnings.append("the inner transaction carries a signature from no signer of it")
        else:
            cands.append(Candidate(key, sig.hint, sig.signature))
    result = simulate(needs, cands)
    ok = result.ok and result.all_used and len(cands) == len(parsed.inner_signatures)
    if not result.ok:
        warnings.append("the inner transaction is not fully signed; its signatures cannot change "
                        "without changing the fee bump: sign it fully, then wrap it again")
    elif not ok:
        warnings.append("the inner transaction carries surplus signatures; the network would "
                        "reject it (tx_bad_auth_extra)")
    signed = {c.key for c in cands}
    rows = [_account_row(needs, req, cands, signed, desired) for req in needs.requirements]
    for row in rows:
        row["frozen"] = True
    return ok, rows


def _account_row(needs: AuthNeeds, req: Requirement, stored: Sequence[Candidate],
                 signed: set[str], desired: set[str]) -> dict[str, Any]:
    signers = []
    weight = 0
    for s in req.signers:
        kind = parse_signer(s.key).type
        done = s.key in signed or (kind is SignerType.PRE_AUTH_TX
                                   and parse_signer(s.key).raw == needs.tx_hash)
        weight += s.weight if done else 0
        signers.append({"key": s.key, "type": str(kind), "weight": s.weight, "signed": done,
                        "desired": s.key in desired})
    alone = AuthNeeds(needs.tx_hash, (req,), ())
    return {
        "account": req.account,
        "scope": req.scope,
        "missing": req.missing,
        "level": _LEVEL_NAMES[req.level],
        "threshold": req.threshold,
        "weight": weight,
        "satisfied": simulate(alone, list(stored)).ok,
        "signers": signers,
    }
