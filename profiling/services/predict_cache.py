"""A short-lived, per-process cache of what the predict endpoint looks up on every call.

Under load the predict API spent most of its time building and running the same four
queries (the LLM, the hardware, the energy fit, the runtime fit) for every request.
Their answers change only when the inventory or the fits change, so each worker
process keeps them for ``PREDICT_CACHE_S`` seconds (default 5). Saving or deleting
a fit, an LLM, a hardware row or an alias clears the cache of the process that did it
at once; other processes see the change within the TTL. 0 turns the cache off.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save

_lock = threading.Lock()
_entries: dict[tuple, tuple[float, object]] = {}
MAX_ENTRIES = 2048


def _ttl() -> float:
    return float(settings.PREDICT_CACHE_S)


def cached(key: tuple, compute):
    """``compute()`` once per ``key`` per TTL; exceptions are cached too (a missing fit stays missing)."""
    ttl = _ttl()
    if ttl <= 0:
        return compute()
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
    if hit is None or hit[0] < now:
        try:
            value = ("ok", compute())
        except LookupError as exc:  # NoFit and the like: the answer, not a failure
            value = ("raise", exc)
        with _lock:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[key] = (now + ttl, value)
    else:
        value = hit[1]
    kind, payload = value
    if kind == "raise":
        raise payload
    return payload


def clear(**kwargs) -> None:
    with _lock:
        _entries.clear()


def connect_signals() -> None:
    from profiling.models import LLM, EnergyModelFit, Hardware, HardwareAlias, LLMAlias

    for model in (EnergyModelFit, LLM, Hardware, LLMAlias, HardwareAlias):
        post_save.connect(clear, sender=model, dispatch_uid=f"predict-cache-save-{model.__name__}")
        post_delete.connect(clear, sender=model, dispatch_uid=f"predict-cache-delete-{model.__name__}")
