"""Adapters to the Stellar network: Stellar RPC and Horizon, behind one account source."""
