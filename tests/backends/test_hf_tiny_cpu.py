"""transformers backend, tiny-random-llama on this CPU: exact token counts, offline loads."""

from __future__ import annotations

import os
import time

import pytest

from profiling.backends import BackendError, LLMSpec, architecture, load_backend

TIN, TOUT = 5, 7


def tiny_spec(**kw) -> LLMSpec:
    return LLMSpec(name="tiny-random-llama", architecture=architecture("tiny-random-llama"), dtype="float32",
                   device="cpu", **kw)


@pytest.fixture(scope="module")
def tiny(torch):
    return load_backend("hf", tiny_spec())


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("use_cache", [True, False])
def test_generates_exactly_the_requested_tokens(tiny, batch, use_cache):
    tiny.spec.use_cache = use_cache
    try:
        result = tiny.generate(TIN, TOUT, batch)
    finally:
        tiny.spec.use_cache = True
    assert (result.input_tokens, result.output_tokens, result.batch_size) == (TIN, TOUT, batch)
    assert result.total_tokens == (TIN + TOUT) * batch


def test_random_init_is_offline_fast_and_recorded(tiny):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    t0 = time.perf_counter()
    backend = load_backend("hf", tiny_spec(seed=1))
    assert time.perf_counter() - t0 < 1.0  # the module fixture paid the imports
    assert backend.info["weights"] == "random-init"
    assert backend.info["parameters"] == 4_178_240
    assert backend.info["threads"] == 1  # tiny model: one thread (see SINGLE_THREAD_BELOW)


def test_local_weights_directory_loads_without_network(tiny, tmp_path):
    tiny.model.save_pretrained(tmp_path)
    backend = load_backend("hf", tiny_spec(weights=str(tmp_path), weights_mode="pretrained"))
    assert backend.info["weights"] == f"pretrained:{tmp_path}"
    assert backend.generate(3, 2, 1).output_tokens == 2


def test_uncached_hub_id_is_never_downloaded(torch):
    spec = LLMSpec(name="x", weights="meta-llama/Llama-2-7b-hf", weights_mode="pretrained", device="cpu")
    with pytest.raises(BackendError, match="downloads are off"):
        load_backend("hf", spec)


def test_counts_below_one_are_refused(tiny):
    with pytest.raises(BackendError, match="output_tokens"):
        tiny.generate(4, 0, 1)


def test_uncached_weights_fall_back_to_random_init_and_say_so(torch):
    spec = LLMSpec(name="t", weights="meta-llama/Llama-2-7b-hf", architecture=architecture("tiny-random-llama"),
                   device="cpu")
    assert load_backend("hf", spec).info["weights"] == "random-init"


def test_spec_for_an_llm_row_uses_its_config_or_the_stored_one():
    from types import SimpleNamespace

    from profiling.backends import spec_for_llm

    row = SimpleNamespace(name="Llama-2 (7B)", slug="llama-2-7b", weights="meta-llama/Llama-2-7b-hf",
                          architecture_config=None, dtype="float16")
    spec = spec_for_llm(row, device="cuda")
    assert spec.architecture["hidden_size"] == 4096 and spec.dtype == "float16" and spec.device == "cuda"
    own = SimpleNamespace(name="mine", weights="", architecture_config={"model_type": "llama"}, dtype="")
    assert spec_for_llm(own).architecture == {"model_type": "llama"} and spec_for_llm(own).dtype == "auto"
