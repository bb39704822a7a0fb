"""The JWTs handed out by ``POST /auth`` (SEP-10's token) and checked on ``Authorization: Bearer``.

HS256 with a key derived from the auth signing key: every process that can issue challenges can
check tokens, with nothing more to configure or share.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import jwt
from stellar_sdk import Keypair

from app.errors import InvalidToken
from app.stellar.signers import is_ed25519_key


class Tokens:
    def __init__(self, signing_secret: str, web_auth_domain: str, ttl: int,
                 clock: Callable[[], float] = time.time) -> None:
        seed = Keypair.from_secret(signing_secret).raw_secret_key()
        self._key = hmac.new(seed, b"refractor sep-10 jwt", hashlib.sha256).digest()
        self.issuer = f"https://{web_auth_domain}/auth"
        self.ttl = ttl
        self.clock = clock

    def issue(self, account: str, challenge_id: str) -> str:
        now = int(self.clock())
        claims = {"iss": self.issuer, "sub": account, "iat": now, "exp": now + self.ttl,
                  "jti": challenge_id}
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> str:
        """The account the token was issued to; InvalidToken with the reason otherwise."""
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], issuer=self.issuer,
                                options={"require": ["exp", "iat", "sub", "iss"]},
                                leeway=5)
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired; sign in again (GET /auth)") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"Invalid token: {exc}") from None
        account = claims.get("sub")
        if not isinstance(account, str) or not is_ed25519_key(account):
            raise InvalidToken("Invalid token: no account")
        return account
