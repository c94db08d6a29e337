"""The stored architectures build in transformers and have the published parameter counts."""

from __future__ import annotations

import pytest

from profiling.backends.architectures import ARCHITECTURES, NAMES, architecture, parameter_count

# Published sizes (billions) of the paper's seven models.
PUBLISHED_B = {"falcon-7b": 6.92, "falcon-40b": 41.3, "llama-2-7b": 6.74, "llama-2-13b": 13.0,
               "llama-2-70b": 69.0, "mistral-7b": 7.24, "mixtral-8x7b": 46.7}


@pytest.mark.parametrize("key", sorted(ARCHITECTURES))
def test_architecture_builds_with_its_parameter_count(key, torch):
    # Imported here, not at the top: collecting this file must not load transformers (and torch)
    # for the fast tests beside it.
    transformers = pytest.importorskip("transformers")
    config = architecture(key)
    model_type = config.pop("model_type")
    with torch.device("meta"):  # shapes only: no memory, no init
        model = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(model_type, **config))
    built = sum(p.numel() for p in model.parameters())
    assert built == parameter_count(ARCHITECTURES[key])
    if key in PUBLISHED_B:
        assert built / 1e9 == pytest.approx(PUBLISHED_B[key], rel=0.01)


def test_tiny_models_have_the_issue_shapes():
    tiny, tiny2 = architecture("tiny-random-llama"), architecture("tiny-random-llama-2x")
    assert (tiny["model_type"], tiny["num_hidden_layers"], tiny["hidden_size"]) == ("llama", 2, 64)
    assert (tiny2["model_type"], tiny2["num_hidden_layers"], tiny2["hidden_size"]) == ("llama", 4, 128)


def test_catalogue_names_and_slugs_resolve():
    from profiling.services.catalogue import LLM_ALIASES

    for name, aliases in LLM_ALIASES.items():
        assert NAMES[name] in aliases  # our key is one of the catalogue's aliases
        assert architecture(name) == architecture(NAMES[name])
    with pytest.raises(KeyError, match="no architecture"):
        architecture("gpt-5")
