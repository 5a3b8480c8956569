"""The sweep of `lr_find`: the compiled chunks, their cache, and the loop that runs them.

The sweep is a `jax.lax.scan` over the steps, compiled once per live ``train_step`` (and batch
function) and run in a few chunks, so that a progress bar can advance between them; the
learning-rate grid is an array argument, so one compilation serves every `min_lr` / `max_lr`.
Once the loss diverges, the remaining steps are skipped inside the compiled loop (a
`jax.lax.cond`) and the remaining chunks are not run at all.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

TrainStep = Callable[[Any, Any, Any, jax.Array], tuple[Any, Any, jax.Array]]


class Settings(NamedTuple):
    """lr_find's checked arguments."""

    min_lr: float
    max_lr: float
    num_steps: int
    mode: str
    smoothing: float
    threshold: float  # diverge_threshold, +inf for None
    num_chunks: int


class _State(NamedTuple):
    """What changes from one step of the sweep to the next."""

    params: Any
    opt_state: Any
    average: jax.Array  # the moving average before bias correction
    best: jax.Array  # the lowest smoothed loss so far (+inf before the first step)
    active: jax.Array  # False once the loss has diverged


class _Sweep(NamedTuple):
    """All a chunk needs besides the batches, on the device, passed from chunk to chunk."""

    state: _State
    start: jax.Array  # the index of the next chunk's first step
    lrs: jax.Array  # the whole grid, padded to a whole number of chunks
    num_steps: jax.Array
    smoothing: jax.Array
    threshold: jax.Array


def grid(min_lr: float, max_lr: float, num_steps: int, mode: str) -> np.ndarray:
    """The learning rates, float64, with both ends exact."""
    if mode == "exp":
        ratio = np.arange(num_steps, dtype=np.float64) / (num_steps - 1)
        lrs = min_lr * (max_lr / min_lr) ** ratio
    else:
        lrs = np.linspace(min_lr, max_lr, num_steps, dtype=np.float64)
    lrs[0], lrs[-1] = min_lr, max_lr
    return lrs


def _lr_dtype(params: Any) -> Any:
    """float32, or float64 where x64 is enabled and the params hold float64 leaves."""
    if jax.config.read("jax_enable_x64"):
        for leaf in jax.tree_util.tree_leaves(params):
            if jnp.result_type(leaf) == jnp.float64:
                return jnp.float64
    return jnp.float32


def _batch(batches: Any, batch_fn: Callable[[jax.Array], Any] | None, i: jax.Array) -> Any:
    if batch_fn is not None:
        return batch_fn(i)
    return jax.tree_util.tree_map(lambda x: x[i], batches)


def _describe(tree: Any, dtypes: bool = True) -> str:
    """The structure, shapes and dtypes of a pytree (weak typing ignored), for messages."""
    def spec(x: Any) -> str:
        return f"{jnp.result_type(x).name if dtypes else ''}{list(np.shape(x))}"

    return str(jax.tree_util.tree_map(spec, tree))


def _check_step(train_step: TrainStep, params: Any, opt_state: Any, batch: Any,
                lr: jax.Array) -> tuple[Any, Any, Any]:
    """Traces `train_step` abstractly; what it returns, after checking it (else TypeError).

    The params must come back as they went in. The opt_state may change its dtypes once, at
    the first step (optax's Adam with float32 hyperparameters turns bfloat16 params' first
    moment into float32), but must then keep them.
    """
    out = jax.eval_shape(train_step, params, opt_state, batch, lr)
    if not (isinstance(out, tuple) and len(out) == 3):
        raise TypeError(
            "train_step must return a tuple (params, opt_state, loss), "
            f"got train_step(...) -> {_describe(out)}"
        )
    new_params, new_state, loss = out
    if _describe(params) != _describe(new_params):
        raise TypeError(
            "train_step must return params with the structure, shapes and dtypes it was "
            f"given, got {_describe(new_params)} for {_describe(params)}"
        )
    again = new_state
    if _describe(opt_state) != _describe(new_state):
        again = jax.eval_shape(train_step, params, new_state, batch, lr)[1]
    if (_describe(opt_state, False) != _describe(new_state, False)
            or _describe(again) != _describe(new_state)):
        raise TypeError(
            "train_step must return opt_state with the structure and shapes it was given, "
            "and with dtypes that stay the same from its second step on, got "
            f"{_describe(new_state)} for {_describe(opt_state)}, then {_describe(again)}"
        )
    if not hasattr(loss, "shape") or loss.shape != () or not (
        jnp.issubdtype(loss.dtype, jnp.floating) or jnp.issubdtype(loss.dtype, jnp.integer)
    ):
        raise TypeError(
            "train_step must return a real scalar loss, got a loss of "
            f"{_describe(loss)}; reduce it to a scalar (e.g. with .mean())"
        )
    return new_params, new_state, loss


def _start(train_step, batch_fn, params, opt_state, batches, lrs, num_steps, smoothing,
           threshold):
    """Checks what `train_step` returns (at trace time) and sets up the sweep on the device."""
    batch = _batch(batches, batch_fn, jnp.zeros((), jnp.int32))
    new_params, new_state, loss = _check_step(train_step, params, opt_state, batch, lrs[0])
    # The state takes the dtypes train_step returns (dropping weak types), so the two branches
    # of the `lax.cond` in `_chunk` agree.
    params, opt_state = jax.tree_util.tree_map(
        lambda x, o: jnp.asarray(x).astype(o.dtype), (params, opt_state), (new_params, new_state)
    )
    dtype = jnp.float64 if loss.dtype == jnp.float64 else jnp.float32  # smoothing precision
    state = _State(params, opt_state, jnp.zeros((), dtype), jnp.full((), jnp.inf, dtype),
                   jnp.ones((), jnp.bool_))
    return _Sweep(state, jnp.zeros((), jnp.int32), lrs, jnp.asarray(num_steps, jnp.int32),
                  jnp.asarray(smoothing).astype(dtype), jnp.asarray(threshold).astype(dtype))


def _chunk(train_step, batch_fn, sweep, batches, length):
    """Runs the next `length` steps; steps past `num_steps` or after divergence are skipped."""
    steps = sweep.start + jnp.arange(length, dtype=jnp.int32)
    lrs = lax.dynamic_slice_in_dim(sweep.lrs, sweep.start, length)
    beta = sweep.smoothing
    dtype = beta.dtype
    factor = sweep.threshold - 1
    zero = jnp.zeros((), dtype)

    if batch_fn is None:
        # The chunk's batches are gathered before the loop: a loop reading the whole `batches`
        # would make XLA copy all of it into the loop at every chunk.
        rows = jnp.minimum(steps, sweep.num_steps - 1)  # padding steps (skipped) reuse the last
        batches = jax.tree_util.tree_map(lambda x: x[rows], batches)

    def take(s: _State, i: jax.Array, lr: jax.Array, batch: Any) -> tuple[_State, tuple]:
        if batch_fn is not None:
            batch = batch_fn(i)
        params, opt_state, loss = train_step(s.params, s.opt_state, batch, lr)
        loss = jnp.asarray(loss).astype(dtype)
        average = beta * s.average + (1 - beta) * loss
        smoothed = average / (1 - beta ** (i + 1).astype(dtype))
        best = jnp.where(smoothed < s.best, smoothed, s.best)
        # fastai's test is `smoothed > threshold * best`; for best > 0 this is the same, and it
        # stays meaningful for negative losses (see `lr_find`).
        diverged = ~jnp.isfinite(smoothed) | (smoothed - best > factor * jnp.abs(best))
        return _State(params, opt_state, average, best, ~diverged), (loss, smoothed, s.active)

    def skip(s: _State, i: jax.Array, lr: jax.Array, batch: Any) -> tuple[_State, tuple]:
        return s, (zero, zero, jnp.zeros((), jnp.bool_))

    def body(s: _State, x: tuple) -> tuple[_State, tuple]:
        return lax.cond(s.active & (x[0] < sweep.num_steps), take, skip, s, *x)

    xs = (steps, lrs, None if batch_fn is not None else batches)
    state, outputs = lax.scan(body, sweep.state, xs)
    return sweep._replace(state=state, start=sweep.start + length), outputs


# The compiled (start, chunk) pair of each live (train_step, batch_fn), keyed by weak references
# to them: an entry, with its executables and the constants they captured, goes when either
# function does. A jit with the functions as static arguments would keep them all forever.
_COMPILED: dict[tuple, tuple[Callable, Callable]] = {}


def _forget(dead: weakref.ref) -> None:
    for key in tuple(_COMPILED.copy()):
        if any(ref is dead for ref in key):
            _COMPILED.pop(key, None)


def _no_batch_fn() -> None:
    return None


def _weak(fn: Callable | None) -> Callable[[], Any] | None:
    """A weak reference to `fn` (a bound method's: to its object), or None if it takes none."""
    if fn is None:
        return _no_batch_fn
    try:
        return (weakref.WeakMethod if inspect.ismethod(fn) else weakref.ref)(fn, _forget)
    except TypeError:  # e.g. a builtin, or an object with __slots__ and no __weakref__
        return None


def _compiled(train_step: TrainStep, batch_fn: Callable | None) -> tuple[Callable, Callable]:
    """The jitted `_start` and `_chunk` for these functions, compiled once while they live."""
    step_ref, batch_ref = _weak(train_step), _weak(batch_fn)
    if step_ref is None or batch_ref is None:  # not weakly referable: compiled for this call
        step_ref, batch_ref = (lambda: train_step), (lambda: batch_fn)
    key = (step_ref, batch_ref)
    try:
        return _COMPILED[key]
    except (KeyError, TypeError):  # new, or unhashable
        pass

    def start(*args: Any) -> _Sweep:
        return _start(step_ref(), batch_ref(), *args)

    def chunk(sweep: _Sweep, batches: Any, length: int) -> tuple[_Sweep, tuple]:
        return _chunk(step_ref(), batch_ref(), sweep, batches, length)

    compiled = jax.jit(start), jax.jit(chunk, static_argnames="length")
    if isinstance(step_ref, weakref.ref):
        try:
            _COMPILED[key] = compiled
        except TypeError:  # an unhashable callable
            pass
    return compiled


def sweep(train_step: TrainStep, batch_fn: Callable | None, params: Any, opt_state: Any,
           batches: Any, grid: np.ndarray, settings: Settings,
           report: Callable[[int, int], None] | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Runs the chunks until the grid is done or the loss diverged.

    Returns:
        The losses and smoothed losses of the steps taken, and whether the sweep was still
        active (had not diverged) at its end.
    """
    start, chunk = _compiled(train_step, batch_fn)
    num_steps = settings.num_steps
    length = -(-num_steps // settings.num_chunks)
    chunks = -(-num_steps // length)
    padded = np.full(chunks * length, grid[-1], dtype=_lr_dtype(params))
    padded[:num_steps] = grid
    sweep = start(params, opt_state, batches, padded, num_steps, settings.smoothing,
                  settings.threshold)
    # Each chunk is dispatched before the previous one is read back, so the host does not wait
    # between chunks; a chunk sent after a divergence skips all its steps.
    outputs, active = [], True
    for k in range(chunks + 1):
        previous = sweep.state.active
        if k < chunks:
            sweep, out = chunk(sweep, batches, length=length)
            outputs.append(out)
        if k > 0:
            active = bool(previous)
            if report is not None:
                report(min(k * length, num_steps), num_steps)
            if not active:
                break
    outputs = jax.device_get(outputs)  # one batched copy to the host
    losses, smoothed, taken = (np.concatenate([o[j] for o in outputs]) for j in range(3))
    computed = int(np.sum(taken))  # the steps taken form a prefix
    return losses[:computed], smoothed[:computed], active
