"""`fit_loss_law`: fit a loss law to logged training runs (API.md §7).

Both methods minimise, in float64, the summed Huber loss (quadratic within ``huber_delta``,
linear beyond) of the log residuals ``log(loss) - log(prediction)`` over every logged point of
every curve.

``method="adamw"`` (the multi-power law's default) is the procedure of the law's paper (Luo et
al. 2025, its code's ``initialize_params`` and ``mpl_adam_fit``), compiled:

1. the simplified law ``L0 + A S1(t)^-alpha - B (eta_max - eta_t)`` fitted from a grid of 135
   starts with every parameter >= 0 (its code's L-BFGS-B with those bounds; here
   Levenberg-Marquardt, vmapped, each trial point clipped to the bounds), then
   ``C, beta, gamma = 1, 0.5, 0.5``;
2. AdamW (torch's defaults: betas 0.9 / 0.999, eps 1e-8, weight decay 0.01) with learning rate
   5e-2 for L0, A, B, C and 5e-3 for alpha, beta, gamma, for at most 200 steps, stopping once
   the objective has not improved for 20 steps or the gradient's norm is below 1e-5, and
   keeping the parameters with the lowest objective. (The paper's code keeps the parameters
   one step after them; with that, this procedure gives its published parameters to four
   digits, `benchmarks/bench_laws.py --errors`.)

It stops short of the minimum: on the paper's benchmark its fit predicts the held-out curves
better than the minimum does (docs/laws.md).

``method="levenberg_marquardt"`` (the momentum law's default) goes to the minimum: Gauss-Newton
steps on the Huber-reweighted residuals, damped until the objective decreases, from several
starts:

1. a grid of the nonlinear parameters (alpha; and C, beta, gamma for the multi-power law), each
   completed by the weighted least-squares fit of the parameters that enter linearly (L0, A, B
   or C), on every fourth logged point: the best `starts` points of the grid;
2. Levenberg-Marquardt from each of them, on every fourth point (vmapped: one compiled loop);
3. Levenberg-Marquardt from the best of them, on every point.

The schedules are fixed during a fit, so everything that depends on them alone (the rates'
changes and cumulative sums at the logged steps) is computed once.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _laws
from ._laws import FORMS, LossCurve, LossLaw

__all__ = ["fit_loss_law"]

# The grid of starting points of the nonlinear parameters (in the papers' ranges).
_GRID = {
    "alpha": (0.3, 0.6),
    "C": (0.5, 2.0, 8.0),
    "beta": (0.3, 0.8),
    "gamma": (0.4, 0.8),
}


class _Problem(NamedTuple):
    """Everything a fit needs of the logged points of all curves, fixed by their schedules.

    The multi-power sum of each point is cut into rows of `_WIDTH` terms: row r holds terms of
    point ``row_point[r]``, and ``gap`` = S_k(t) (0 for padding), ``change`` = eta_k - eta_{k-1}
    and ``log_eta`` = log eta_k of each of its terms: one kernel for every curve and point,
    and only the terms with k <= t. Points and rows are padded (to multiples of `_PAD`) so
    that fits of similar sizes share their compiled programs.
    """

    log_loss: jax.Array
    s1: jax.Array  # S_1(t) at each point
    extra: jax.Array  # multi_power: LD's zero-rate terms; momentum: S_2(t)
    weight: jax.Array  # 1 for a logged point, 0 for padding
    gap: jax.Array | None  # [rows, _WIDTH], multi_power only
    change: jax.Array | None
    log_eta: jax.Array | None
    row_point: jax.Array | None


_WIDTH = 1024
_PAD = 64


# -- input ----------------------------------------------------------------------------------------


def _as_curves(curves: Any, form: str) -> list[LossCurve]:
    if isinstance(curves, LossCurve) or not isinstance(curves, Sequence) or not curves:
        raise ValueError(f"curves must be a non-empty list of LossCurve (or of (schedule, steps, "
                         f"loss) tuples), got curves={curves!r}")
    out = []
    for i, curve in enumerate(curves):
        if not isinstance(curve, LossCurve):
            if not isinstance(curve, (tuple, list)) or len(curve) != 3:
                raise ValueError(f"curves[{i}] must be a LossCurve or a (schedule, steps, loss) "
                                 f"tuple, got {type(curve).__name__}")
            try:
                curve = LossCurve(*curve)
            except ValueError as e:
                raise ValueError(f"curves[{i}]: {str(e).removeprefix('LossCurve: ')}") from None
        n, p = curve.steps.size, len(FORMS[form])
        if n < p:
            label = f" ({curve.name})" if curve.name is not None else ""
            raise ValueError(f"curves[{i}]{label}: {n} logged points, fewer than the {p} "
                             f"parameters of the {form} law")
        out.append(curve)
    return out


def _thin(curves: list[LossCurve], form: str, max_terms: int | None) -> list[LossCurve]:
    """`curves`, or, when their multi-power sums exceed `max_terms` terms, every k-th logged
    point of each (counted back from its last, which is kept), for the smallest k within the
    budget, with a warning. A point at step t has a term for every change of the rate up to t."""
    if form != "multi_power" or max_terms is None:
        return curves
    changes = [np.flatnonzero(np.diff(c.rates)) + 1 for c in curves]

    def terms(k: int) -> int:
        return sum(int(np.searchsorted(ch, c.steps[::-1][::k], side="right").sum())
                   for ch, c in zip(changes, curves))

    total, k = terms(1), 1
    if total <= max_terms:
        return curves
    while terms(k) > max_terms and any(c.steps.size > k for c in curves):
        k += 1
    warnings.warn(f"fit_loss_law: the multi_power sums over {sum(c.steps.size for c in curves)} "
                  f"logged points have {total:,} terms, more than max_terms={max_terms:,}: "
                  f"fitting on 1 logged point in {k} of each curve (max_terms=None fits them all)",
                  RuntimeWarning, stacklevel=3)
    return [LossCurve(c.rates, c.steps[::-1][::k][::-1], c.loss[::-1][::k][::-1], c.name)
            for c in curves]


def _problem(curves: list[LossCurve], form: str, every: int) -> _Problem:
    """The fit's fixed quantities at every `every`-th logged point of each curve, in NumPy
    float64 (no compilation; the same quantities `_laws` computes in JAX for `predict`)."""
    log_loss, s1, extra = [], [], []
    rows: list[tuple[np.ndarray, ...]] = []
    for curve in curves:
        steps, rates = curve.steps[::every], curve.rates
        cumulative = np.cumsum(rates)
        log_loss.append(np.log(curve.loss[::every]))
        s1.append(cumulative[steps])
        if form == "momentum":
            extra.append(_momentum_s2(rates)[steps])
            continue
        drops = np.concatenate([[0.0], np.cumsum(np.where(rates[1:] == 0, np.diff(rates), 0))])
        first = np.searchsorted(cumulative, cumulative[steps], side="left")
        extra.append(drops[np.maximum(first - 1, 0)])  # the zero-rate terms (`_laws`)
        k = np.flatnonzero(np.diff(rates) * (rates[1:] > 0)) + 1  # changes, to eta_k > 0
        for t in steps:
            live = k[k <= t]
            rows.append((cumulative[t] - cumulative[live - 1], rates[live] - rates[live - 1],
                         np.log(rates[live])))
    n = sum(x.size for x in s1)
    size = -(-n // _PAD) * _PAD
    loss_, s1_, extra_, weight = (
        jnp.asarray(np.concatenate(x + [np.full(size - n, fill)]))
        for x, fill in ((log_loss, 0.0), (s1, 1.0), (extra, 0.0), ([np.ones(n)], 0.0)))
    if form == "momentum":
        return _Problem(loss_, s1_, extra_, weight, None, None, None, None)
    gap, change, log_eta, row_point = _pack(rows, size)
    return _Problem(loss_, s1_, extra_, weight, gap, change, log_eta, row_point)


def _pack(rows: Sequence[tuple[np.ndarray, ...]], points: int
          ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Each point's terms cut into rows of `_WIDTH` (zero-padded), and each row's point; rows
    of padding (all zero) belong to the last of `points`."""
    counts = [max(1, -(-r[0].size // _WIDTH)) for r in rows]
    total = -(-sum(counts) // _PAD) * _PAD
    packed = [np.zeros((total, _WIDTH)) for _ in range(3)]
    row_point = np.full(total, points - 1)
    row_point[:sum(counts)] = np.repeat(np.arange(len(rows)), counts)
    start = 0
    for terms, count in zip(rows, counts):
        n = terms[0].size
        for array, values in zip(packed, terms):
            flat = array[start:start + count].reshape(-1)
            flat[:n] = values
            array[start:start + count] = flat.reshape(count, _WIDTH)
        start += count
    gap, change, log_eta = (jnp.asarray(a) for a in packed)
    return gap, change, log_eta, jnp.asarray(row_point)


def _momentum_s2(rates: np.ndarray) -> np.ndarray:
    """S_2(t) at every step (see `_laws.momentum_s2`), by the recursion, in blocks of steps."""
    drops = np.concatenate([[0.0], rates[:-1] - rates[1:]])
    m = np.empty_like(rates)
    carry, block = 0.0, 256
    powers = _laws.MOMENTUM_DECAY ** np.arange(1, block + 1)
    for i in range(0, rates.size, block):
        d = drops[i:i + block]
        n = d.size
        # m_{i+j} = lambda^(j+1) m_{i-1} + sum_{l<=j} lambda^(j-l) d_l, exact within a block
        weights = np.tril(_laws.MOMENTUM_DECAY ** np.subtract.outer(np.arange(n), np.arange(n)))
        m[i:i + n] = powers[:n] * carry + weights @ d
        carry = m[i + n - 1]
    return np.cumsum(m)


# -- the models: predictions and their Jacobians --------------------------------------------------


def _multi_power_ld(C: jax.Array, beta: jax.Array, gamma: jax.Array, p: _Problem,
                    jacobian: bool) -> jax.Array:
    """LD at every point ([points]; with `jacobian`, [points, 4]: LD and its derivatives with
    respect to log C, log beta, log gamma), from the packed terms (see `_laws.multi_power_ld`
    for the formula, and the same derivatives)."""
    assert p.gap is not None and p.change is not None and p.log_eta is not None
    assert p.row_point is not None
    x = C * jnp.exp(-gamma * p.log_eta) * p.gap
    log1p = jnp.log1p(x)
    kept = jnp.exp(-beta * log1p)
    parts = [jnp.sum(p.change * (1.0 - kept), axis=1)]
    if jacobian:
        slope = beta * kept * x / (1.0 + x) * p.change
        parts += [jnp.sum(slope, axis=1), beta * jnp.sum(p.change * kept * log1p, axis=1),
                  -gamma * jnp.sum(slope * p.log_eta, axis=1)]
    rows = jnp.stack(parts, axis=1)
    total = jax.ops.segment_sum(rows, p.row_point, num_segments=p.s1.shape[0],
                                indices_are_sorted=True)
    return total if jacobian else total[:, 0]


def _model(theta: jax.Array, p: _Problem, form: str, jacobian: bool = True
           ) -> tuple[jax.Array, jax.Array]:
    """Predictions at every point and their Jacobian with respect to `theta` (without
    `jacobian`: only the columns of the parameters that enter linearly are right).

    theta: multi_power ``[L0, A, log alpha, B, log C, log beta, log gamma]``, momentum
    ``[L0, A, log alpha, C]`` (the parameters that must be positive, by their logarithm).
    """
    alpha = jnp.exp(theta[2])
    power = p.s1 ** -alpha
    common = [jnp.ones_like(p.s1), power, -theta[1] * power * jnp.log(p.s1) * alpha]
    if form == "momentum":
        pred = theta[0] + theta[1] * power - theta[3] * p.extra
        return pred, jnp.stack(common + [-p.extra], axis=1)
    C, beta, gamma = jnp.exp(theta[4:])
    ld = _multi_power_ld(C, beta, gamma, p, jacobian)
    value = (ld[:, 0] if jacobian else ld) + p.extra
    pred = theta[0] + theta[1] * power + theta[3] * value
    columns = jnp.stack(common + [value], axis=1)
    if not jacobian:
        return pred, columns
    return pred, jnp.concatenate([columns, theta[3] * ld[:, 1:]], axis=1)


def _residuals(theta: jax.Array, p: _Problem, form: str, jacobian: bool = True
               ) -> tuple[jax.Array, jax.Array]:
    """log(loss) - log(prediction) and its Jacobian (a non-positive prediction: +inf)."""
    pred, jac = _model(theta, p, form, jacobian)
    ok = pred > 0
    r = jnp.where(ok, p.log_loss - jnp.log(jnp.where(ok, pred, 1.0)), jnp.inf)
    live = p.weight > 0
    return jnp.where(live, r, 0.0), -jac * (p.weight / jnp.where(ok, pred, 1.0))[:, None]


def _huber(r: jax.Array, delta: float) -> jax.Array:
    a = jnp.abs(r)
    return jnp.sum(jnp.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta)))


# -- starting points ------------------------------------------------------------------------------


def _grid(form: str) -> np.ndarray:
    """The nonlinear parameters of every grid point, by their logarithm."""
    names = ("alpha",) if form == "momentum" else ("alpha", "C", "beta", "gamma")
    return np.log(np.array(list(itertools.product(*(_GRID[n] for n in names)))))


def _complete(nonlinear: jax.Array, p: _Problem, form: str) -> jax.Array:
    """theta from its nonlinear part, the linear parameters by relative least squares."""
    if form == "momentum":
        theta = jnp.array([0.0, 0.0, nonlinear[0], 0.0])
        linear = (0, 1, 3)
    else:
        theta = jnp.concatenate([jnp.array([0.0, 0.0, nonlinear[0], 0.0]), nonlinear[1:]])
        linear = (0, 1, 3)
    _, jac = _model(theta, p, form, jacobian=False)
    loss = jnp.exp(p.log_loss)
    features = jac[:, jnp.array(linear)] * (p.weight / loss)[:, None]
    gram = features.T @ features
    solution = jnp.linalg.solve(gram + 1e-12 * jnp.trace(gram) * jnp.eye(3),
                                features.T @ p.weight)
    return theta.at[jnp.array(linear)].set(solution)


# -- Levenberg-Marquardt --------------------------------------------------------------------------


class _State(NamedTuple):
    theta: jax.Array
    r: jax.Array
    jac: jax.Array
    f: jax.Array
    mu: jax.Array
    iteration: jax.Array
    converged: jax.Array


def _levenberg_marquardt(residuals: Callable[[jax.Array], tuple[jax.Array, jax.Array]],
                         theta: jax.Array, delta: float, max_iter: int, tol: float,
                         lower: float | None = None) -> _State:
    """Minimises the summed Huber loss of `residuals` from `theta` (see the module docstring);
    with `lower`, every trial point is clipped to at least `lower` (a bound on every parameter)."""

    def cond(s: _State) -> jax.Array:
        return ~s.converged & (s.iteration < max_iter)

    def body(s: _State) -> _State:
        weight = jnp.minimum(1.0, delta / jnp.maximum(jnp.abs(s.r), 1e-300))
        grad = s.jac.T @ jnp.clip(s.r, -delta, delta)
        hess = s.jac.T @ (weight[:, None] * s.jac)
        diag = jnp.diag(hess)
        damped = hess + jnp.diag(s.mu * diag + 1e-12 * jnp.max(diag))
        theta = s.theta - jnp.linalg.solve(damped, grad)
        theta = theta if lower is None else jnp.maximum(theta, lower)
        step = theta - s.theta
        r, jac = residuals(theta)
        f = _huber(r, delta)
        better = jnp.isfinite(f) & (f < s.f)
        small = (s.f - f <= tol * s.f) | (jnp.max(jnp.abs(step)) <= 1e-9)
        converged = (better & small) | (s.mu > 1e12) | (jnp.max(jnp.abs(grad)) <= 1e-14)

        def pick(new: jax.Array, old: jax.Array) -> jax.Array:
            return jnp.where(better, new, old)

        return _State(pick(theta, s.theta), pick(r, s.r), pick(jac, s.jac), pick(f, s.f),
                      jnp.where(better, s.mu / 3.0, s.mu * 4.0), s.iteration + 1, converged)

    r, jac = residuals(theta)
    start = _State(theta, r, jac, _huber(r, delta), jnp.asarray(1e-3), jnp.asarray(0),
                   jnp.asarray(False))
    return jax.lax.while_loop(cond, body, start)


@functools.partial(jax.jit, static_argnames=("form", "starts", "max_iter"))
def _search(p: _Problem, form: str, delta: float, starts: int, max_iter: int) -> jax.Array:
    """Stages 1 and 2 of the fit (module docstring): the best theta found on a subsample."""
    candidates = jax.vmap(lambda n: _complete(n, p, form))(jnp.asarray(_grid(form)))
    scores = jax.vmap(lambda t: _huber(_residuals(t, p, form, False)[0], delta))(candidates)
    best = candidates[jnp.argsort(jnp.where(jnp.isfinite(scores), scores, jnp.inf))[:starts]]
    fitted = jax.vmap(lambda t: _levenberg_marquardt(
        lambda x: _residuals(x, p, form), t, delta, min(max_iter, 30), 1e-6))(best)
    return fitted.theta[jnp.argmin(jnp.where(jnp.isfinite(fitted.f), fitted.f, jnp.inf))]


@functools.partial(jax.jit, static_argnames=("form", "max_iter"))
def _refine(theta: jax.Array, p: _Problem, form: str, delta: float, max_iter: int) -> _State:
    return _levenberg_marquardt(lambda x: _residuals(x, p, form), theta, delta, max_iter, 1e-10)


# -- the multi-power paper's procedure: a simplified law's fit, then AdamW ------------------------

# AdamW's learning rates for [L0, A, alpha, B, C, beta, gamma] (the paper's), its weight decay
# (torch's default), and the stopping rule: no better objective for _PATIENCE steps, or a
# gradient norm below _GRAD_TOL.
_ADAMW_LR = (5e-2, 5e-2, 5e-3, 5e-2, 5e-2, 5e-3, 5e-3)
_WEIGHT_DECAY = 0.01
_PATIENCE = 20
_GRAD_TOL = 1e-5
_EXPONENTS = np.array([2, 4, 5, 6])  # alpha, C, beta, gamma: positive, by their logarithm in theta
_FLOOR = 1e-12  # where AdamW holds them (the paper's never get near 0; a log needs them > 0)


def _simplified_grid(s1: np.ndarray, loss: np.ndarray, peak: float) -> np.ndarray:
    """The paper's 135 starts [L0, A, alpha, B] of the simplified law: L0 around the lowest
    loss, A and alpha around a line fitted to log(loss - min + 0.01) against log S1, and B from
    100 to 1,000 (for a peak of 3e-4; scaled by 3e-4 / peak, so B (eta_max - eta) is alike)."""
    low = loss.min()
    slope, intercept = np.polyfit(np.log(s1), np.log(loss - low + 0.01), 1)
    axes = (np.linspace(low - 0.2, low + 0.2, 5), np.exp(intercept) + np.array([-0.1, 0.0, 0.1]),
            -slope + np.array([-0.1, 0.0, 0.1]), np.linspace(100.0, 1000.0, 3) * 3e-4 / peak)
    return np.maximum(np.array(list(itertools.product(*axes))), 0.0)  # bounds >= 0, as L-BFGS-B


@jax.jit
def _simplified_fit(grid: jax.Array, s1: jax.Array, drop: jax.Array, log_loss: jax.Array,
                    delta: float) -> jax.Array:
    """The best fit of L0 + A S1^-alpha - B drop, its parameters bounded below by 0, from
    every start in `grid` (the start of the paper's fit)."""

    def residuals(q: jax.Array) -> tuple[jax.Array, jax.Array]:
        power = s1 ** -q[2]
        pred = q[0] + q[1] * power - q[3] * drop
        ok = pred > 0
        safe = jnp.where(ok, pred, 1.0)
        jac = jnp.stack([jnp.ones_like(s1), power, -q[1] * power * jnp.log(s1), -drop], axis=1)
        return jnp.where(ok, log_loss - jnp.log(safe), jnp.inf), -jac / safe[:, None]

    fitted = jax.vmap(lambda q: _levenberg_marquardt(residuals, q, delta, 200, 1e-12, 0.0))(grid)
    return fitted.theta[jnp.argmin(jnp.where(jnp.isfinite(fitted.f), fitted.f, jnp.inf))]


def _paper_start(curves: list[LossCurve], delta: float) -> jax.Array:
    """[L0, A, alpha, B, C, beta, gamma] where the paper's AdamW starts."""
    peak = max(float(np.max(c.rates)) for c in curves)
    s1, drop, loss = (np.concatenate(x) for x in zip(*(
        (np.cumsum(c.rates)[c.steps], peak - c.rates[c.steps], c.loss) for c in curves)))
    grid = _simplified_grid(s1, loss, peak)
    q = _simplified_fit(*(jnp.asarray(x) for x in (grid, s1, drop, np.log(loss))), delta)
    return jnp.concatenate([q, jnp.array([1.0, 0.5, 0.5])])


class _AdamState(NamedTuple):
    x: jax.Array  # the parameters themselves (not their logarithms)
    m: jax.Array
    v: jax.Array
    step: jax.Array
    best_f: jax.Array
    best_x: jax.Array
    waited: jax.Array  # steps since the objective last improved
    stopped: jax.Array


@functools.partial(jax.jit, static_argnames=("max_steps",))
def _adamw(x: jax.Array, p: _Problem, delta: float, max_steps: int) -> _AdamState:
    """The paper's AdamW on the multi-power law from `x` (module docstring)."""
    lr = jnp.asarray(_ADAMW_LR)

    def objective(x: jax.Array) -> tuple[jax.Array, jax.Array]:
        r, jac = _residuals(x.at[_EXPONENTS].set(jnp.log(x[_EXPONENTS])), p, "multi_power")
        grad = jac.T @ jnp.clip(r, -delta, delta)  # d/dtheta; theta holds log alpha, ...
        return _huber(r, delta), grad.at[_EXPONENTS].divide(x[_EXPONENTS])

    def body(s: _AdamState) -> _AdamState:
        f, g = objective(s.x)
        improved = f < s.best_f
        waited = jnp.where(improved, 0, s.waited + 1)
        stopped = ((s.step > _PATIENCE) & (waited >= _PATIENCE)) | (jnp.linalg.norm(g) < _GRAD_TOL)
        step = s.step + 1
        m = 0.9 * s.m + 0.1 * g
        v = 0.999 * s.v + 0.001 * g * g
        update = (m / (1 - 0.9**step)) / (jnp.sqrt(v / (1 - 0.999**step)) + 1e-8)
        x = s.x * (1 - lr * _WEIGHT_DECAY) - lr * update
        return _AdamState(x.at[_EXPONENTS].max(_FLOOR), m, v, step,
                          jnp.where(improved, f, s.best_f), jnp.where(improved, s.x, s.best_x),
                          waited, stopped)

    x = x.at[_EXPONENTS].max(_FLOOR)
    zero = jnp.zeros_like(x)
    start = _AdamState(x, zero, zero, jnp.asarray(0), jnp.asarray(jnp.inf), x, jnp.asarray(0),
                       jnp.asarray(False))
    return jax.lax.while_loop(lambda s: ~s.stopped & (s.step < max_steps), body, start)


# -- fit_loss_law ---------------------------------------------------------------------------------

_METHODS = ("adamw", "levenberg_marquardt")


def _fit(data: list[LossCurve], form: str, method: str, delta: float, starts: int,
         max_iter: int) -> tuple[np.ndarray, float, bool]:
    """The fitted parameters (in the form's order), the final objective and whether the fit
    converged (for AdamW: stopped by its rule before `max_iter` steps)."""
    with jax.enable_x64(True):
        if method == "adamw":
            adam = _adamw(_paper_start(data, delta), _problem(data, form, 1), delta, max_iter)
            return np.asarray(adam.best_x), float(adam.best_f), bool(adam.stopped)
        theta = _search(_problem(data, form, 4), form, delta, starts, max_iter)
        state = _refine(theta, _problem(data, form, 1), form, delta, max_iter)
        values = np.array(state.theta)
    exponents = [2] if form == "momentum" else _EXPONENTS
    values[exponents] = np.exp(values[exponents])
    return values, float(state.f), bool(state.converged)


def fit_loss_law(curves: Sequence[LossCurve | tuple[Any, Any, Any]], form: str = "multi_power",
                 *, huber_delta: float = 1e-3, method: str | None = None, starts: int = 3,
                 max_iter: int | None = None, max_terms: int | None = 30_000_000) -> LossLaw:
    """Fits a loss law to logged training runs.

    Minimises, in float64, the summed Huber loss (``huber_delta``) of ``log(loss) -
    log(prediction)`` over every logged point of every curve, by the procedure of the form's
    paper: for the multi-power law, AdamW from a simplified law's fit, stopped by the paper's
    rule short of the minimum (``method="adamw"``; its fit predicts the paper's held-out curves
    better than the minimum does); for the momentum law, to the minimum
    (``method="levenberg_marquardt"``, from the best `starts` points of a grid). The papers fit
    on three runs: a constant, a cosine and a two-stage schedule.

    Args:
      curves: the runs: `LossCurve` objects, or ``(schedule, steps, loss)`` tuples.
      form: ``"multi_power"`` (Luo et al., ICLR 2025; 7 parameters) or ``"momentum"`` (Tissue
        et al. 2024; 4 parameters).
      huber_delta: where the Huber loss turns from quadratic to linear (the papers' 1e-3).
      method: ``"adamw"`` (the multi-power paper's procedure; that form only) or
        ``"levenberg_marquardt"`` (to the minimum); by default the form's paper's.
      starts: how many of the grid's best points Levenberg-Marquardt refines.
      max_iter: the most Levenberg-Marquardt iterations of each stage (default 100), or AdamW
        steps (default 200, the paper's).
      max_terms: a budget for the multi-power law's sums: a point at step t has a term for every
        change of the rate up to t, and a fit evaluates (and stores) them all at every
        iteration, in time and memory proportional to their number (the paper's three runs:
        2.8 million; 30 million took 40-55 s and 2-7 GB on 2 cores). Beyond it, every k-th logged
        point of each curve is fitted (the smallest k within it; a warning says so). None: no
        budget.

    Returns:
      The fitted `LossLaw`.

    Raises:
      ValueError: one line naming the curve (``curves[i]``) and its problem: a non-finite or
        non-positive loss, steps out of order or beyond the schedule, a negative or NaN rate,
        fewer logged points than the law has parameters; or an unknown `form` or `method`; or
        a fit that found no finite parameters.

    Warns:
      RuntimeWarning: when the fit does not converge within `max_iter` iterations, with the
        final objective (the parameters returned are then the best found, not a minimum); when
        `max_terms` thins the points.
    """
    form = _laws.check_form(form)
    method = _check_method(method, form)
    if max_terms is not None and (isinstance(max_terms, bool) or not isinstance(max_terms, int)
                                  or max_terms < 1):
        raise ValueError(f"max_terms must be an int >= 1 or None, got max_terms={max_terms!r}")
    data = _thin(_as_curves(curves, form), form, max_terms)
    if not (isinstance(huber_delta, (int, float)) and huber_delta > 0):
        raise ValueError(f"huber_delta must be a number > 0, got huber_delta={huber_delta!r}")
    if max_iter is None:
        max_iter = 200 if method == "adamw" else 100
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ValueError(f"max_iter must be an int >= 1, got max_iter={max_iter!r}")
    values, f, converged = _fit(data, form, method, float(huber_delta), starts, max_iter)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"fit_loss_law: the {form} fit ({method}) found no finite parameters "
                         f"(objective {f:.6g}); the curves may not follow the law")
    if not converged or not np.isfinite(f):
        warnings.warn(f"fit_loss_law: the {form} fit did not converge in {max_iter} iterations; "
                      f"final objective {f:.6g} (summed Huber loss of the log residuals)",
                      RuntimeWarning, stacklevel=2)
    return LossLaw(form, dict(zip(FORMS[form], (float(v) for v in values))))


def _check_method(method: Any, form: str) -> str:
    if method is None:
        return "adamw" if form == "multi_power" else "levenberg_marquardt"
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got method={method!r}")
    if method == "adamw" and form != "multi_power":
        raise ValueError(f"method='adamw' is the multi-power paper's procedure; fit the {form} "
                         f"law with method='levenberg_marquardt'")
    return method
