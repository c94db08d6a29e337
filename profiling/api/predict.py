"""POST /api/v1/predict: energy and runtime of many (tin, tout) pairs from stored fits.

The pairs are validated and evaluated as numpy arrays, not through a DRF
serializer per pair, so 100,000 pairs take well under a second
(benchmarks/bench_predict.py).
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from energyweb.api.throttling import PredictThrottle
from energyweb.permissions import AuthenticatedMayPost
from energyweb.validation import INT64_MAX, MAX_NAME_LENGTH, max_context
from profiling.models import LLM, Hardware
from profiling.services import predict_cache
from profiling.services.fitting import NoFit, choose_fit, fit_summary, lookup, predict_with_fit

TARGETS = {"energy": "energy_j", "runtime": "runtime_s"}
# Values are sent to 7 significant digits: far finer than any fit's interval, and
# the shorter numbers halve the time spent writing 600,000 floats as JSON.
SIGNIFICANT = 7


def round_sig(x: np.ndarray, digits: int = SIGNIFICANT) -> list:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    mag = np.where(np.isfinite(mag), mag, 0.0)
    factor = 10.0 ** (digits - 1 - mag)
    return (np.round(x * factor) / factor).tolist()


def max_pairs() -> int:
    return int(settings.PREDICT_MAX_PAIRS)


def _pairs(raw) -> tuple[np.ndarray, np.ndarray]:
    """(tin, tout) float arrays from [[tin, tout], ...] or {"tin": [...], "tout": [...]}."""
    if isinstance(raw, dict):
        if set(raw) - {"tin", "tout"} or not {"tin", "tout"} <= set(raw):
            raise ValueError('Give {"tin": [...], "tout": [...]} or a list of [tin, tout] pairs.')
        if not isinstance(raw["tin"], list) or not isinstance(raw["tout"], list):
            raise ValueError('"tin" and "tout" must be lists of token counts.')
        if len(raw["tin"]) != len(raw["tout"]):
            raise ValueError(f'"tin" has {len(raw["tin"])} values but "tout" has {len(raw["tout"])}.')
        n = len(raw["tin"])
        if n > max_pairs():
            raise OverflowError(n)
        cols = [raw["tin"], raw["tout"]]
    elif isinstance(raw, list):
        n = len(raw)
        if n > max_pairs():
            raise OverflowError(n)
        cols = None
    else:
        raise ValueError('Give a list of [tin, tout] pairs or {"tin": [...], "tout": [...]}.')
    if n == 0:
        raise ValueError("Give at least one (tin, tout) pair.")
    try:
        arr = np.array(cols, dtype=np.float64).T if cols is not None else np.array(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("Every token count must be a number; each pair is [tin, tout].") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError("Each pair must be [tin, tout]: two numbers.")
    if not np.isfinite(arr).all():
        raise ValueError("Token counts must be finite numbers.")
    bad = np.flatnonzero((arr < 0).any(axis=1))
    if bad.size:
        raise ValueError(f"Token counts must not be negative (pair {int(bad[0])}: {arr[bad[0]].tolist()}).")
    bad = np.flatnonzero((arr != np.round(arr)).any(axis=1))
    if bad.size:
        raise ValueError(f"Token counts are whole numbers (pair {int(bad[0])}: {arr[bad[0]].tolist()}).")
    limit = max_context()
    bad = np.flatnonzero((arr > limit).any(axis=1))
    if bad.size:
        raise ValueError(f"Token counts are at most the maximum context of {limit} "
                         f"(ENERGYWEB_MAX_CONTEXT_TOKENS; pair {int(bad[0])}: {arr[bad[0]].tolist()}).")
    # numpy reads JSON true/false as 1/0; only cells equal to 0 or 1 can have been booleans.
    for i, j in zip(*np.nonzero((arr == 0) | (arr == 1)), strict=True):
        cell = raw[i][j] if cols is None else cols[j][i]
        if isinstance(cell, bool):
            raise ValueError(f"Token counts are numbers, not true/false (pair {int(i)}).")
    return arr[:, 0], arr[:, 1]


def _fit_choice(raw, target):
    if isinstance(raw, dict):
        return raw.get(target, "selected")
    return raw


REQUEST_DOC = inline_serializer("PredictRequest", {
    "llm": serializers.CharField(help_text="LLM name, slug, alias or id."),
    "hardware": serializers.CharField(help_text="Hardware name, slug, alias or id."),
    "pairs": serializers.JSONField(help_text='[[tin, tout], ...] or {"tin": [...], "tout": [...]}'),
    "fit": serializers.JSONField(required=False, help_text='"selected" (default), "published", a fit id, '
                                 'or {"energy": ..., "runtime": ...}'),
})


class PredictView(APIView):
    """Predict energy (J) and runtime (s) per query with 95% intervals and per-pair warnings."""

    permission_classes = [AuthenticatedMayPost]
    throttle_classes = [PredictThrottle]

    @extend_schema(request=REQUEST_DOC, responses={200: dict}, examples=[OpenApiExample(
        "Two queries", value={"llm": "Llama-2 (7B)", "hardware": "Swing AMD+A100",
                              "pairs": [[512, 128], [64, 32]]}, request_only=True)])
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        errors = {}
        found = {}
        for field, model in (("llm", LLM), ("hardware", Hardware)):
            value = data.get(field)
            if value in (None, ""):
                errors[field] = ["This field is required."]
                continue
            # Refuse what cannot name a row before it reaches a lookup: an over-long string, an id
            # past bigint, JSON true.
            usable = (isinstance(value, str) and len(value) <= MAX_NAME_LENGTH and "\x00" not in value) or (
                isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT64_MAX)
            row = predict_cache.cached(("row", model.__name__, value), lambda m=model, v=value: lookup(m, v)) \
                if usable else None
            if row is None:
                errors[field] = [f"Unknown {model._meta.verbose_name}: {value!r} (use a name, slug, alias or id)."]
            found[field] = row
        tin = tout = None
        if "pairs" not in data:
            errors["pairs"] = ["This field is required."]
        else:
            try:
                tin, tout = _pairs(data["pairs"])
            except OverflowError as exc:
                errors["pairs"] = [f"{exc.args[0]} pairs is more than the limit of {max_pairs()} per call."]
            except ValueError as exc:
                errors["pairs"] = [str(exc)]
        fit_raw = data.get("fit", "selected")
        if not (fit_raw is None or isinstance(fit_raw, (str, int, dict))) or isinstance(fit_raw, bool) or (
                isinstance(fit_raw, int) and not 0 < fit_raw <= INT64_MAX):
            errors["fit"] = ['Use "selected", "published", a fit id or {"energy": ..., "runtime": ...}.']
        if errors:
            return Response(errors, status=400)

        llm, hardware = found["llm"], found["hardware"]
        body = {"llm": llm.name, "hardware": hardware.name, "n": int(tin.size), "significant_digits": SIGNIFICANT,
                "fits": {}, "warnings": [],
                "pair_warnings": {}, "estimated": False}
        missing = {}
        for target, key in TARGETS.items():
            try:
                choice = _fit_choice(fit_raw, target)
                fit = predict_cache.cached(
                    ("fit", llm.pk, hardware.pk, target, repr(choice)),
                    lambda t=target, c=choice: choose_fit(llm, hardware, t, c))
            except NoFit as exc:
                missing[target] = str(exc)
                body[key] = body[f"{key}_lower"] = body[f"{key}_upper"] = None
                body["fits"][target] = None
                continue
            out = predict_with_fit(fit, tin, tout)
            body[key] = round_sig(out["value"])
            body[f"{key}_lower"] = None if out["lower"] is None else round_sig(out["lower"])
            body[f"{key}_upper"] = None if out["upper"] is None else round_sig(out["upper"])
            body["fits"][target] = fit_summary(fit)
            body["pair_warnings"][target] = out["pair_warnings"]
            body["estimated"] = body["estimated"] or fit.uses_estimated_energy
            body["warnings"] += out["notes"]
            for code, idx in out["pair_warnings"].items():
                if idx:
                    body["warnings"].append(f"{target}: {len(idx)} pair(s) {_CODE_TEXT[code]} (see pair_warnings).")
        if len(missing) == len(TARGETS):
            return Response({"fit": list(missing.values())}, status=400)
        body["warnings"] += list(missing.values())
        return Response(body)


_CODE_TEXT = {
    "extrapolation": "outside the measured token range (extrapolation)",
    "negative": "with a negative prediction (physically invalid)",
}


def register(router):
    """Predict is an action, not a resource: no viewset to register."""


urlpatterns = [path("predict/", PredictView.as_view(), name="predict")]
