"""Loss laws: the training loss as a function of the whole learning-rate schedule (API.md §7).

`LossCurve` holds one logged training run, `LossLaw` a fitted law (see `fit_loss_law` in
`_laws_fit`) and predicts the loss curve of any schedule. Two forms:

* ``"multi_power"`` (Luo et al., ICLR 2025, arXiv:2503.12811), 7 parameters:

  .. math:: L(t) = L_0 + A\\,S_1(t)^{-\\alpha}
            + B \\sum_{k=1}^{t} (\\eta_k - \\eta_{k-1})
              \\bigl(1 - (1 + C\\,\\eta_k^{-\\gamma} S_k(t))^{-\\beta}\\bigr),
     \\quad S_k(t) = \\sum_{\\tau=k}^{t} \\eta_\\tau,\\; S_1(t) = \\sum_{\\tau=0}^{t} \\eta_\\tau;

* ``"momentum"`` (Tissue et al. 2024, arXiv:2408.11029), 4 parameters:

  .. math:: L(t) = L_0 + A\\,S_1(t)^{-\\alpha} - C\\,S_2(t), \\quad
            S_2(t) = \\sum_{i=1}^{t} m_i,\\; m_i = \\lambda m_{i-1} + (\\eta_{i-1} - \\eta_i),
            \\; \\lambda = 0.999.

Both are evaluated in float64 from the rate at every step from 0 (warmup included). The
multi-power sum is taken over the steps where the rate changes only (a constant stretch adds
nothing), at the requested steps only, from cumulative sums: every term of the sum, exactly, in
O(len(steps) x number of changes) instead of O(T^2).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ._registry import _CONSTRUCTORS
from ._schedule import Schedule, _is_tracer

__all__ = ["FORMS", "LossCurve", "LossLaw", "MOMENTUM_DECAY", "loss_law"]

# Each form's parameters, in the order of its papers.
FORMS: dict[str, tuple[str, ...]] = {
    "multi_power": ("L0", "A", "alpha", "B", "C", "beta", "gamma"),
    "momentum": ("L0", "A", "alpha", "C"),
}
# lambda of the momentum form (Tissue et al. 2024 use 0.999; fixed, not fitted).
MOMENTUM_DECAY = 0.999
# Terms of the multi-power sum evaluated at once (steps x changes), bounding memory.
_BLOCK = 1 << 20


def check_form(form: Any) -> str:
    if not isinstance(form, str) or form not in FORMS:
        raise ValueError(f"form must be one of {sorted(FORMS)}, got form={form!r}")
    return form


# -- schedules as rates ---------------------------------------------------------------------------


def schedule_values(schedule: Any, n: int) -> Any:
    """A schedule's or callable's values at steps 0..n-1; an array as it is (see `rates_of`).

    Called outside `jax.enable_x64`, in the caller's configuration, at int32 steps: as optax
    calls a schedule in training, so these are the rates a run uses (and the same values as
    ``schedule(jnp.arange(n))`` gives the caller).
    """
    steps = jnp.arange(n, dtype=jnp.int32)
    if isinstance(schedule, Schedule):
        return schedule(steps)
    if callable(schedule):
        with jax.numpy_dtype_promotion("standard"):  # optax's schedules mix int and float
            return jax.vmap(schedule)(steps)
    return schedule


def rates_of(values: Any, n: int) -> jax.Array:
    """`schedule_values`'s result as n float64 rates (call under `jax.enable_x64`)."""
    values = jnp.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"schedule must be a schedule, a callable or a 1-D array of rates, "
                         f"got an array of shape {values.shape}")
    if values.shape[0] < n:
        raise ValueError(f"steps reach step {n - 1}, beyond the schedule's "
                         f"{values.shape[0]} rates (steps 0..{values.shape[0] - 1})")
    return jnp.asarray(values[:n], jnp.float64)


def check_rates(rates: jax.Array) -> None:
    """A concrete schedule must be finite and non-negative (a traced one is not checked)."""
    if _is_tracer(rates):
        return
    values = np.asarray(rates)
    bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0)))
    if bad.size:
        raise ValueError(f"the schedule must be finite and >= 0 at every step, got "
                         f"{float(values[bad[0]])!r} at step {bad[0]}")


def check_steps(steps: Any, *, name: str = "steps") -> np.ndarray:
    """Steps as a concrete 1-D int64 array of non-negative integers."""
    if _is_tracer(steps):
        raise ValueError(f"{name} must be concrete (they set how many rates the law sums), got a "
                         f"traced array; close over them instead of passing them to jit")
    array = np.asarray(steps)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu" or array.ndim > 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of integer steps, got "
                         f"{name}={steps!r}")
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0, got {array[array < 0][0]}")
    return array.astype(np.int64).reshape(-1)


# -- the two forms --------------------------------------------------------------------------------


class Changes(NamedTuple):
    """The steps k >= 1 where the rate changes, and what the multi-power sum needs of each."""

    k: jax.Array  # the step k
    diff: jax.Array  # eta_k - eta_{k-1} (0 for padding)
    eta: jax.Array  # eta_k
    before: jax.Array  # S_1(k - 1) = sum_{tau < k} eta_tau


def changes(rates: jax.Array) -> tuple[Changes, np.ndarray]:
    """The changes of the rate, and their steps as a NumPy array (for `groups`).

    For concrete rates only the changes are kept (padded with zero changes to a power of two, so
    that schedules of similar shape share a compiled kernel); traced rates keep every step.
    """
    if rates.shape[0] < 2:  # step 0 alone: no change; a repeated rate gives one of size 0
        rates = jnp.concatenate([rates, rates])
    cumulative = jnp.cumsum(rates)
    k = np.arange(1, rates.shape[0])
    diff = rates[1:] - rates[:-1]
    if not _is_tracer(rates):
        nonzero = np.flatnonzero(np.asarray(diff) != 0)
        size = 1 << int(math.ceil(math.log2(max(nonzero.size, 1))))
        last = nonzero[-1] if nonzero.size else 0
        keep = np.concatenate([nonzero, np.full(size - nonzero.size, last)])
        k = k[keep]
        diff = jnp.where(jnp.asarray(np.arange(size) < nonzero.size), diff[keep], 0.0)
    return Changes(jnp.asarray(k), diff, rates[k], cumulative[k - 1]), k


def groups(k: np.ndarray, steps: np.ndarray, count: int = 8) -> tuple[tuple[int, int, int], ...]:
    """Splits the rows of the sorted `steps` into `count` groups, each with the number of changes
    (a prefix of `k`, rounded up to a multiple of 256) that its largest step needs: the terms
    with k > t, half of a dense sum, are not computed. Static: ``(first row, end row, width)``.
    """
    n = steps.shape[0]
    bounds = np.unique(np.linspace(0, n, min(count, n) + 1).round().astype(int))
    out = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        width = int(np.searchsorted(k, steps[end - 1], side="right"))
        out.append((int(start), int(end), min(k.shape[0], max(1, -(-width // 256) * 256))))
    return tuple(out)


def multi_power_ld(C: jax.Array, beta: jax.Array, gamma: jax.Array, changes: Changes,
                   cumulative_at: jax.Array, groups: tuple[tuple[int, int, int], ...],
                   derivatives: bool = False) -> jax.Array:
    """LD(t) of the multi-power law at each step t of sorted steps, less its zero-rate terms.

    ``cumulative_at`` is S_1(t) at the steps, so S_k(t) = S_1(t) - S_1(k - 1), which is >= 0
    for k <= t (a cumulative sum of rates >= 0 never decreases) and is clamped at 0 beyond: a
    term with k > t is then zero, as is a padding term (no change). Terms with eta_k = 0 are
    left out here (see `zero_rate_terms`). ``(1 + x) ** -beta`` is ``exp(-beta * log1p(x))``,
    three times faster than a float64 power on CPU.

    With `derivatives`, returns ``[n, 4]``: LD and its derivatives with respect to log C,
    log beta and log gamma, summed in the same pass (for the fit's Jacobian).
    """
    positive = changes.eta > 0
    log_eta = jnp.log(jnp.where(positive, changes.eta, 1.0))
    scale = jnp.where(positive, C * jnp.exp(-gamma * log_eta), 0.0)

    def part(width: int) -> Callable[[jax.Array], jax.Array]:
        diff, c, before = changes.diff[:width], scale[:width], changes.before[:width]
        dgamma = diff * (-gamma * log_eta[:width])

        def block(s_t: jax.Array) -> jax.Array:
            x = c[None, :] * jnp.maximum(s_t[:, None] - before[None, :], 0.0)
            log1p = jnp.log1p(x)
            kept = jnp.exp(-beta * log1p)
            value = jnp.sum(diff[None, :] * (1.0 - kept), axis=1)
            if not derivatives:
                return value
            slope = beta * kept * x / (1.0 + x)  # -d(kept)/d(log x)
            return jnp.stack([value, slope @ diff, beta * (kept * log1p) @ diff,
                              slope @ dgamma], axis=1)

        return block

    out = []
    for start, end, width in groups:
        n = end - start
        rows = max(1, min(n, _BLOCK // width))
        if rows == n:
            out.append(part(width)(cumulative_at[start:end]))
            continue
        s_t = jnp.pad(cumulative_at[start:end], (0, -n % rows)).reshape(-1, rows)
        mapped = jax.lax.map(part(width), s_t)
        out.append(mapped.reshape((-1,) + mapped.shape[2:])[:n])
    return jnp.concatenate(out)


def zero_rate_terms(rates: jax.Array, cumulative: jax.Array, steps: jax.Array) -> jax.Array:
    """The terms of LD(t) with eta_k = 0 (a decay to 0), in O(T): their limit.

    With eta_k = 0 the term is (eta_k - eta_{k-1}) times 1 if S_k(t) > 0, else 0. As eta_k adds
    nothing, S_k(t) = S_1(t) - S_1(k), positive exactly for the k before the first index m(t)
    where S_1 reaches S_1(t); so the sum is a cumulative sum of those changes read at m(t) - 1.
    """
    drops = jnp.where(rates[1:] == 0, rates[1:] - rates[:-1], 0.0)
    total = jnp.concatenate([jnp.zeros(1, rates.dtype), jnp.cumsum(drops)])  # over k <= index
    first = jnp.searchsorted(cumulative, cumulative[steps], side="left")
    return total[jnp.maximum(first - 1, 0)]


def _safe_power(base: jax.Array, exponent: jax.Array) -> jax.Array:
    """base ** -exponent for base > 0; inf (with a zero gradient) where base is 0."""
    ok = base > 0
    return jnp.where(ok, jnp.where(ok, base, 1.0) ** -exponent, jnp.inf)


def momentum_s2(rates: jax.Array) -> jax.Array:
    """S_2(t) = sum_{i=1..t} m_i, m_i = lambda m_{i-1} + (eta_{i-1} - eta_i), for every t."""
    drops = jnp.concatenate([jnp.zeros(1, rates.dtype), rates[:-1] - rates[1:]])
    decay = jnp.full_like(rates, MOMENTUM_DECAY)

    def compose(first, second):
        return first[0] * second[0], second[0] * first[1] + second[1]

    _, m = jax.lax.associative_scan(compose, (decay, drops))
    return jnp.cumsum(m)


@functools.partial(jax.jit, static_argnames="groups")
def _predict_multi_power(p: dict[str, jax.Array], rates: jax.Array, changes: Changes,
                         steps: jax.Array, groups: tuple[tuple[int, int, int], ...]) -> jax.Array:
    cumulative = jnp.cumsum(rates)
    s1 = cumulative[steps]
    ld = (multi_power_ld(p["C"], p["beta"], p["gamma"], changes, s1, groups)
          + zero_rate_terms(rates, cumulative, steps))
    return p["L0"] + p["A"] * _safe_power(s1, p["alpha"]) + p["B"] * ld


@jax.jit
def _predict_momentum(p: dict[str, jax.Array], rates: jax.Array, steps: jax.Array) -> jax.Array:
    s1 = jnp.cumsum(rates)[steps]
    return p["L0"] + p["A"] * _safe_power(s1, p["alpha"]) - p["C"] * momentum_s2(rates)[steps]


# -- float64 inside, the caller's precision outside ----------------------------------------------


def in_float64(fn: Callable[[Any], jax.Array], tree: Any) -> jax.Array:
    """``fn(tree)`` computed under `jax.enable_x64`, every leaf of `tree` in float64, returned
    in the caller's default float type; differentiable with respect to the float JAX arrays of
    `tree` (traced or not), whose backward pass also runs in float64 (a `jax.custom_vjp`: the
    transpose of a float64 computation would otherwise run, and be truncated, outside x64).
    Other leaves (Python and NumPy numbers) are constants, taken in float64 exactly.
    """
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    dynamic = [i for i, x in enumerate(leaves)
               if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating)]
    caller = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32

    def run(*xs: jax.Array) -> jax.Array:
        full = list(leaves)
        for i, x in zip(dynamic, xs):
            full[i] = x
        with jax.enable_x64(True):
            wide = [jnp.asarray(x, jnp.float64) for x in full]
            return fn(jax.tree_util.tree_unflatten(treedef, wide))

    @jax.custom_vjp
    def call(*xs: jax.Array) -> jax.Array:
        return run(*xs).astype(caller)

    def forward(*xs: jax.Array) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        return run(*xs).astype(caller), xs

    def backward(xs: tuple[jax.Array, ...], g: jax.Array) -> tuple[jax.Array, ...]:
        with jax.enable_x64(True):
            _, vjp = jax.vjp(run, *xs)
            grads = vjp(jnp.asarray(g, jnp.float64))
            return tuple(d.astype(x.dtype) for d, x in zip(grads, xs))

    call.defvjp(forward, backward)
    return call(*(leaves[i] for i in dynamic))


# -- curves and laws ------------------------------------------------------------------------------


class LossCurve:
    """One training run: its schedule and the losses logged at some of its steps.

    Args:
      schedule: the run's learning rate at every step from 0: a jaxsched schedule, any
        ``step -> rate`` callable (an optax schedule), or a 1-D array of rates (at least
        ``steps[-1] + 1`` of them).
      steps: the logged steps: integers >= 0, strictly increasing.
      loss: the losses logged at `steps`: finite and > 0.
      name: a label for error messages and plots (optional).

    Raises:
      ValueError: one line naming the curve and its problem (a non-finite or non-positive loss,
        steps out of order or beyond the schedule, a negative or NaN rate, a first logged step
        with no rate > 0 up to it: a warmup's step 0, where the laws are infinite).

    Attributes:
      rates: the schedule's rate at steps 0..steps[-1], float64 NumPy.
    """

    def __init__(self, schedule: Any, steps: ArrayLike, loss: ArrayLike, name: str | None = None):
        self.schedule, self.name = schedule, name
        where = f"LossCurve {name!r}" if name is not None else "LossCurve"
        try:
            self.steps = check_steps(steps)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        self.loss = np.asarray(loss, dtype=np.float64).reshape(-1)
        if self.loss.shape != self.steps.shape:
            raise ValueError(f"{where}: {self.steps.size} steps but {self.loss.size} losses")
        order = np.flatnonzero(np.diff(self.steps) <= 0)
        if order.size:
            i = order[0]
            raise ValueError(f"{where}: steps must be strictly increasing, got steps[{i}] = "
                             f"{self.steps[i]} then steps[{i + 1}] = {self.steps[i + 1]}")
        bad = np.flatnonzero(~(np.isfinite(self.loss) & (self.loss > 0)))
        if bad.size:
            raise ValueError(f"{where}: losses must be finite and > 0, got loss[{bad[0]}] = "
                             f"{float(self.loss[bad[0]])!r} at step {self.steps[bad[0]]}")
        try:
            values = schedule_values(schedule, int(self.steps[-1]) + 1)
            with jax.enable_x64(True):
                rates = rates_of(values, int(self.steps[-1]) + 1)
                check_rates(rates)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        self.rates = np.asarray(rates)
        if not np.any(self.rates[:self.steps[0] + 1] > 0):  # S1(t) = 0: S1^-alpha is infinite
            live = np.flatnonzero(self.rates > 0)
            fix = (f"log from step {live[0]} on, the first with a rate > 0" if live.size
                   else "every rate of the schedule is 0")
            raise ValueError(f"{where}: no rate > 0 up to the first logged step "
                             f"{self.steps[0]}, where the laws' S1(t)^-alpha is infinite: {fix}")

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name is not None else ""
        return (f"LossCurve({label}{self.steps.size} points, steps {self.steps[0]}.."
                f"{self.steps[-1]}, loss {self.loss[0]:.4g}..{self.loss[-1]:.4g})")


class LossLaw:
    """A loss law: its `form` and `params` by name; `predict` the loss curve of any schedule.

    With :math:`\\eta_t` the rate at step t (from step 0, warmup included),
    :math:`S_1(t) = \\sum_{\\tau=0}^{t} \\eta_\\tau` and
    :math:`S_k(t) = \\sum_{\\tau=k}^{t} \\eta_\\tau`, the two forms are

    * ``"multi_power"`` (Luo et al., "A Multi-Power Law for Loss Curve Prediction Across
      Learning Rate Schedules", ICLR 2025, arXiv:2503.12811), 7 parameters:

      .. math:: L(t) = L_0 + A\\,S_1(t)^{-\\alpha} + B \\sum_{k=1}^{t}
                (\\eta_k - \\eta_{k-1})\\bigl(1 - (1 + C\\,\\eta_k^{-\\gamma}
                S_k(t))^{-\\beta}\\bigr)

      (a decrease of the rate makes its term negative: the loss drop; a rate of exactly 0
      takes the term's limit);
    * ``"momentum"`` (Tissue et al., "Scaling Law with Learning Rate Annealing", 2024,
      arXiv:2408.11029), 4 parameters, with :math:`\\lambda = 0.999`:

      .. math:: L(t) = L_0 + A\\,S_1(t)^{-\\alpha} - C \\sum_{i=1}^{t} m_i, \\quad
                m_i = \\lambda\\,m_{i-1} + (\\eta_{i-1} - \\eta_i),\\; m_0 = 0.

    A pytree whose leaves are the parameters (so `jax.jit` takes it as an argument), a plain
    value (equal, hashed and pickled by form and parameter values) and a config
    (``js.to_config(law)`` / ``js.from_config``). Build it with `fit_loss_law`, or from known
    parameters: ``LossLaw("momentum", {"L0": 3.07, "A": 0.49, "alpha": 0.57, "C": 0.4})``.

    Args:
      form: ``"multi_power"`` or ``"momentum"``.
      params: the form's parameters by name: multi_power ``L0, A, alpha, B, C, beta, gamma``,
        momentum ``L0, A, alpha, C``.
    """

    def __init__(self, form: str, params: Mapping[str, Any]):
        form = check_form(form)
        names = FORMS[form]
        if not isinstance(params, Mapping) or set(params) != set(names):
            raise ValueError(f"params of the {form} law must be {list(names)}, got "
                             f"{list(params) if isinstance(params, Mapping) else params!r}")
        for name in names:
            v = params[name]
            if not _is_tracer(v) and not np.all(np.isfinite(np.asarray(v, np.float64))):
                raise ValueError(f"params[{name!r}] must be finite, got {v!r}")
        self.form = form
        self.params = {name: _plain(params[name]) for name in names}

    # -- prediction --

    def predict(self, schedule: Any, steps: ArrayLike) -> jax.Array:
        """The predicted training loss of `schedule` at `steps`.

        Args:
          schedule: a jaxsched schedule (its hyperparameters may be traced: ``jax.vmap`` over a
            cooldown's start or a `stack` of schedules, ``jax.grad`` with respect to a peak), an
            optax schedule or any ``step -> rate`` callable, or a 1-D array of the rate at every
            step from 0.
          steps: an integer step or a 1-D array of them, concrete (they set how many rates are
            summed; close over them under `jax.jit`).

        Returns:
          The losses, of the shape of `steps` (a scalar for one step): computed in float64,
          returned in the caller's float type (float32 unless x64 is enabled).

        Example:
          >>> import jaxsched as js
          >>> law = js.LossLaw("momentum", {"L0": 3.07, "A": 0.49, "alpha": 0.57, "C": 0.4})
          >>> constant = js.warmup(js.constant(3e-4), 500)
          >>> wsd = js.cooldown(constant, start=8000, steps=2000)
          >>> [f"{float(law.predict(s, 9999)):.4f}" for s in (constant, wsd)]
          ['3.4558', '3.4046']
        """
        shape = () if np.ndim(steps) == 0 and not _is_tracer(steps) else (-1,)
        t = check_steps(np.reshape(steps, -1) if shape == () else steps)
        n = int(t.max()) + 1
        values = schedule_values(schedule, n)
        if isinstance(values, jax.Array) and not jnp.issubdtype(values.dtype, jnp.floating):
            values = values.astype(jnp.float32)
        with jax.enable_x64(True):
            check_rates(rates_of(values, n))

        def compute(tree: tuple[dict[str, jax.Array], jax.Array]) -> jax.Array:
            p, values = tree
            rates = rates_of(values, n)
            if self.form == "momentum":
                return _predict_momentum(p, rates, jnp.asarray(t))
            order = np.argsort(t, kind="stable")
            found, k = changes(rates)
            sorted_ = _predict_multi_power(p, rates, found, jnp.asarray(t[order]),
                                           groups(k, t[order]))
            return sorted_[np.argsort(order)]

        return in_float64(compute, (self.params, values)).reshape(shape)

    # -- a plain value --

    def _key(self) -> tuple[Any, ...] | None:
        if any(_is_tracer(v) for v in self.params.values()):
            return None
        return (self.form, tuple(np.asarray(v, np.float64).tobytes()
                                 for v in self.params.values()))

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, LossLaw):
            return NotImplemented
        key = self._key()
        return self is other or (key is not None and key == other._key())

    def __hash__(self) -> int:
        key = self._key()
        return object.__hash__(self) if key is None else hash(key)

    def __repr__(self) -> str:
        shown = ", ".join(f"{n!r}: {_show(v)}" for n, v in self.params.items())
        return f"LossLaw({self.form!r}, {{{shown}}})"

    def to_config(self) -> dict[str, Any]:
        """``{"kind": "loss_law", "form": ..., <parameter>: <value>, ...}``; see `loss_law`."""
        if self._key() is None:
            raise ValueError("a LossLaw with traced parameters cannot be written to a config")
        config: dict[str, Any] = {"kind": "loss_law", "form": self.form}
        config.update({n: float(np.asarray(v)) for n, v in self.params.items()})
        return config


def _plain(v: Any) -> Any:
    if isinstance(v, (np.generic, np.ndarray)) and np.ndim(v) == 0:
        return float(v)
    return v


def _show(v: Any) -> str:
    if _is_tracer(v):
        return repr(v)
    return repr(float(np.asarray(v))) if np.ndim(v) == 0 else repr(np.asarray(v).tolist())


def _flatten(law: LossLaw) -> tuple[tuple[Any, ...], tuple[str, tuple[str, ...]]]:
    names = tuple(law.params)
    return tuple(law.params[n] for n in names), (law.form, names)


def _unflatten(aux: tuple[str, tuple[str, ...]], children: Any) -> LossLaw:
    law = object.__new__(LossLaw)
    law.form = aux[0]
    law.params = dict(zip(aux[1], children))
    return law


jax.tree_util.register_pytree_node(LossLaw, _flatten, _unflatten)


def loss_law(form: str, L0: float, A: float, alpha: float, C: float, B: float | None = None,
             beta: float | None = None, gamma: float | None = None) -> LossLaw:
    """Builds a `LossLaw` from its parameters (what `from_config` calls for ``"loss_law"``).

    Args:
      form: ``"multi_power"`` (which takes every argument) or ``"momentum"`` (which takes
        ``L0, A, alpha, C`` only).
      L0, A, alpha, C, B, beta, gamma: the parameters (see `LossLaw`).

    Returns:
      The law.
    """
    given = {"L0": L0, "A": A, "alpha": alpha, "C": C, "B": B, "beta": beta, "gamma": gamma}
    names = FORMS[check_form(form)]
    extra = [n for n, v in given.items() if v is not None and n not in names]
    if extra:
        raise ValueError(f"the {form} law has no parameter {extra[0]}; its parameters: "
                         f"{list(names)}")
    return LossLaw(form, {n: v for n, v in given.items() if v is not None})


# `from_config` builds a law from ``{"kind": "loss_law", ...}`` (`to_config` calls its method).
_CONSTRUCTORS["loss_law"] = loss_law  # type: ignore[assignment]
