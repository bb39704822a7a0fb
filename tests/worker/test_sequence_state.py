"""The account facts sequencing reads fresh from the network: seqLedger/seqTime and the latest
ledger, over both RPC and Horizon (against the fake, which serves them as the real ones do)."""

from __future__ import annotations

import pytest
from stellar_sdk import Keypair

from app.ledger.horizon import HorizonClient
from app.ledger.rpc import RpcClient
from tests import loopback
from tests.fakenet import FakeStellarNetwork
from tests.fakenet.txkit import build, signed


@pytest.mark.parametrize("api", ["rpc", "horizon"])
def test_sequence_change_and_latest_ledger(net: FakeStellarNetwork, api: str) -> None:
    kp = Keypair.random()
    net.ledger.create_account(kp.public_key)
    with loopback.ledger_http(timeout=10) as http:
        client = RpcClient(net.rpc_url, http) if api == "rpc" else HorizonClient(net.horizon_url, http)

        def load() -> tuple[int, int, int]:
            if isinstance(client, RpcClient):
                data = client.get_accounts([kp.public_key])[kp.public_key]
            else:
                found = client.get_account(kp.public_key)
                assert found is not None
                data = found
            return data.sequence, data.seq_ledger, data.seq_time

        before = load()
        assert before[1:] == (0, 0)  # never moved: no AccountEntryExtensionV3
        applied = net.ledger.apply(signed(build(net.ledger, kp, lambda t: t.append_bump_sequence_op(0)),
                                          kp).to_xdr())
        assert applied.successful
        assert load() == (before[0] + 1, applied.ledger, applied.created_at)

        net.ledger.close_ledger(3)
        sequence, close_time = client.latest_ledger()
        assert sequence == net.ledger.sequence
        assert abs(close_time - net.ledger.close_time()) <= 2
