"""Multisig transaction coordination: records, the POST/GET use cases, and their JSON views."""
