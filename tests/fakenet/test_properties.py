"""Property test: the ledger's verdict matches a closed-form model of core's checker.

Model, for one source account and one operation of threshold `need` (the tx source needs
`low`): signatures are scanned in envelope order; each check stops at the shortest prefix whose
signer weight reaches its threshold (and it needs at least one matching signature). Accepted
iff both checks pass and every signature lies inside the longer of the two prefixes and belongs
to a signer; otherwise txBAD_AUTH (source), txFAILED (operation) or txBAD_AUTH_EXTRA.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import Keypair, TransactionBuilder

from .ledger import Ledger
from .txkit import build, signed

POOL = [Keypair.random() for _ in range(6)]  # 0 = source master, 1..4 signers, 5 outsider
LEVELS = ("low", "med", "high")


def _add_op(level: str):  # type: ignore[no-untyped-def]
    def add(t: TransactionBuilder) -> None:
        if level == "low":
            t.append_bump_sequence_op(0)
        elif level == "med":
            t.append_manage_data_op("k", b"v")
        else:
            t.append_set_options_op(high_threshold=7)

    return add


def _prefix(weights: list[int], threshold: int) -> int | None:
    """Index of the signature at which a check stops, or None if it fails."""
    total = 0
    for index, weight in enumerate(weights):
        if weight:
            total += weight
            if total >= threshold:
                return index
    return None


def expected(weights: list[int], low: int, need: int) -> str:
    stop_low = _prefix(weights, low)
    if stop_low is None:
        return "txBAD_AUTH"
    stop_op = _prefix(weights, need)
    if stop_op is None:
        return "txFAILED"
    last_used = max(stop_low, stop_op)
    if any(w == 0 for w in weights) or len(weights) > last_used + 1:
        return "txBAD_AUTH_EXTRA"
    return "txSUCCESS"


@settings(max_examples=200, deadline=None)
@given(
    master=st.integers(0, 3),
    signer_weights=st.lists(st.integers(1, 3), max_size=4),
    thresholds=st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)),
    level=st.sampled_from(LEVELS),
    order=st.lists(st.integers(0, 5), unique=True, max_size=6),
)
def test_verdict_matches_the_threshold_model(
    master: int,
    signer_weights: list[int],
    thresholds: tuple[int, int, int],
    level: str,
    order: list[int],
) -> None:
    ledger = Ledger()
    source = POOL[0]
    signers = [(POOL[i + 1].public_key, w) for i, w in enumerate(signer_weights)]
    low, med, high = thresholds
    ledger.create_account(
        source.public_key, master_weight=master, low=low, med=med, high=high, signers=signers
    )

    weight_of = {0: master, **{i + 1: w for i, w in enumerate(signer_weights)}}
    weights = [weight_of.get(i, 0) for i in order]
    need = dict(zip(LEVELS, thresholds, strict=True))[level]

    env = signed(build(ledger, source, _add_op(level)), *[POOL[i] for i in order])
    result = ledger.apply(env.to_xdr())
    assert result.code == expected(weights, low, need)
    assert result.applied == (result.code == "txSUCCESS")
