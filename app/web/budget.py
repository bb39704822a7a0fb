"""Per-client budget of upstream (RPC/Horizon) requests: a POST that would spend more than the
client has left is refused with 429 before any upstream call is made.

Request counts alone do not bound upstream cost: one transaction with 100 fresh source accounts
costs one batched RPC request but 100 Horizon requests. The budget charges what the request would
actually cost, computed from the account cache.
"""

from __future__ import annotations

import math

from starlette.requests import Request

from app.errors import TooManyRequests
from app.services import Services
from app.stellar.evaluation import accounts_to_load
from app.txs.service import PostRequest
from app.web.client import client_key
from app.web.ratelimit import TokenBuckets


class UpstreamBudget:
    def __init__(self, per_minute: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.buckets = TokenBuckets(per_minute)

    def charge(self, request: Request, svc: Services, post: PostRequest) -> None:
        if not self.enabled:
            return
        cost = svc.accounts.lookup_cost(post.network.name, accounts_to_load(post.parsed))
        if cost == 0:
            return
        wait = self.buckets.take(client_key(request), cost)
        if wait > 0:
            raise TooManyRequests("Too many Stellar network lookups from this client, retry later",
                                  max(1, math.ceil(wait)))


def charge_upstream(request: Request, svc: Services, post: PostRequest) -> None:
    budget: UpstreamBudget = request.app.state.upstream_budget
    budget.charge(request, svc, post)
