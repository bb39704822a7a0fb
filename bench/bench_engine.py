"""Engine-only figures, no I/O: signature identification (hint match + ed25519 verification) and a
full evaluation (thresholds, core-check simulation, minimal set, progress), per second.

    .venv/bin/python bench/bench_engine.py [--seconds 3]

The baseline is PyNaCl's raw ed25519 verify in the same run; ratios compare against it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nacl.signing import VerifyKey
from stellar_sdk import Keypair

from app.stellar.accounts import AccountData, AccountSigner
from app.stellar.checker import Candidate
from app.stellar.envelope import parse_envelope
from app.stellar.evaluation import collect_needs, evaluate
from app.stellar.requirements import identify_signer
from tests.builders import PASSPHRASE, payment_tx


def rate(func: Callable[[], object], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            func()
        n += 100
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    source = Keypair.random()
    cosigners = [Keypair.random() for _ in range(5)]
    account = AccountData(source.public_key, 1, 0, 3, 3, 3,
                          tuple(AccountSigner(k.public_key, 1) for k in cosigners))
    accounts = {source.public_key: account}
    te = payment_tx(source)
    for kp in cosigners:
        te.sign(kp)
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    needs = collect_needs(parsed, accounts)
    sig = parsed.signatures[-1]  # the last signer: the hint scan crosses the whole list
    found = [Candidate(k.public_key, s.hint, s.signature)
             for k, s in zip(cosigners, parsed.signatures, strict=True)]
    raw_key = VerifyKey(cosigners[-1].raw_public_key())

    baseline = rate(lambda: raw_key.verify(parsed.hash, sig.signature), args.seconds)
    identify = rate(lambda: identify_signer(needs, sig.hint, sig.signature), args.seconds)
    full = rate(lambda: evaluate(parsed, accounts, found), args.seconds)
    parse = rate(lambda: parse_envelope(te.to_xdr(), PASSPHRASE), args.seconds)
    print("| engine operation (one core)                               |     per s | ratio |")
    print("|-----------------------------------------------------------|-----------|-------|")
    for name, value in (("baseline: PyNaCl ed25519 verify", baseline),
                        ("signature check: identify signer among 5 + verify", identify),
                        ("evaluate: 5 signatures, threshold 3, minimal set + progress", full),
                        ("parse envelope (5 signatures)", parse)):
        print(f"| {name:<57} | {value:9.0f} | {value / baseline:5.2f} |")
    print(f"\nreproduce: .venv/bin/python bench/bench_engine.py --seconds {args.seconds}")


if __name__ == "__main__":
    main()
