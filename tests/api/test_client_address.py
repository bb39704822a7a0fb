"""The client address behind proxies, through a real Nginx configured with the proxy headers the
ops distribution ships (roles/nginx and docker/), and the rate-limit buckets' eviction."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import parse_settings
from app.settings import ConfigError, ProxyTrust
from app.web.client import ClientResolver
from app.web.ratelimit import TokenBuckets
from tests.app_server import app_settings, running_app
from tests.ports import free_port
from tests.subprocesses import stop_process

ROOT = Path(__file__).resolve().parents[2]
PROXY_CONFIGS = {
    "roles": ROOT / "roles/nginx/templates/etc/nginx/snippets/refractor-proxy.conf.j2",
    "docker": ROOT / "docker/nginx/refractor.conf",
}


def scope(peer: str, **headers: str) -> dict[str, Any]:
    return {"type": "http", "client": (peer, 50000),
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


# -- configuration --

@pytest.mark.parametrize(("value", "expected"), [
    (False, ProxyTrust()), (0, ProxyTrust()), (True, ProxyTrust(hops=1)), (2, ProxyTrust(hops=2)),
    (["10.0.0.0/8", "127.0.0.1", "fd00::/8"],
     ProxyTrust(networks=("10.0.0.0/8", "127.0.0.1/32", "fd00::/8"))),
    ("192.168.1.7/24", ProxyTrust(networks=("192.168.1.0/24",))),
])
def test_trust_proxy_forms(value: object, expected: ProxyTrust) -> None:
    assert parse_settings({"trustProxy": value}, {}).trust_proxy == expected


@pytest.mark.parametrize("value", [11, -1, 1.5, "everyone", ["10.0.0.0/8", "nope"], [], {"a": 1}])
def test_bad_trust_proxy_values_are_named(value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"trustProxy": value}, {})
    assert any(p.startswith("trustProxy") for p in raised.value.problems)


# -- the walk from the right --

def test_one_hop_takes_the_entry_our_proxy_appended() -> None:
    one = ClientResolver(ProxyTrust(hops=1))
    spoofed = scope("127.0.0.1", x_forwarded_for="198.51.100.9, 10.9.9.9, 203.0.113.5")
    assert one.resolve(spoofed) == "203.0.113.5"
    assert one.resolve(scope("127.0.0.1", x_real_ip="203.0.113.6")) == "203.0.113.6"
    assert one.resolve(scope("127.0.0.1")) == "127.0.0.1"  # no header: the peer itself


def test_two_hops() -> None:
    two = ClientResolver(ProxyTrust(hops=2))
    assert two.resolve(scope("10.0.0.2", x_forwarded_for="1.1.1.1, 203.0.113.5, 10.0.0.1")) \
        == "203.0.113.5"


def test_trusted_networks_walk_past_every_trusted_proxy() -> None:
    nets = ClientResolver(ProxyTrust(networks=("10.0.0.0/8", "127.0.0.1/32")))
    chain = "198.51.100.1, 203.0.113.5, 10.0.0.7, 10.0.0.1"
    assert nets.resolve(scope("127.0.0.1", x_forwarded_for=chain)) == "203.0.113.5"
    # A peer outside the trusted networks is the client, whatever it claims.
    assert nets.resolve(scope("198.51.100.77", x_forwarded_for="10.0.0.1")) == "198.51.100.77"


def test_untrusted_setting_ignores_the_headers() -> None:
    off = ClientResolver(ProxyTrust())
    assert off.resolve(scope("192.0.2.10", x_forwarded_for="203.0.113.5",
                             x_real_ip="203.0.113.6")) == "192.0.2.10"


def test_an_ipv6_client_is_its_64() -> None:
    one = ClientResolver(ProxyTrust(hops=1))
    a = one.resolve(scope("::1", x_forwarded_for="2001:db8:1:2::1"))
    b = one.resolve(scope("::1", x_forwarded_for="2001:db8:1:2:ffff::9"))
    assert a == b == "2001:db8:1:2::/64"


# -- buckets --

def test_buckets_evict_the_least_recently_used_never_all() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=2, clock=lambda: now[0], max_keys=3)
    assert buckets.take("active") == 0 and buckets.take("active") == 0
    assert buckets.take("active") > 0  # limited
    for i in range(1000):  # a flood of fresh keys
        buckets.take(f"spoof-{i}")
        assert buckets.take("active") > 0, "the active client's limit was reset"
    assert len(buckets.buckets) == 3


# -- through a real Nginx --

def _proxy_headers(source: Path) -> str:
    lines = re.findall(r"^\s*(proxy_set_header\s+[^;]+;)", source.read_text(), re.MULTILINE)
    assert any("X-Forwarded-For" in line for line in lines), f"{source} sets no X-Forwarded-For"
    return "\n            ".join(lines)


class Nginx:
    def __init__(self, workdir: Path, upstream: str, headers: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = workdir / "nginx.conf"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (workdir / sub).mkdir(exist_ok=True)
        conf.write_text(f"""
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            {headers}
        }}
    }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", str(workdir), "-e", str(workdir / "error.log"),
                                      "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60  # returns as soon as nginx answers; room for a loaded machine
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read() if self.proc.stderr else ''}")
            try:
                httpx.get(self.url + "/health", timeout=1)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        stop_process(self.proc)


def _client(local_address: str) -> httpx.Client:
    """A client connecting from its own loopback address (the kernel routes all of 127/8)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=local_address), timeout=30)


@pytest.fixture(scope="module", params=sorted(PROXY_CONFIGS))
def behind_nginx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed: scripts/install-system-deps.sh installs nginx-light")
    workdir = tmp_path_factory.mktemp("nginx")
    settings = app_settings(None, "http://127.0.0.1:9/horizon", str(workdir / "r.db"), runWorker=False,
                            trustProxy=True, rateLimit={"general": 5, "post": 5})
    with running_app(settings) as app_base:
        proxy = Nginx(workdir, app_base, _proxy_headers(PROXY_CONFIGS[request.param]))
        try:
            yield proxy.url
        finally:
            proxy.close()


def _statuses(client: httpx.Client, base: str, count: int, spoof: bool) -> list[int]:
    answers = []
    for i in range(count):
        headers = {"X-Forwarded-For": f"198.51.100.{i}, 10.1.2.{i}", "X-Real-IP": f"192.0.2.{i}"} \
            if spoof else {}
        answers.append(client.get(base + "/networks", headers=headers).status_code)
    return answers


def test_spoofed_forwarded_entries_are_limited_like_one_client(behind_nginx: str) -> None:
    with _client("127.0.0.2") as spoofer:
        answers = _statuses(spoofer, behind_nginx, 12, spoof=True)
    # 5 a minute: a slow machine may refill a token or two while the 12 requests run, no more.
    assert answers.count(200) <= 7 and 429 in answers, answers


def test_two_clients_behind_the_proxy_are_limited_separately(behind_nginx: str) -> None:
    with _client("127.0.0.3") as first, _client("127.0.0.4") as second:
        assert 429 in _statuses(first, behind_nginx, 8, spoof=False)
        assert _statuses(second, behind_nginx, 1, spoof=False) == [200]


def test_without_trust_the_header_is_ignored(tmp_path: Path) -> None:
    settings = app_settings(None, "http://127.0.0.1:9/horizon", str(tmp_path / "r.db"),
                            runWorker=False, trustProxy=False, rateLimit={"general": 5, "post": 5})
    with running_app(settings) as base, httpx.Client(timeout=30) as c:
        answers = _statuses(c, base, 12, spoof=True)
    assert answers.count(200) <= 7 and 429 in answers, answers
