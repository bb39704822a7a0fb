"""Who may see a record. Public records: everyone, as always. Private ones: their parties (source
accounts and potential signers) and the signed-in account that created them; to anyone else they
do not exist (404, never 403, which would confirm that they do)."""

from __future__ import annotations

from app.txs.model import TxRecord

VISIBILITIES = ("public", "private")


def can_see(record: TxRecord, viewer: str | None) -> bool:
    if not record.private:
        return True
    if viewer is None:
        return False
    return viewer == record.creator or viewer in record.sources or viewer in record.signers
