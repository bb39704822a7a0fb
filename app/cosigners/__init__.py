"""Co-signers as users: SEP-10 sign-in, who may see a private record, SEP-7 links, subscriptions."""
