"""A database written before the listing index existed is upgraded in place by ensure_schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.store.base import TxQuery
from app.store.sqlite import SqliteStore
from app.txs.model import TxRecord, TxStatus


def test_parties_of_an_earlier_database_get_their_creation_time(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SqliteStore(str(path))
    store.ensure_schema()
    for n in range(3):
        store.insert(TxRecord(hash=f"{n:064x}", network="testnet", xdr="AAAA",
                              status=TxStatus.PENDING, created_at=100.0 + n, updated_at=100.0 + n,
                              sources=["GSRC"], signers=["GSIG"]))
    store.close()
    with sqlite3.connect(path) as conn:  # back to the earlier layout
        conn.executescript("DROP INDEX parties_by_time; "
                           "ALTER TABLE tx_parties DROP COLUMN created_at; "
                           "CREATE INDEX parties_by_party ON tx_parties(party, role, tx_hash);")
    upgraded = SqliteStore(str(path))
    upgraded.ensure_schema()
    upgraded.ensure_schema()  # idempotent
    page = upgraded.search(TxQuery(account="GSIG", limit=2))
    assert [r.hash for r in page.items] == [f"{2:064x}", f"{1:064x}"] and page.next is not None
    rest = upgraded.search(TxQuery(account="GSIG", limit=2, cursor=page.next))
    assert [r.hash for r in rest.items] == [f"{0:064x}"]
    upgraded.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM tx_parties WHERE created_at IS NULL").fetchone() == (0,)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "parties_by_time" in names and "parties_by_party" not in names
