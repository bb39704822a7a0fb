"""SEP-7 ``web+stellar:tx`` links: a wallet opens one, signs, and POSTs the signed envelope back.

The URI is built and signed by ``stellar_sdk.sep.stellar_uri``; ``origin_domain`` and ``signature``
are added only when the server has an auth signing key (published as ``URI_REQUEST_SIGNING_KEY``
in its stellar.toml, which is how wallets check the signature).
"""

from __future__ import annotations

from stellar_sdk import FeeBumpTransactionEnvelope, Keypair, TransactionEnvelope
from stellar_sdk.sep.stellar_uri import TransactionStellarUri

MAX_MESSAGE = 300  # SEP-7's limit for ``msg``


def signing_uri(xdr: str, passphrase: str, callback: str, origin_domain: str | None,
                signing_key: Keypair | None, message: str | None = None) -> str:
    envelope: TransactionEnvelope | FeeBumpTransactionEnvelope
    if FeeBumpTransactionEnvelope.is_fee_bump_transaction_envelope(xdr):
        envelope = FeeBumpTransactionEnvelope.from_xdr(xdr, passphrase)
    else:
        envelope = TransactionEnvelope.from_xdr(xdr, passphrase)
    uri = TransactionStellarUri(
        transaction_envelope=envelope, callback=callback, network_passphrase=passphrase,
        origin_domain=origin_domain if signing_key is not None else None,
        message=message[:MAX_MESSAGE] if message else None)
    if signing_key is not None and origin_domain:
        uri.sign(signing_key)
    return str(uri.to_uri())
