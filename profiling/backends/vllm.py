"""vLLM on CUDA hosts, imported lazily (GPU-only, requirements-gpu.txt).

Prompts go in as token ids; ``SamplingParams(max_tokens=n, min_tokens=n,
ignore_eos=True)`` makes exactly n tokens come out. Weight-free models: the
architecture config is written to a temporary directory and loaded with
``load_format="dummy"`` (random weights), with no tokenizer.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import random
import tempfile
from pathlib import Path

from .base import Backend, BackendError, BackendUnavailable, Generation, LLMSpec

FIRST_ORDINARY_ID = 3


class VllmBackend(Backend):
    name = "vllm"

    @classmethod
    def probe(cls) -> str | None:
        if importlib.util.find_spec("vllm") is None:
            return "vllm: not installed (CUDA hosts: pip install -r requirements-gpu.txt)"
        return None

    def load(self, spec: LLMSpec) -> None:
        try:
            self.vllm = importlib.import_module("vllm")
        except ImportError as exc:
            raise BackendUnavailable("vllm: not installed (CUDA hosts: pip install -r requirements-gpu.txt)") from exc
        self.spec = spec
        args = {"seed": spec.seed, "skip_tokenizer_init": True, "enable_prefix_caching": False, **spec.options}
        if spec.dtype != "auto":
            args["dtype"] = spec.dtype
        if spec.weights_mode != "random" and spec.weights and Path(spec.weights).expanduser().is_dir():
            model, source = spec.weights, f"pretrained:{spec.weights}"
        elif spec.weights_mode == "pretrained":
            raise BackendError(f"vllm: weights {spec.weights!r} are not a local directory (downloads are off)")
        elif spec.architecture:
            self._config_dir = tempfile.TemporaryDirectory(prefix="energyweb-vllm-")
            config = {**spec.architecture, "architectures": [_architecture_class(spec.architecture)]}
            Path(self._config_dir.name, "config.json").write_text(json.dumps(config))
            model, source = self._config_dir.name, "random-init"
            args["load_format"] = "dummy"
        else:
            raise BackendError(f"vllm: {spec.name!r} has neither a local weights directory nor an architecture")
        # Prefix caching off: repeated synthetic prompts must cost a full prefill each time.
        self.llm = self.vllm.LLM(model=model, **args)
        self.vocab_size = _vocab_size(model)
        self.rng = random.Random(spec.seed)
        self.info = {"backend": self.name, "weights": source, "dtype": spec.dtype,
                     "vllm": getattr(self.vllm, "__version__", "?")}

    def generate(self, input_tokens: int, output_tokens: int, batch_size: int = 1) -> Generation:
        self.check_counts(input_tokens, output_tokens, batch_size)
        params = self.vllm.SamplingParams(max_tokens=output_tokens, min_tokens=output_tokens, ignore_eos=True,
                                          temperature=0.0, detokenize=False)
        prompts = [{"prompt_token_ids": [self.rng.randrange(FIRST_ORDINARY_ID, self.vocab_size)
                                         for _ in range(input_tokens)]} for _ in range(batch_size)]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)  # returns when the GPU work is done
        consumed = {len(o.prompt_token_ids) for o in outputs}
        produced = {len(o.outputs[0].token_ids) for o in outputs}
        if len(consumed) != 1 or len(produced) != 1:
            raise BackendError(f"vllm: uneven batch: inputs {sorted(consumed)}, outputs {sorted(produced)}")
        return Generation(input_tokens=consumed.pop(), output_tokens=produced.pop(), batch_size=len(outputs))

    def close(self) -> None:
        self.llm = None
        config_dir = getattr(self, "_config_dir", None)
        if config_dir is not None:
            config_dir.cleanup()


def _vocab_size(model_dir: str) -> int:
    try:
        return int(json.loads(Path(model_dir, "config.json").read_text())["vocab_size"])
    except (OSError, KeyError, ValueError):
        return 32000  # Llama-family vocabulary; ids below it are valid in every stored architecture


def _architecture_class(config: dict) -> str:
    return {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "mixtral": "MixtralForCausalLM",
            "falcon": "FalconForCausalLM"}.get(config["model_type"], "LlamaForCausalLM")
