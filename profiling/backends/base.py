"""The inference-backend interface: ``load(spec)`` then ``generate(tin, tout, batch)``.

Pure Python (no Django). The lead's task code builds an LLMSpec from an LLM row
(name, weights, architecture_config, dtype) and calls these two methods only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


class BackendError(RuntimeError):
    """The backend cannot load or run this model; the message says why."""


class BackendUnavailable(BackendError):
    """The backend's library is missing or the device it needs is absent."""


@dataclass
class LLMSpec:
    """What to load.

    ``weights``: a local directory or a Hugging Face id already in the local cache
    (never downloaded). ``architecture``: a transformers config dict for
    weight-free random initialisation (see architectures.py). ``weights_mode``:
    ``auto`` loads local weights when present else random-initialises from the
    architecture; ``pretrained`` or ``random`` force one.
    """

    name: str
    weights: str = ""
    architecture: dict | None = None
    dtype: str = "auto"  # float16, bfloat16, float32, auto (bf16 on CUDA, fp32 on CPU)
    device: str = "auto"  # cpu, cuda, cuda:1, auto
    weights_mode: str = "auto"
    use_cache: bool = True  # the paper disabled the KV cache; on by default here
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # backend-specific (e.g. tensor_parallel_size)


@dataclass(frozen=True)
class Generation:
    """Tokens actually consumed and produced, per sequence, and the batch that ran."""

    input_tokens: int
    output_tokens: int
    batch_size: int

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens + self.output_tokens) * self.batch_size


class Backend(ABC):
    name: str = ""

    def __init__(self) -> None:
        self.spec: LLMSpec | None = None
        self.info: dict[str, Any] = {}  # device, dtype, where the weights came from, versions

    @classmethod
    def probe(cls) -> str | None:
        """None when this host can load this backend, else why not (cheap: finds, never imports)."""
        return None

    @abstractmethod
    def load(self, spec: LLMSpec) -> None: ...

    @abstractmethod
    def generate(self, input_tokens: int, output_tokens: int, batch_size: int = 1) -> Generation:
        """Run one query of exactly ``input_tokens`` in and ``output_tokens`` out, ``batch_size`` times in
        one batch; returns what actually ran, synchronised (device work finished) before it returns."""

    def synchronize(self) -> None:  # noqa: B027 - optional hook: CPU backends and vLLM return when done
        """Wait for the device work queued so far (a metering window's two ends call it)."""

    def close(self) -> None:  # noqa: B027 - optional hook: free device memory
        """Drop the model."""

    @staticmethod
    def check_counts(input_tokens: int, output_tokens: int, batch_size: int) -> None:
        for label, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens),
                             ("batch_size", batch_size)):
            if int(value) != value or value < 1:
                raise BackendError(f"{label} must be a whole number >= 1 (got {value!r})")
