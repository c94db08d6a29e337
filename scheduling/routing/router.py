"""Apply a policy one query at a time, keeping the realised shares on target.

Deficit (credit) accounting, not coin flips: each bucket keeps a credit per
deployment; an arrival adds the bucket's target share to every credit and goes to the
deployment with the largest credit, which then pays one. This is smooth weighted
round-robin: after n arrivals in a bucket each deployment's count differs from
target x n by less than the number of deployments, whereas independent draws drift by
about sqrt(n). Deterministic given the seed (the seed only sets the initial credits,
so two routers with different seeds interleave differently but hold the same shares).

Explicit share bounds (a deployment's min_share / max_share) are also guarded over
the whole stream: a deployment more than one query below its minimum takes the next
query, and one that would go more than one query above its maximum is skipped, so the
realised shares stay within the bounds to one query however the bucket mix of live
traffic differs from the training workload's.

Several web workers: each process keeps its own router per policy and sees a
subsequence of the traffic. Each subsequence's shares are within the bounds to a few
queries, and the overall shares are their query-weighted average; bounds are
intervals, so the average stays within them to the same few queries per worker. The
per-bucket targets are likewise met per worker, so the pooled split matches them.
"""

from __future__ import annotations

import bisect

import numpy as np

from .policy import Policy


class Router:
    def __init__(self, policy: Policy, seed: int = 0):
        self.policy = policy
        self._edges = list(policy.edges)
        self._fallback = list(policy.fallback)
        self._targets = [list(map(float, row)) for row in policy.shares]
        D = len(policy.keys)
        self._range = range(D)
        rng = np.random.default_rng(seed)
        # Initial credits in [0, target): the seed picks the interleaving, not the shares.
        self._credit = [[float(u) * t for u, t in zip(rng.random(D), row, strict=True)] for row in self._targets]
        self.counts = [0] * D
        self.total = 0
        # Minimum shares raised for exploration (policy.py) are held like the bounds'.
        lo, hi = policy.route_min_share(), list(policy.max_share)
        self._lo, self._hi = lo, hi
        self._guarded = any(v > 0 for v in lo) or any(v < 1 for v in hi)
        # Skipping the guard while it cannot act (exploration makes most policies guarded, and
        # the guard costs ~20x a decision): with no max share below 1, the guard differs from
        # the credit rule only once some deployment is more than one query below its minimum,
        # i.e. when total + 1 > (counts[d] + 1) / lo[d]. That deadline moves only when d is
        # chosen, so the earliest one is kept and the guard runs only past it.
        self._max_bound = any(v < 1 for v in hi)
        self._deadline = [1.0 / v if v > 0 else float("inf") for v in lo]
        self._next_guard = min(self._deadline) if self._deadline else float("inf")
        # A bucket placed whole on one deployment (most of them: an optimal vertex splits few
        # classes) needs no credit arithmetic: adding 1 and paying 1 leaves its credits unchanged.
        self._single = [row.index(1.0) if 1.0 in row else -1 for row in self._targets]
        self._caps = list(policy.cap_edges)
        self._cap_choice = [list(row) for row in policy.cap_choice]

    def route(self, tin: int, max_tokens: int | None = None) -> int:
        """The deployment index (in ``policy.keys``) for a query of ``tin`` input tokens.

        A ``max_tokens`` below the longest training output routes by the policy's cap table
        (capped.py) and counts toward the stream's bounds, not toward the bucket's credits;
        when that deployment is at a bound, the query is routed as an uncapped one.
        """
        if tin < 0:
            raise ValueError("input_tokens must not be negative")
        b = self._fallback[bisect.bisect_right(self._edges, tin) - 1]
        if max_tokens is not None and self._caps and max_tokens < self._caps[-1]:
            m = bisect.bisect_right(self._caps, max_tokens) - 1
            if m >= 0:
                choice = self._cap_choice[b][m]
                if not self._guarded or self._within(choice):
                    return self._count(choice)
        guard = self._guarded and (self._max_bound or self.total + 1 > self._next_guard)
        if not guard:
            single = self._single[b]
            if single >= 0:
                return self._count(single)
        credit, target = self._credit[b], self._targets[b]
        for d in self._range:
            credit[d] += target[d]
        if guard:
            choice = self._guard(credit)
        else:
            choice = max(self._range, key=credit.__getitem__)
        credit[choice] -= 1.0
        return self._count(choice)

    def _count(self, choice: int) -> int:
        count = self.counts[choice] = self.counts[choice] + 1
        self.total += 1
        lo = self._lo[choice]
        if lo > 0:
            self._deadline[choice] = (count + 1) / lo
            self._next_guard = min(self._deadline)
        return choice

    def route_many(self, tins) -> np.ndarray:
        route = self.route
        return np.fromiter((route(int(t)) for t in tins), dtype=np.int64, count=len(tins))

    def _guard(self, credit) -> int:
        n1 = self.total + 1
        counts = self.counts
        need = [self._lo[d] * n1 - counts[d] for d in self._range]
        worst = max(self._range, key=need.__getitem__)
        if need[worst] > 1.0:
            return worst
        allowed = [d for d in self._range if counts[d] + 1 <= self._hi[d] * n1 + 1.0]
        if not allowed:  # only when the maxima sum below 1, which the planner refuses
            return max(self._range, key=credit.__getitem__)
        return max(allowed, key=credit.__getitem__)

    def _within(self, d: int) -> bool:
        n1 = self.total + 1
        if self.counts[d] + 1 > self._hi[d] * n1 + 1.0:
            return False
        # Taking it must not leave another deployment more than one query below its minimum.
        return all(self._lo[j] * n1 - self.counts[j] <= 1.0 for j in self._range if j != d)

    def shares(self) -> list[float]:
        return [c / self.total if self.total else 0.0 for c in self.counts]
