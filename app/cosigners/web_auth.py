"""SEP-10 web authentication: challenges out, signed challenges in, a JWT for the account.

Everything SEP-10 specifies is done by ``stellar_sdk.sep.stellar_web_authentication``; this module
picks the network, loads the account's signers from the ledger, maps the SDK's verdicts to HTTP
errors and makes each challenge usable once across every process (the used ones are in the store).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from stellar_sdk import Keypair
from stellar_sdk.sep.ed25519_public_key_signer import Ed25519PublicKeySigner
from stellar_sdk.sep.exceptions import InvalidSep10ChallengeError
from stellar_sdk.sep.stellar_web_authentication import (
    ChallengeTransaction,
    build_challenge_transaction,
    read_challenge_transaction,
    verify_challenge_transaction_signed_by_client_master_key,
    verify_challenge_transaction_threshold,
)

from app.cosigners.tokens import Tokens
from app.errors import BadRequest, Unauthorized, ValidationFailed
from app.ledger.accounts import AccountSource
from app.settings import AuthSettings, NetworkSettings
from app.stellar.signers import is_ed25519_key
from app.store.cosigners import CosignerStore
from app.txs.params import resolve_network

_NOT_SIGNED_BY_SERVER = "Transaction not signed by server"


class WebAuth:
    def __init__(self, settings: AuthSettings, networks: Mapping[str, NetworkSettings],
                 accounts: AccountSource, store: CosignerStore, tokens: Tokens,
                 clock: Callable[[], float] = time.time) -> None:
        assert settings.signing_key is not None and settings.home_domain is not None
        self._secret = settings.signing_key.reveal()
        self.server_key = Keypair.from_secret(self._secret).public_key
        self.home_domain = settings.home_domain
        self.web_auth_domain = settings.web_auth_domain or settings.home_domain
        self.challenge_ttl = settings.challenge_ttl
        self.networks = networks
        self.accounts = accounts
        self.store = store
        self.tokens = tokens
        self.clock = clock

    def challenge(self, account: str | None, network: str | None) -> dict[str, str]:
        if not account or not is_ed25519_key(account):
            raise ValidationFailed('Invalid "account" parameter: expected a Stellar account (G...).',
                                   "account")
        net = resolve_network(network or "public", self.networks)
        xdr = build_challenge_transaction(self._secret, account, self.home_domain,
                                          self.web_auth_domain, net.passphrase,
                                          timeout=self.challenge_ttl)
        return {"transaction": xdr, "network_passphrase": net.passphrase}

    def token(self, transaction: object) -> dict[str, str]:
        if not isinstance(transaction, str) or not transaction:
            raise ValidationFailed('"transaction" is required: the signed challenge (base64 XDR).',
                                   "transaction")
        net, challenge = self._read(transaction)
        account = challenge.client_account_id
        if not is_ed25519_key(account):
            raise BadRequest("Challenge rejected: muxed accounts cannot sign in; use the G... account")
        # Signers and thresholds can change at any time: ask the ledger, not the cache.
        self.accounts.forget(net.name, [account])
        data = self.accounts.load(net.name, [account])[account]
        try:
            if data.missing:  # SEP-10: an account not on the ledger proves itself by its master key
                verify_challenge_transaction_signed_by_client_master_key(
                    transaction, self.server_key, self.home_domain, self.web_auth_domain,
                    net.passphrase)
            else:
                signers = [Ed25519PublicKeySigner(s.key, s.weight) for s in data.weighted_signers()
                           if is_ed25519_key(s.key)]
                verify_challenge_transaction_threshold(
                    transaction, self.server_key, self.home_domain, self.web_auth_domain,
                    net.passphrase, data.medium, signers)
        except InvalidSep10ChallengeError as exc:
            raise Unauthorized(f"Challenge rejected: {exc}") from None
        challenge_id = challenge.transaction.hash_hex()
        bounds = challenge.transaction.transaction.preconditions
        expires = float(bounds.time_bounds.max_time) if bounds and bounds.time_bounds else 0.0
        if not self.store.use_challenge(challenge_id, expires, self.clock()):
            raise BadRequest("Challenge rejected: it has been used already; request a new one")
        return {"token": self.tokens.issue(account, challenge_id)}

    def _read(self, transaction: str) -> tuple[NetworkSettings, ChallengeTransaction]:
        """The challenge and the network it was issued for: the server's signature covers the
        network passphrase, so only the right network verifies it."""
        reason = f"{_NOT_SIGNED_BY_SERVER}: {self.server_key}."
        for net in self.networks.values():
            try:
                return net, read_challenge_transaction(transaction, self.server_key,
                                                       self.home_domain, self.web_auth_domain,
                                                       net.passphrase)
            except InvalidSep10ChallengeError as exc:
                if not str(exc).startswith(_NOT_SIGNED_BY_SERVER):
                    raise BadRequest(f"Challenge rejected: {exc}") from None
                reason = str(exc)
            except Exception:  # the XDR decoder raises many types for garbage
                raise BadRequest("Challenge rejected: not a valid transaction envelope") from None
        raise BadRequest(f"Challenge rejected: {reason} (issued by another server, or for a "
                         "network this server does not serve)")

    def stellar_toml(self, endpoint: str) -> str:
        """SEP-1 fields for SEP-10 and for checking the signature of SEP-7 links."""
        return (f'WEB_AUTH_ENDPOINT = "{endpoint}"\n'
                f'SIGNING_KEY = "{self.server_key}"\n'
                f'URI_REQUEST_SIGNING_KEY = "{self.server_key}"\n')
