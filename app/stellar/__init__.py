"""The multisig engine: Stellar protocol rules, pure and free of I/O."""
