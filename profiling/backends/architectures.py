"""Architecture configs (public hyperparameters) for weight-free random initialisation.

Energy and runtime depend on the architecture, not on the weight values, so a
Llama-2-70B-shaped model can be profiled without downloading its weights. Each
entry is a transformers config dict (``model_type`` plus hyperparameters) as
published in the model's config.json on the Hugging Face Hub, so it can be stored
in ``LLM.architecture_config`` and rebuilt with ``AutoConfig.for_model``.
Keys are the catalogue's aliases (profiling/services/catalogue.py).
"""

from __future__ import annotations

import copy

_LLAMA_COMMON = {"model_type": "llama", "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                 "vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": False}

ARCHITECTURES: dict[str, dict] = {
    "falcon-7b": {  # tiiuae/falcon-7b: multi-query attention, parallel attention + MLP
        "model_type": "falcon", "hidden_size": 4544, "num_hidden_layers": 32, "num_attention_heads": 71,
        "multi_query": True, "num_kv_heads": 1, "new_decoder_architecture": False, "parallel_attn": True,
        "bias": False, "alibi": False, "vocab_size": 65024, "max_position_embeddings": 2048,
        "layer_norm_epsilon": 1e-5, "bos_token_id": 11, "eos_token_id": 11,
    },
    "falcon-40b": {  # tiiuae/falcon-40b: grouped KV heads (8), new decoder block
        "model_type": "falcon", "hidden_size": 8192, "num_hidden_layers": 60, "num_attention_heads": 128,
        "num_kv_heads": 8, "new_decoder_architecture": True, "parallel_attn": True, "bias": False,
        "alibi": False, "vocab_size": 65024, "max_position_embeddings": 2048, "layer_norm_epsilon": 1e-5,
        "bos_token_id": 11, "eos_token_id": 11,
    },
    "llama-2-7b": {**_LLAMA_COMMON, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096},
    "llama-2-13b": {**_LLAMA_COMMON, "hidden_size": 5120, "intermediate_size": 13824, "num_hidden_layers": 40,
                    "num_attention_heads": 40, "num_key_value_heads": 40, "max_position_embeddings": 4096},
    "llama-2-70b": {**_LLAMA_COMMON, "hidden_size": 8192, "intermediate_size": 28672, "num_hidden_layers": 80,
                    "num_attention_heads": 64, "num_key_value_heads": 8, "max_position_embeddings": 4096},
    "mistral-7b": {  # mistralai/Mistral-7B-v0.1: grouped-query attention, 4096-token sliding window
        **_LLAMA_COMMON, "model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "max_position_embeddings": 32768, "sliding_window": 4096,
    },
    "mixtral-8x7b": {  # mistralai/Mixtral-8x7B-v0.1: 8 experts, 2 active per token
        **_LLAMA_COMMON, "model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "max_position_embeddings": 32768, "rope_theta": 1e6, "sliding_window": None,
        "num_local_experts": 8, "num_experts_per_tok": 2,
    },
    # Made-up, weight-free models small enough to profile on a CPU in seconds.
    "tiny-random-llama": {**_LLAMA_COMMON, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                          "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 4096},
    "tiny-random-llama-2x": {**_LLAMA_COMMON, "hidden_size": 128, "intermediate_size": 256,
                             "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4,
                             "max_position_embeddings": 4096},
}

# Catalogue names (Table 4.1) to the keys above.
NAMES = {
    "Falcon (7B)": "falcon-7b", "Falcon (40B)": "falcon-40b", "Llama-2 (7B)": "llama-2-7b",
    "Llama-2 (13B)": "llama-2-13b", "Llama-2 (70B)": "llama-2-70b", "Mistral (7B)": "mistral-7b",
    "Mixtral (8x7B)": "mixtral-8x7b", "tiny-random-llama": "tiny-random-llama",
    "tiny-random-llama-2x": "tiny-random-llama-2x",
}


def architecture(name_or_slug: str) -> dict:
    """A copy of the config for a catalogue name or slug; KeyError names the known ones."""
    key = NAMES.get(name_or_slug, name_or_slug)
    try:
        return copy.deepcopy(ARCHITECTURES[key])
    except KeyError:
        raise KeyError(f"no architecture for {name_or_slug!r}; known: {', '.join(ARCHITECTURES)}") from None


def parameter_count(config: dict) -> int:
    """Parameters of a decoder-only config (embeddings and LM head included), for sanity checks."""
    h, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads") or config.get("num_kv_heads") or heads
    head_dim = h // heads
    if config["model_type"] == "falcon":
        attn = h * (heads + 2 * kv) * head_dim + h * h
        mlp = 2 * h * 4 * h
        norms = 2 * h * (2 if config.get("new_decoder_architecture") else 1)
        return vocab * h + layers * (attn + mlp + norms) + 2 * h  # LM head tied to the embeddings
    attn = h * (heads + 2 * kv) * head_dim + heads * head_dim * h
    experts = config.get("num_local_experts", 1)
    mlp = experts * 3 * h * config["intermediate_size"] + (h * experts if experts > 1 else 0)
    head = 0 if config.get("tie_word_embeddings") else vocab * h
    return vocab * h + layers * (attn + mlp + 2 * h) + h + head
