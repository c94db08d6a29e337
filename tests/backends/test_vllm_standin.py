"""The vLLM adapter against a stand-in ``vllm`` module: vLLM needs CUDA, absent here."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from profiling.backends import BackendError, BackendUnavailable, LLMSpec, architecture, load_backend


def standin_vllm(produce_short: bool = False) -> types.ModuleType:
    module = types.ModuleType("vllm")
    module.__version__ = "standin"
    module.calls = []

    class SamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class LLM:
        def __init__(self, model, **kw):
            module.calls.append(("LLM", model, kw))
            module.config = json.loads((Path(model) / "config.json").read_text()) if Path(model).is_dir() else None

        def generate(self, prompts, params, use_tqdm=True):
            module.calls.append(("generate", prompts, params.kw, use_tqdm))
            n = params.kw["max_tokens"] - (1 if produce_short else 0)
            return [types.SimpleNamespace(prompt_token_ids=p["prompt_token_ids"],
                                          outputs=[types.SimpleNamespace(token_ids=list(range(n)))])
                    for p in prompts]

    module.LLM, module.SamplingParams = LLM, SamplingParams
    return module


def test_standin_vllm_random_init_runs_exact_counts(monkeypatch):
    fake = standin_vllm()
    monkeypatch.setitem(sys.modules, "vllm", fake)
    backend = load_backend("vllm", LLMSpec(name="Llama-2 (7B)", architecture=architecture("llama-2-7b"),
                                           dtype="bfloat16", options={"tensor_parallel_size": 1}))
    _, model_dir, kwargs = fake.calls[0]
    assert kwargs["load_format"] == "dummy" and kwargs["skip_tokenizer_init"] and kwargs["dtype"] == "bfloat16"
    assert kwargs["tensor_parallel_size"] == 1 and kwargs["enable_prefix_caching"] is False
    assert fake.config["architectures"] == ["LlamaForCausalLM"] and fake.config["hidden_size"] == 4096
    result = backend.generate(16, 8, 3)
    _, prompts, sampling, use_tqdm = fake.calls[1]
    assert sampling["max_tokens"] == sampling["min_tokens"] == 8 and sampling["ignore_eos"] is True
    assert len(prompts) == 3 and all(len(p["prompt_token_ids"]) == 16 for p in prompts)
    assert all(3 <= t < 32000 for p in prompts for t in p["prompt_token_ids"])
    assert (result.input_tokens, result.output_tokens, result.batch_size) == (16, 8, 3)
    backend.close()
    assert not Path(model_dir).exists()  # the temporary config directory is removed


def test_standin_vllm_reports_what_actually_came_out(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", standin_vllm(produce_short=True))
    backend = load_backend("vllm", LLMSpec(name="t", architecture=architecture("tiny-random-llama")))
    assert backend.generate(4, 5, 1).output_tokens == 4  # the sweep compares with what it asked


def test_standin_vllm_pretrained_needs_a_local_directory(monkeypatch, tmp_path):
    fake = standin_vllm()
    monkeypatch.setitem(sys.modules, "vllm", fake)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 100}))
    backend = load_backend("vllm", LLMSpec(name="t", weights=str(tmp_path), weights_mode="pretrained"))
    assert backend.info["weights"] == f"pretrained:{tmp_path}" and "load_format" not in fake.calls[0][2]
    backend.generate(50, 1, 1)
    assert max(fake.calls[1][1][0]["prompt_token_ids"]) < 100  # ids drawn from the weights' vocabulary
    with pytest.raises(BackendError, match="downloads are off"):
        load_backend("vllm", LLMSpec(name="t", weights="org/model", weights_mode="pretrained"))


def test_vllm_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError
    with pytest.raises(BackendUnavailable, match="requirements-gpu.txt"):
        load_backend("vllm", LLMSpec(name="t", architecture=architecture("tiny-random-llama")))
