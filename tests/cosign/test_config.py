"""The auth, subscriptions and publicUrl settings: defaults, secrets from files, clear problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from stellar_sdk import Keypair

from app.config import parse_settings
from app.settings import ConfigError


def test_auth_is_off_by_default() -> None:
    settings = parse_settings({}, {})
    assert not settings.auth.enabled
    assert settings.subscriptions.max_per_account == 10
    assert settings.public_url is None


def test_signing_key_from_a_file(tmp_path: Path) -> None:
    key = Keypair.random()
    secret_file = tmp_path / "key"
    secret_file.write_text(key.secret + "\n")
    settings = parse_settings({"auth": {"homeDomain": "example.org", "tokenTtl": 600},
                               "publicUrl": "https://api.example.org/"},
                              {"REFRACTOR_AUTH_SIGNING_KEY_FILE": str(secret_file)})
    assert settings.auth.enabled
    assert settings.auth.signing_key is not None
    assert settings.auth.signing_key.reveal() == key.secret
    assert key.secret not in repr(settings)
    assert settings.auth.web_auth_domain == "example.org"
    assert settings.auth.token_ttl == 600
    assert settings.public_url == "https://api.example.org"


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"auth": {"signingKey": "SNOTAKEY", "homeDomain": "example.org"}}, "auth.signingKey"),
    ({"auth": {"signingKey": Keypair.random().secret}}, "auth.homeDomain: required"),
    ({"auth": {"homeDomain": "example.org"}}, "auth.signingKey: required"),
    ({"auth": {"signingKey": Keypair.random().secret, "homeDomain": "https://x.org"}},
     "auth.homeDomain"),
    ({"auth": {"signingKey": Keypair.random().secret, "homeDomain": "x.org",
               "challengeTtl": 5}}, "auth.challengeTtl"),
    ({"subscriptions": {"maxPerAccount": 0}}, "subscriptions.maxPerAccount"),
    ({"publicUrl": "api.example.org"}, "publicUrl"),
])
def test_problems(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, {})
    assert fragment in str(caught.value)
