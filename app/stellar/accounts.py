"""On-chain account facts the engine needs: signers, weights, thresholds, sequence."""

from __future__ import annotations

from dataclasses import dataclass

MAX_WEIGHT = 255  # core caps every signer weight at 255 (protocol >= 10)


@dataclass(frozen=True, slots=True)
class AccountSigner:
    key: str
    weight: int


@dataclass(frozen=True, slots=True)
class AccountData:
    account_id: str
    sequence: int
    master_weight: int
    low: int
    medium: int
    high: int
    signers: tuple[AccountSigner, ...] = ()
    missing: bool = False
    # AccountEntryExtensionV3: ledger and close time of the last sequence number change (0 when
    # the account has not moved since protocol 19); minSeqAge/minSeqLedgerGap count from them.
    seq_ledger: int = 0
    seq_time: int = 0

    @classmethod
    def not_on_ledger(cls, account_id: str) -> AccountData:
        """What core assumes for an account that does not exist: its own key, weight 1."""
        return cls(account_id, 0, 1, 0, 0, 0, (), missing=True)

    def weighted_signers(self) -> list[AccountSigner]:
        """Signers that can sign, as core lists them: master first (only if its weight > 0)."""
        found = [AccountSigner(self.account_id, min(self.master_weight, MAX_WEIGHT))]
        if self.master_weight <= 0:
            found = []
        found += [AccountSigner(s.key, min(s.weight, MAX_WEIGHT)) for s in self.signers
                  if s.weight > 0]
        return found

    def threshold(self, level: int) -> int:
        return (self.low, self.medium, self.high)[level]
