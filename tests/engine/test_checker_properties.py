"""Properties of the core-check simulation and of the minimal signature set, over random signer sets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import Keypair

from app.stellar.accounts import AccountSigner
from app.stellar.checker import Candidate, select_minimal, simulate
from app.stellar.envelope import Level
from app.stellar.requirements import AuthNeeds, Requirement

POOL = [Keypair.from_raw_ed25519_seed(bytes([i + 1]) * 32).public_key for i in range(8)]
TX_HASH = bytes(32)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[AuthNeeds, list[Candidate]]:
    n_accounts = draw(st.integers(1, 3))
    reqs = []
    for i in range(n_accounts):
        keys = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=5, unique=True))
        signers = tuple(AccountSigner(k, draw(st.integers(1, 5))) for k in keys)
        reqs.append(Requirement(f"A{i}", Level.MEDIUM, draw(st.integers(0, 8)), signers, False,
                                "transaction"))
    extra = tuple(draw(st.lists(st.sampled_from(POOL), max_size=2, unique=True)))
    signed = draw(st.lists(st.sampled_from(POOL), max_size=8, unique=True))
    cands = [Candidate(k, bytes(4), bytes([POOL.index(k)]) * 64) for k in signed]
    return AuthNeeds(TX_HASH, tuple(reqs), extra), cands


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_selection_exists_iff_all_signatures_satisfy(case: tuple[AuthNeeds, list[Candidate]]) -> None:
    needs, cands = case
    chosen = select_minimal(needs, cands)
    # Whether a set satisfies every check does not depend on order; only "unused" does.
    assert (chosen is not None) == simulate(needs, cands).ok


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_selection_is_valid_and_irreducible(case: tuple[AuthNeeds, list[Candidate]]) -> None:
    needs, cands = case
    chosen = select_minimal(needs, cands)
    if chosen is None:
        return
    result = simulate(needs, chosen)
    assert result.ok and result.all_used  # core accepts it: no txBAD_AUTH_EXTRA
    assert {c.key for c in chosen} <= {c.key for c in cands}
    for drop in chosen:
        rest = [c for c in chosen if c is not drop]
        smaller = simulate(needs, rest)
        assert not (smaller.ok and smaller.all_used)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_surplus_signature_is_unused(case: tuple[AuthNeeds, list[Candidate]]) -> None:
    """Adding a signature from a key no requirement lists always leaves it unused."""
    needs, cands = case
    outsider = Candidate(Keypair.from_raw_ed25519_seed(b"\x99" * 32).public_key, bytes(4),
                         b"\x99" * 64)
    result = simulate(needs, [*cands, outsider])
    assert result.used[-1] is False
