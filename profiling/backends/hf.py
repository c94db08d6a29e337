"""Hugging Face transformers on PyTorch, CPU or CUDA, never downloading.

Weights come from a local directory or the local HF cache, or the model is
randomly initialised from an architecture config (weights do not change energy
or runtime; random values, unlike zeros or uninitialised memory, keep the
arithmetic's switching activity realistic). Prompts are synthetic token ids of
exactly the requested length; ``min_new_tokens = max_new_tokens`` blocks EOS so
exactly the requested number of tokens comes out.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

# Before transformers/huggingface_hub are imported: they read these once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from .base import Backend, BackendError, BackendUnavailable, Generation, LLMSpec  # noqa: E402

FIRST_ORDINARY_ID = 3  # Llama/Mistral reserve 0-2 (unk, bos, eos); prompts avoid them
# Below this size a CPU model runs on one thread: thread hand-offs cost more than its matmuls
# (tiny-random-llama, 2 shared cores: 0.11 s per 8-in/16-out query on 1 thread, 0.73 s on 2).
SINGLE_THREAD_BELOW = 50_000_000
_DEFAULT_THREADS: int | None = None


def _torch():
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendUnavailable("hf: torch and transformers are not installed "
                                 "(pip install -r requirements-worker.txt)") from exc
    return torch, transformers


class HFBackend(Backend):
    name = "hf"

    @classmethod
    def probe(cls) -> str | None:
        import importlib.util

        missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
        if missing:
            return f"hf: {' and '.join(missing)} not installed (pip install -r requirements-worker.txt)"
        return None

    def load(self, spec: LLMSpec) -> None:
        torch, transformers = _torch()
        self.spec = spec
        device = spec.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable(f"hf: device {device!r} asked for but CUDA is not available here")
        dtype_name = spec.dtype
        if dtype_name == "auto":
            dtype_name = "bfloat16" if device.startswith("cuda") else "float32"
        dtype = getattr(torch, dtype_name, None)
        if not isinstance(dtype, torch.dtype):
            raise BackendError(f"hf: unknown dtype {spec.dtype!r}")
        t0 = time.perf_counter()
        torch.manual_seed(spec.seed)
        model, source = self._build(spec, transformers, torch, device, dtype)
        model.eval()
        self._set_threads(torch, device, spec, model)
        self.model, self.torch, self.device = model, torch, torch.device(device)
        self.vocab_size = model.config.vocab_size
        gen = model.generation_config
        self.eos = gen.eos_token_id if gen.eos_token_id is not None else model.config.eos_token_id
        self.pad = self.eos[0] if isinstance(self.eos, list) else self.eos  # some configs list several EOS ids
        self.generator = torch.Generator().manual_seed(spec.seed)
        self.info = {"backend": self.name, "device": device, "dtype": dtype_name, "weights": source,
                     "use_cache": spec.use_cache, "load_s": round(time.perf_counter() - t0, 3),
                     "threads": torch.get_num_threads() if device == "cpu" else None,
                     "torch": torch.__version__, "transformers": transformers.__version__,
                     "parameters": sum(p.numel() for p in model.parameters())}

    @staticmethod
    def _set_threads(torch, device, spec, model) -> None:
        global _DEFAULT_THREADS
        if device != "cpu":
            return
        if _DEFAULT_THREADS is None:
            _DEFAULT_THREADS = torch.get_num_threads()
        threads = spec.options.get("threads")
        if threads is None:
            small = sum(p.numel() for p in model.parameters()) < SINGLE_THREAD_BELOW
            threads = 1 if small else _DEFAULT_THREADS
        torch.set_num_threads(int(threads))

    def _build(self, spec, transformers, torch, device, dtype):
        auto = transformers.AutoModelForCausalLM
        local = spec.weights and Path(spec.weights).expanduser().is_dir()
        if spec.weights_mode in ("auto", "pretrained") and spec.weights:
            try:
                model = auto.from_pretrained(spec.weights, dtype=dtype, local_files_only=True)
                return model.to(device), f"pretrained:{spec.weights}"
            except OSError as exc:  # not in the local cache: we never download
                if spec.weights_mode == "pretrained" or spec.architecture is None:
                    where = "directory" if local else "local Hugging Face cache"
                    raise BackendError(f"hf: weights {spec.weights!r} not found in the {where} "
                                       f"(downloads are off): {exc}") from exc
        if spec.architecture is None:
            raise BackendError(f"hf: {spec.name!r} has neither local weights nor an architecture config")
        config = dict(spec.architecture)
        model_type = config.pop("model_type")
        config = transformers.AutoConfig.for_model(model_type, **config)
        # Built on the target device: random-initialising a 7B model on the CPU then copying takes minutes.
        with torch.device(device):
            model = auto.from_config(config, dtype=dtype)
        return model, "random-init"

    def generate(self, input_tokens: int, output_tokens: int, batch_size: int = 1) -> Generation:
        self.check_counts(input_tokens, output_tokens, batch_size)
        torch = self.torch
        ids = torch.randint(FIRST_ORDINARY_ID, self.vocab_size, (batch_size, input_tokens),
                            generator=self.generator).to(self.device)
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=output_tokens,
                min_new_tokens=output_tokens, use_cache=self.spec.use_cache, pad_token_id=self.pad,
                eos_token_id=self.eos)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the meter's window must contain the kernels
        return Generation(input_tokens=ids.shape[1], output_tokens=out.shape[1] - ids.shape[1],
                          batch_size=out.shape[0])

    def synchronize(self) -> None:
        if getattr(self, "device", None) is not None and self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def close(self) -> None:
        self.model = None
        if getattr(self, "torch", None) is not None and self.torch.cuda.is_available():
            self.torch.cuda.empty_cache()
