"""Inference backends behind one interface (see base.py). Importable without Django.

A new backend is one module with a Backend subclass and one line in ``REGISTRY``;
names match ProfilingRun.backend.
"""

from __future__ import annotations

import importlib
import os

# No backend ever downloads: set before anything imports huggingface_hub (it reads these once).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from .architectures import ARCHITECTURES, architecture
from .base import Backend, BackendError, BackendUnavailable, Generation, LLMSpec

# name -> "module:Class"; imported lazily (torch and vllm are heavy, vllm GPU-only).
REGISTRY: dict[str, str] = {
    "hf": "profiling.backends.hf:HFBackend",
    "vllm": "profiling.backends.vllm:VllmBackend",
}


BACKEND_NAMES = tuple(REGISTRY)


def spec_for_llm(llm, **overrides) -> LLMSpec:
    """An LLMSpec from anything shaped like an LLM row (name, slug, weights, architecture_config, dtype).

    Duck-typed so this module stays free of Django. A row without an architecture
    config falls back to the stored one for its slug or name, when there is one.
    """
    config = getattr(llm, "architecture_config", None)
    if not config:
        for key in (getattr(llm, "slug", ""), llm.name):
            try:
                config = architecture(key)
                break
            except KeyError:
                continue
    values = {"name": llm.name, "weights": getattr(llm, "weights", "") or "", "architecture": config or None,
              "dtype": getattr(llm, "dtype", "auto") or "auto"}
    values.update(overrides)
    return LLMSpec(**values)


def backend_class(name: str) -> type[Backend]:
    try:
        module, cls = REGISTRY[name].split(":")
    except KeyError:
        raise BackendError(f"unknown backend {name!r}; known: {', '.join(REGISTRY)}") from None
    return getattr(importlib.import_module(module), cls)


def get_backend(name: str) -> Backend:
    return backend_class(name)()


def probe_backends() -> dict[str, str]:
    """Per backend, "ok" or why this host cannot run it: what a worker reports with its heartbeat,
    so a run for a missing backend is refused at submission, not failed after the fact."""
    out = {}
    for name in REGISTRY:
        try:
            reason = backend_class(name).probe()
        except Exception as exc:  # a broken install is a reason too, never a crash of the heartbeat
            reason = f"{name}: {exc}"
        out[name] = reason or "ok"
    return out


def load_backend(name: str, spec: LLMSpec) -> Backend:
    backend = get_backend(name)
    backend.load(spec)
    return backend


__all__ = ["ARCHITECTURES", "BACKEND_NAMES", "REGISTRY", "spec_for_llm", "Backend", "BackendError", "BackendUnavailable", "Generation", "LLMSpec",
           "architecture", "backend_class", "get_backend", "load_backend", "probe_backends"]
