"""Parameter groups: labels for `optax.multi_transform` from parameter paths, and layer-wise decay.

PyTorch users give each parameter group its own learning rate (``param_groups``); optax gives each
group its own transformation, chosen by a label per parameter. These two helpers write the labels
that the usual recipes need, from a parameter pytree (a flax ``params`` dict, an ``nnx.State``,
any nested dict or dataclass of arrays):

* `param_labels`: the first regular expression that matches a parameter's path names its group
  (big_vision's ``lr_mults`` / ``wd_mults`` / ``schedule`` lists of ``(pattern, value)`` pairs);
* `layerwise_decay`: BEiT's and timm's layer-wise rate decay: the embeddings, each block and the
  head as groups ``"layer_0"`` ... ``"layer_{L+1}"``, with the rate factor of each.

Each group then gets its transformation, e.g. ``js.scale_by_schedule(factor * schedule)``, and
`js.learning_rate` reads the rate of every group back (a dict by label).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax

__all__ = ["layerwise_decay", "param_labels"]

# A numbered block: ``layers_3``, ``blocks_3``, ``encoderblock_3``, ``h/3``, ``layer3`` ...
_BLOCK = re.compile(r"(?:^|/)(?:layers|layer|blocks|block|encoderblock|decoderblock|"
                    r"encoder_layer|decoder_layer|h)[_/]?(\d+)(?:/|$)")
# What comes before the first block: token, position and patch embeddings, class tokens, stems.
_EMBEDDING = re.compile(r"(?:^|/)(?:\w*embed\w*|wte|wpe|cls|cls_token|stem\w*|conv_root)(?:/|$)",
                        re.IGNORECASE)


def path_name(path: Iterable[Any]) -> str:
    """A pytree key path as ``"a/b/0/c"`` (dict keys, attribute names, sequence indices)."""
    parts = []
    for key in path:
        for attribute in ("key", "name", "idx"):
            if hasattr(key, attribute):
                parts.append(str(getattr(key, attribute)))
                break
        else:
            parts.append(str(key))
    return "/".join(parts)


def param_labels(params: Any, rules: Mapping[str, str] | Iterable[tuple[str, str]], *,
                 default: str | None = None) -> Any:
    """The group of every parameter: the label of the first rule whose regular expression
    matches the parameter's whole path (``re.fullmatch``), as big_vision matches its
    ``lr_mults``, ``wd_mults`` and ``schedule`` patterns.

    A path joins the keys with ``/``: ``{"encoder": {"layers_0": {"kernel": w}}}`` has the
    parameter ``"encoder/layers_0/kernel"`` (no leading slash, as big_vision's names).

    Args:
      params: the parameter pytree (as given to ``optimizer.init``).
      rules: ``(pattern, label)`` pairs in order, or a dict ``{pattern: label}``.
      default: the label of a parameter no rule matches; None: such a parameter raises.

    Returns:
      A pytree of labels of the structure of `params`, for ``optax.multi_transform(transforms,
      labels)`` (a function of the params works too: ``lambda p: js.param_labels(p, rules)``).

    Raises:
      ValueError: a pattern that is not a regular expression, or a parameter that no rule
        matches (without `default`), named by its path.

    Example:
      >>> import jax.numpy as jnp
      >>> import jaxsched as js
      >>> params = {"embed": {"embedding": jnp.zeros(3)}, "head": {"kernel": jnp.zeros(3)},
      ...           "layers_0": {"kernel": jnp.zeros(3), "bias": jnp.zeros(3)}}
      >>> labels = js.param_labels(params, [(r"head/.*", "head"), (r".*/bias", "no_decay"),
      ...                                   (".*", "body")])
      >>> labels["head"], labels["layers_0"]
      ({'kernel': 'head'}, {'bias': 'no_decay', 'kernel': 'body'})
    """
    pairs = list(rules.items()) if isinstance(rules, Mapping) else [tuple(r) for r in rules]
    compiled = []
    for i, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(x, str) for x in pair):
            raise ValueError(f"rules[{i}] must be a (pattern, label) pair of strings, got {pair!r}")
        try:
            compiled.append((re.compile(pair[0]), pair[1]))
        except re.error as e:
            raise ValueError(f"rules[{i}] has a bad pattern {pair[0]!r}: {e}") from None

    def label(path: Any, _: Any) -> str:
        name = path_name(path)
        found = next((group for pattern, group in compiled if pattern.fullmatch(name)), default)
        if found is None:
            raise ValueError(f"rules: no pattern matches the parameter {name!r}; add one (e.g. "
                             f"('.*', 'rest')) or pass default=")
        return found

    return jax.tree_util.tree_map_with_path(label, params)


def _default_layer(name: str) -> int | None:
    """1 + the block number in the path, 0 for an embedding, None for what follows the blocks."""
    block = _BLOCK.search(name)
    if block:
        return int(block.group(1)) + 1
    return 0 if _EMBEDDING.search(name) else None


def layerwise_decay(params: Any, decay: float, *,
                    layer_of: Callable[[str], int | None] | None = None,
                    ) -> tuple[Any, dict[str, float]]:
    r"""Layer-wise learning-rate decay (BEiT, arXiv:2106.08254; timm's
    ``param_groups_layer_decay``): the parameters of layer :math:`i` learn at

    .. math:: \eta_i = \eta \cdot \text{decay}^{\,L + 1 - i}

    where layer 0 holds the embeddings, layers :math:`1 \ldots L` the blocks and layer
    :math:`L + 1` what follows them (final norm, head), which learns at the full rate.

    By default the layer of a parameter is read from its path (keys joined by ``/``): a block
    numbered ``n`` (``layers_n``, ``blocks_n``, ``block_n``, ``encoderblock_n``, ``h/n``, ...)
    is layer ``n + 1``; an embedding (``embed*``, ``*embedding*``, ``pos_embed*``, ``cls``,
    ``wte``, ``wpe``, ``stem*``, ``conv_root``) layer 0; anything else layer :math:`L + 1`, with
    :math:`L` the number of blocks found. Blocks stacked along one axis by ``nn.scan`` have no
    number in their path: they need a factor per slice, which this helper does not give.

    Args:
      params: the parameter pytree.
      decay: the factor per layer, in (0, 1] (0.65 to 0.9 in fine-tuning recipes).
      layer_of: a function of a parameter's path returning its layer (an int >= 0), or None
        for "after the last block", replacing the default reading of the path. Without a None,
        the highest layer returned is the head's, at the full rate (timm's ``layer_max``).

    Returns:
      ``(labels, factors)``: a pytree of labels ``"layer_i"`` of the structure of `params`, and
      a dict from each label present to its factor :math:`\text{decay}^{L + 1 - i}`.

    Example:
      >>> import jax.numpy as jnp
      >>> import jaxsched as js
      >>> params = {"embed": jnp.zeros(2), "layers_0": jnp.zeros(2), "layers_1": jnp.zeros(2),
      ...           "head": jnp.zeros(2)}
      >>> labels, factors = js.layerwise_decay(params, 0.5)
      >>> labels["layers_1"], {k: round(v, 4) for k, v in sorted(factors.items())}
      ('layer_2', {'layer_0': 0.125, 'layer_1': 0.25, 'layer_2': 0.5, 'layer_3': 1.0})
    """
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise ValueError(f"decay must be a number in (0, 1], got {decay=}")
    find = _default_layer if layer_of is None else layer_of
    layers = [find(path_name(path)) for path, _ in jax.tree_util.tree_leaves_with_path(params)]
    for i in layers:
        if i is not None and (isinstance(i, bool) or not isinstance(i, int) or i < 0):
            raise ValueError(f"layer_of must return an integer >= 0 or None, got {i!r}")
    known = {i for i in layers if i is not None}
    top = max(known, default=-1) + 1 if None in layers else max(known)  # the head's layer
    ids = [top if i is None else i for i in layers]
    labels = jax.tree.unflatten(jax.tree.structure(params), [f"layer_{i}" for i in ids])
    return labels, {f"layer_{i}": float(decay) ** (top - i) for i in sorted(set(ids))}
