"""Output-length predictors: what a bucket's queries are expected to generate.

A query is routed before its output length is known, so a bucket's cost on a
deployment is an expectation over the output lengths its queries may produce. A
predictor turns the training workload's classes into weighted (tin, tout) points per
bucket; the policy averages each deployment's energy, runtime and tokens over them.

Registry: adding a predictor is one class and one ``register`` line. ``empirical``
(the default) is the training workload's own conditional distribution: the joint
(tin, tout) pairs seen in the bucket, with their counts, so the bucket's expected cost
is exactly the mean cost of its training queries. ``bucket-median`` is a deliberately
simple point predictor (every query of the bucket generates the bucket's median
output), kept as a baseline that shows what ignoring the spread of outputs costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Points:
    """Weighted (tin, tout) points; ``bucket`` says which bucket each belongs to."""

    tin: np.ndarray
    tout: np.ndarray
    bucket: np.ndarray
    weight: np.ndarray


class Empirical:
    name = "empirical"
    label = "Empirical conditional distribution of the training outputs per bucket"

    def points(self, tin, tout, count, bucket, n_buckets: int) -> Points:
        return Points(np.asarray(tin, np.float64), np.asarray(tout, np.float64), np.asarray(bucket),
                      np.asarray(count, np.float64))


class BucketMedian:
    name = "bucket-median"
    label = "Point prediction: the bucket's median training output"

    def points(self, tin, tout, count, bucket, n_buckets: int) -> Points:
        tout = np.asarray(tout, np.float64)
        median = np.zeros(n_buckets)
        for b in np.unique(bucket):
            sel = bucket == b
            order = np.argsort(tout[sel], kind="stable")
            cum = np.cumsum(np.asarray(count)[sel][order])
            median[b] = tout[sel][order][np.searchsorted(cum, cum[-1] / 2.0)]
        return Points(np.asarray(tin, np.float64), median[bucket], np.asarray(bucket), np.asarray(count, np.float64))


PREDICTORS: dict[str, type] = {}


def register(cls) -> type:
    PREDICTORS[cls.name] = cls
    return cls


register(Empirical)
register(BucketMedian)


def get(name: str):
    try:
        return PREDICTORS[name]()
    except KeyError:
        raise ValueError(f"unknown output-length predictor {name!r}; choose one of "
                         f"{', '.join(sorted(PREDICTORS))}") from None
