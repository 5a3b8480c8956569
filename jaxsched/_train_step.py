"""`make_train_step`: the ``train_step(params, opt_state, batch, lr)`` that `lr_find` sweeps,
from a loss function and an optax optimizer with an injected learning rate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from . import _checks
from ._finder_sweep import TrainStep

__all__ = ["make_train_step"]

INJECT_STATES = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def _set_hyperparam(opt_state: Any, name: str, value: jax.Array) -> Any:
    found = 0

    def replace(node: Any) -> Any:
        nonlocal found
        if not isinstance(node, INJECT_STATES) or name not in node.hyperparams:
            return node
        if name in getattr(node, "hyperparams_states", {}):
            raise TypeError(
                f"hyperparam {name!r} is scheduled in this optimizer, so setting it has no "
                f"effect; build the optimizer with a number, e.g. "
                f"optax.inject_hyperparams(optax.adam)({name}=1e-3)"
            )
        found += 1
        old = node.hyperparams[name]
        hyperparams = {**node.hyperparams, name: jnp.asarray(value).astype(jnp.result_type(old))}
        return node._replace(hyperparams=hyperparams)

    new_state = jax.tree_util.tree_map(
        replace, opt_state, is_leaf=lambda node: isinstance(node, INJECT_STATES)
    )
    if not found:
        raise TypeError(
            f"opt_state holds no hyperparameter {name!r} injected by optax.inject_hyperparams; "
            f"build the optimizer as e.g. optax.inject_hyperparams(optax.adam)({name}=1e-3) "
            "and pass its init(params) as opt_state"
        )
    return new_state


def make_train_step(
    loss_fn: Callable[..., Any],
    optimizer: optax.GradientTransformation,
    *,
    hyperparam: str = "learning_rate",
    has_aux: bool = False,
) -> TrainStep:
    """Builds the ``train_step(params, opt_state, batch, lr)`` that `lr_find` sweeps.

    The optimizer must carry its learning rate in its state, which is what
    `optax.inject_hyperparams` does: each step writes `lr` into the state's ``hyperparams``
    (every `optax.InjectHyperparamsState` in the state tree that has `hyperparam`, so the
    optimizer may sit inside an `optax.chain`), then computes the gradient of `loss_fn`, updates
    and applies them. The same optimizer trains the model afterwards, with the learning rate
    you pick.

    Args:
        loss_fn: ``loss_fn(params, batch) -> loss`` (a real scalar), or ``-> (loss, aux)``
            with ``has_aux=True`` (aux is dropped).
        optimizer: an optax optimizer built with `optax.inject_hyperparams`, e.g.
            ``optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3, weight_decay=1e-4)``;
            `hyperparam` must be a number there, not a schedule.
        hyperparam: the name of the injected learning-rate hyperparameter.
        has_aux: whether `loss_fn` returns ``(loss, aux)``.

    Returns:
        ``train_step(params, opt_state, batch, lr) -> (params, opt_state, loss)``, where the
        loss is the one computed before the update. Call `make_train_step` once and reuse the
        result: `lr_find` compiles once per step function.

    Raises:
        TypeError: for an optimizer that is not an optax ``GradientTransformation`` (an
            optimizer factory such as ``optax.adam`` itself, say) and, when the step is first
            traced, for an `opt_state` without the injected `hyperparam`, or with it scheduled.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> import jaxsched as js
        >>> def loss_fn(w, batch):
        ...     x, y = batch
        ...     return jnp.mean((x @ w - y) ** 2)
        >>> optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
        >>> train_step = js.make_train_step(loss_fn, optimizer)
        >>> w = jnp.zeros(2)
        >>> batch = (jnp.eye(2), jnp.ones(2))
        >>> w, state, loss = train_step(w, optimizer.init(w), batch, jnp.float32(0.5))
        >>> print(f"{loss:.2f}", [f"{v:.2f}" for v in w])
        1.00 ['0.50', '0.50']
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got loss_fn={loss_fn!r}")
    if not isinstance(optimizer, optax.GradientTransformation):
        hint = (
            " (an optimizer factory? wrap it: optax.inject_hyperparams(factory)("
            f"{hyperparam}=1e-3))" if callable(optimizer) else ""
        )
        raise TypeError(
            "optimizer must be an optax GradientTransformation built with "
            f"optax.inject_hyperparams, got optimizer={optimizer!r}{hint}"
        )
    if not isinstance(hyperparam, str):
        raise TypeError(f"hyperparam must be a string, got hyperparam={hyperparam!r}")
    has_aux = _checks.flag("has_aux", has_aux)
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=has_aux)

    def train_step(params: Any, opt_state: Any, batch: Any, lr: jax.Array) -> tuple:
        value, grads = value_and_grad(params, batch)
        loss = value[0] if has_aux else value
        opt_state = _set_hyperparam(opt_state, hyperparam, lr)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return train_step
