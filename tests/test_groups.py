"""Per-group learning rates: `js.param_labels` (big_vision's first-match patterns) and
`js.layerwise_decay` (BEiT / timm layer-wise decay), read back per group by `js.learning_rate`."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js

Z = jnp.zeros(2)

# big_vision's ViT (models/vit.py) and a flax GPT-2 (transformers' FlaxGPT2LMHeadModel) param
# trees, with the layer BEiT's get_num_layer_for_vit / timm's group matcher gives each part:
# embeddings 0, block n -> n + 1, the rest (final norm, head) -> depth + 1.
VIT = ({"embedding": {"kernel": Z, "bias": Z}, "cls": Z, "pos_embedding": Z,
        "Transformer": {"encoderblock_0": {"MlpBlock_0": {"Dense_0": {"kernel": Z}}},
                        "encoderblock_1": {"LayerNorm_0": {"scale": Z}},
                        "encoder_norm": {"scale": Z}},
        "head": {"kernel": Z}},
       {"embedding/kernel": 0, "embedding/bias": 0, "cls": 0, "pos_embedding": 0,
        "Transformer/encoderblock_0/MlpBlock_0/Dense_0/kernel": 1,
        "Transformer/encoderblock_1/LayerNorm_0/scale": 2, "Transformer/encoder_norm/scale": 3,
        "head/kernel": 3})
GPT2 = ({"transformer": {"wte": {"embedding": Z}, "wpe": {"embedding": Z},
                         "h": {"0": {"attn": {"c_attn": {"kernel": Z}}},
                               "1": {"mlp": {"c_fc": {"bias": Z}}}},
                         "ln_f": {"scale": Z}},
         "lm_head": {"kernel": Z}},
        {"transformer/wte/embedding": 0, "transformer/wpe/embedding": 0,
         "transformer/h/0/attn/c_attn/kernel": 1, "transformer/h/1/mlp/c_fc/bias": 2,
         "transformer/ln_f/scale": 3, "lm_head/kernel": 3})


def _by_path(tree):
    return {js._groups.path_name(p): v for p, v in jax.tree_util.tree_leaves_with_path(tree)}


@pytest.mark.parametrize("tree, layers", [VIT, GPT2], ids=["big_vision-vit", "flax-gpt2"])
def test_layerwise_decay_gives_beit_layers_and_factors(tree, layers):
    labels, factors = js.layerwise_decay(tree, 0.65)
    assert _by_path(labels) == {path: f"layer_{i}" for path, i in layers.items()}
    depth = max(layers.values()) - 1  # BEiT: decay ** (num_layers + 1 - i), num_layers = depth
    assert factors == pytest.approx({f"layer_{i}": 0.65 ** (depth + 1 - i)
                                     for i in set(layers.values())}, rel=1e-15)


def test_a_layer_function_of_ones_own():
    """timm's ``layer_max``: without a None, the highest layer returned is the head's."""
    labels, factors = js.layerwise_decay(
        VIT[0], 0.5, layer_of=lambda name: 2 if name.startswith("head") else 0)
    assert factors == {"layer_0": 0.25, "layer_2": 1.0} and labels["head"]["kernel"] == "layer_2"


def test_param_labels_takes_the_first_full_match():
    tree = VIT[0]
    labels = js.param_labels(tree, [("Transformer", "never: not a full match"),
                                    (r".*/bias", "no_decay"), ("head/.*", "head"),
                                    (r"Transformer/encoderblock_\d+/.*", "blocks"), (".*", "rest")])
    names = _by_path(labels)
    assert names["embedding/bias"] == "no_decay" and names["head/kernel"] == "head"
    assert names["Transformer/encoderblock_1/LayerNorm_0/scale"] == "blocks"
    assert names["cls"] == names["Transformer/encoder_norm/scale"] == "rest"
    assert js.param_labels(tree, {"head/.*": "head"}, default="rest")["cls"] == "rest"


@pytest.mark.parametrize("build, name", [
    (lambda: js.param_labels(VIT[0], [("head/.*", "head")]), "rules"),
    (lambda: js.param_labels(VIT[0], [("(", "x")]), "rules"),
    (lambda: js.param_labels(VIT[0], [("a", "b", "c")]), "rules"),
    (lambda: js.layerwise_decay(VIT[0], 0.0), "decay"),
    (lambda: js.layerwise_decay(VIT[0], 1.5), "decay"),
    (lambda: js.layerwise_decay(VIT[0], 0.5, layer_of=lambda name: -1), "layer_of"),
])
def test_bad_input_names_the_argument(build, name):
    with pytest.raises(ValueError) as info:
        build()
    assert "\n" not in str(info.value) and re.match(rf"{name}\b", str(info.value)), info.value


def test_each_group_moves_at_its_rate_and_learning_rate_reads_it():
    """One multi_transform step of plain scaled gradients: each parameter moves by exactly
    -factor · schedule(0) · gradient, and js.learning_rate gives every group's next rate."""
    params = GPT2[0]
    schedule = js.linear(0.1, 0.05, 10)
    labels, factors = js.layerwise_decay(params, 0.5)
    opt = optax.multi_transform(
        {group: js.scale_by_schedule(factor * schedule) for group, factor in factors.items()},
        labels)
    state = opt.init(params)
    grads = jax.tree.map(lambda p: jnp.full_like(p, 2.0), params)
    updates, state = jax.jit(opt.update)(grads, state, params)
    for path, update in _by_path(updates).items():
        factor = factors[_by_path(labels)[path]]
        np.testing.assert_allclose(update, -2.0 * factor * float(schedule(0)), rtol=1e-6)
    rates = js.learning_rate(state)
    assert set(rates) == set(factors)
    for group, rate in rates.items():
        np.testing.assert_allclose(rate, factors[group] * float(schedule(1)), rtol=1e-6)
