"""`fit_loss_law`: fit a loss law to logged training runs (API.md §7).

The fit minimises, in float64, the summed Huber loss (quadratic within ``huber_delta``, linear
beyond) of the log residuals ``log(loss) - log(prediction)`` over every logged point of every
curve, by Levenberg-Marquardt (Gauss-Newton steps on the Huber-reweighted residuals, damped
until the objective decreases), from several starts:

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
from ._laws import FORMS, Changes, LossCurve, LossLaw

__all__ = ["fit_loss_law"]

# The grid of starting points of the nonlinear parameters (in the papers' ranges).
_GRID = {
    "alpha": (0.25, 0.5, 0.8),
    "C": (0.5, 2.0, 8.0),
    "beta": (0.3, 0.6, 1.2),
    "gamma": (0.3, 0.6),
}


class _Curve(NamedTuple):
    """What a fit needs of one curve's logged points (all of it fixed by the schedule)."""

    log_loss: jax.Array
    s1: jax.Array  # S_1(t) at the logged steps
    extra: jax.Array  # multi_power: LD's zero-rate terms; momentum: S_2(t)
    changes: Changes | None  # multi_power only


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
            schedule, steps, loss = curve
            curve = LossCurve(schedule, steps, loss, name=f"curves[{i}]")
        n, p = curve.steps.size, len(FORMS[form])
        if n < p:
            label = f" ({curve.name})" if curve.name not in (None, f"curves[{i}]") else ""
            raise ValueError(f"curves[{i}]{label}: {n} logged points, fewer than the {p} "
                             f"parameters of the {form} law")
        out.append(curve)
    return out


def _prepare(curve: LossCurve, form: str, every: int) -> tuple[_Curve, Any]:
    """One curve's fixed quantities at every `every`-th logged point, and its static groups."""
    steps = curve.steps[::every]
    rates = jnp.asarray(curve.rates)
    cumulative = jnp.cumsum(rates)
    t = jnp.asarray(steps)
    log_loss = jnp.log(jnp.asarray(curve.loss[::every]))
    if form == "momentum":
        return _Curve(log_loss, cumulative[t], _laws.momentum_s2(rates)[t], None), None
    found, k = _laws.changes(rates)
    zero = _laws.zero_rate_terms(rates, cumulative, t)
    return _Curve(log_loss, cumulative[t], zero, found), _laws.groups(k, steps, count=4)


# -- the models: predictions and their Jacobians --------------------------------------------------


def _model(theta: jax.Array, data: list[_Curve], groups: tuple[Any, ...], form: str
           ) -> tuple[jax.Array, jax.Array]:
    """Predictions at every point and their Jacobian with respect to `theta`.

    theta: multi_power ``[L0, A, log alpha, B, log C, log beta, log gamma]``, momentum
    ``[L0, A, log alpha, C]`` (the parameters that must be positive, by their logarithm).
    """
    s1 = jnp.concatenate([d.s1 for d in data])
    extra = jnp.concatenate([d.extra for d in data])
    alpha = jnp.exp(theta[2])
    power = s1 ** -alpha
    common = [jnp.ones_like(s1), power, -theta[1] * power * jnp.log(s1) * alpha]
    if form == "momentum":
        pred = theta[0] + theta[1] * power - theta[3] * extra
        return pred, jnp.stack(common + [-extra], axis=1)

    def ld(nonlinear: jax.Array) -> tuple[jax.Array, jax.Array]:
        C, beta, gamma = jnp.exp(nonlinear)
        value = jnp.concatenate([_laws.multi_power_ld(C, beta, gamma, _changes(d), d.s1, g)
                                 for d, g in zip(data, groups)]) + extra
        return value, value

    jac, value = jax.jacfwd(ld, has_aux=True)(theta[4:])
    pred = theta[0] + theta[1] * power + theta[3] * value
    return pred, jnp.concatenate([jnp.stack(common + [value], axis=1), theta[3] * jac], axis=1)


def _changes(curve: _Curve) -> Changes:
    assert curve.changes is not None  # a multi_power curve
    return curve.changes


def _residuals(theta: jax.Array, data: list[_Curve], groups: tuple[Any, ...], form: str
               ) -> tuple[jax.Array, jax.Array]:
    """log(loss) - log(prediction) and its Jacobian (a non-positive prediction: +inf)."""
    pred, jac = _model(theta, data, groups, form)
    ok = pred > 0
    log_loss = jnp.concatenate([d.log_loss for d in data])
    r = jnp.where(ok, log_loss - jnp.log(jnp.where(ok, pred, 1.0)), jnp.inf)
    return r, -jac / jnp.where(ok, pred, 1.0)[:, None]


def _huber(r: jax.Array, delta: float) -> jax.Array:
    a = jnp.abs(r)
    return jnp.sum(jnp.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta)))


# -- starting points ------------------------------------------------------------------------------


def _grid(form: str) -> np.ndarray:
    """The nonlinear parameters of every grid point, by their logarithm."""
    names = ("alpha",) if form == "momentum" else ("alpha", "C", "beta", "gamma")
    return np.log(np.array(list(itertools.product(*(_GRID[n] for n in names)))))


def _complete(nonlinear: jax.Array, data: list[_Curve], groups: tuple[Any, ...], form: str
              ) -> jax.Array:
    """theta from its nonlinear part, the linear parameters by relative least squares."""
    if form == "momentum":
        theta = jnp.array([0.0, 0.0, nonlinear[0], 0.0])
        linear = (0, 1, 3)
    else:
        theta = jnp.concatenate([jnp.array([0.0, 0.0, nonlinear[0], 0.0]), nonlinear[1:]])
        linear = (0, 1, 3)
    pred, jac = _model(theta, data, groups, form)
    loss = jnp.exp(jnp.concatenate([d.log_loss for d in data]))
    features = jac[:, jnp.array(linear)] / loss[:, None]
    solution = jnp.linalg.lstsq(features, jnp.ones_like(loss))[0]
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
                         theta: jax.Array, delta: float, max_iter: int) -> _State:
    """Minimises the summed Huber loss of `residuals` from `theta` (see the module docstring)."""

    def cond(s: _State) -> jax.Array:
        return ~s.converged & (s.iteration < max_iter)

    def body(s: _State) -> _State:
        weight = jnp.minimum(1.0, delta / jnp.maximum(jnp.abs(s.r), 1e-300))
        grad = s.jac.T @ jnp.clip(s.r, -delta, delta)
        hess = s.jac.T @ (weight[:, None] * s.jac)
        diag = jnp.diag(hess)
        damped = hess + jnp.diag(s.mu * diag + 1e-12 * jnp.max(diag))
        step = -jnp.linalg.solve(damped, grad)
        theta = s.theta + step
        r, jac = residuals(theta)
        f = _huber(r, delta)
        better = jnp.isfinite(f) & (f < s.f)
        small = (s.f - f <= 1e-10 * s.f) | (jnp.max(jnp.abs(step)) <= 1e-9)
        converged = (better & small) | (s.mu > 1e12) | (jnp.max(jnp.abs(grad)) <= 1e-14)

        def pick(new: jax.Array, old: jax.Array) -> jax.Array:
            return jnp.where(better, new, old)

        return _State(pick(theta, s.theta), pick(r, s.r), pick(jac, s.jac), pick(f, s.f),
                      jnp.where(better, s.mu / 3.0, s.mu * 4.0), s.iteration + 1, converged)

    r, jac = residuals(theta)
    start = _State(theta, r, jac, _huber(r, delta), jnp.asarray(1e-3), jnp.asarray(0),
                   jnp.asarray(False))
    return jax.lax.while_loop(cond, body, start)


@functools.partial(jax.jit, static_argnames=("groups", "form", "starts", "max_iter"))
def _search(data: list[_Curve], groups: tuple[Any, ...], form: str, delta: float, starts: int,
            max_iter: int) -> jax.Array:
    """Stages 1 and 2 of the fit (module docstring): the best theta found on a subsample."""
    candidates = jax.vmap(lambda n: _complete(n, data, groups, form))(jnp.asarray(_grid(form)))
    objective = jax.vmap(lambda t: _huber(_residuals(t, data, groups, form)[0], delta))
    scores = objective(candidates)
    best = candidates[jnp.argsort(jnp.where(jnp.isfinite(scores), scores, jnp.inf))[:starts]]
    fitted = jax.vmap(lambda t: _levenberg_marquardt(
        lambda x: _residuals(x, data, groups, form), t, delta, max_iter))(best)
    return fitted.theta[jnp.argmin(jnp.where(jnp.isfinite(fitted.f), fitted.f, jnp.inf))]


@functools.partial(jax.jit, static_argnames=("groups", "form", "max_iter"))
def _refine(theta: jax.Array, data: list[_Curve], groups: tuple[Any, ...], form: str,
            delta: float, max_iter: int) -> _State:
    return _levenberg_marquardt(lambda x: _residuals(x, data, groups, form), theta, delta,
                                max_iter)


def fit_loss_law(curves: Sequence[LossCurve | tuple[Any, Any, Any]], form: str = "multi_power",
                 *, huber_delta: float = 1e-3, starts: int = 4, max_iter: int = 100) -> LossLaw:
    """Fits a loss law to logged training runs.

    Minimises, in float64, the summed Huber loss (``huber_delta``) of ``log(loss) -
    log(prediction)`` over every logged point of every curve, by Levenberg-Marquardt from the
    best `starts` points of a grid. The two forms are those of their papers (see `form`), which
    fit on three runs: a constant, a cosine and a two-stage schedule.

    Args:
      curves: the runs: `LossCurve` objects, or ``(schedule, steps, loss)`` tuples.
      form: ``"multi_power"`` (Luo et al., ICLR 2025; 7 parameters) or ``"momentum"`` (Tissue
        et al. 2024; 4 parameters).
      huber_delta: where the Huber loss turns from quadratic to linear (the papers' 1e-3).
      starts: how many of the grid's best points are refined.
      max_iter: the most Levenberg-Marquardt iterations of each stage.

    Returns:
      The fitted `LossLaw`.

    Raises:
      ValueError: one line naming the curve (``curves[i]``) and its problem: a non-finite or
        non-positive loss, steps out of order or beyond the schedule, a negative or NaN rate,
        fewer logged points than the law has parameters; or an unknown `form`.

    Warns:
      RuntimeWarning: when the fit does not converge within `max_iter` iterations, with the
        final objective (the parameters returned are then the best found, not a minimum).
    """
    form = _laws.check_form(form)
    data = _as_curves(curves, form)
    if not (isinstance(huber_delta, (int, float)) and huber_delta > 0):
        raise ValueError(f"huber_delta must be a number > 0, got huber_delta={huber_delta!r}")
    with jax.enable_x64(True):
        coarse = [_prepare(c, form, 4) for c in data]
        fine = [_prepare(c, form, 1) for c in data]
        theta = _search([c for c, _ in coarse], tuple(g for _, g in coarse), form,
                        float(huber_delta), starts, max_iter)
        state = _refine(theta, [c for c, _ in fine], tuple(g for _, g in fine), form,
                        float(huber_delta), max_iter)
        theta, f, converged = (np.asarray(state.theta), float(state.f),
                               bool(state.converged))
    if not converged or not np.isfinite(f):
        warnings.warn(f"fit_loss_law: the {form} fit did not converge in {max_iter} iterations; "
                      f"final objective {f:.6g} (summed Huber loss of the log residuals)",
                      RuntimeWarning, stacklevel=2)
    values = theta.copy()
    values[2] = np.exp(theta[2])
    if form == "multi_power":
        values[4:] = np.exp(theta[4:])
    return LossLaw(form, dict(zip(FORMS[form], (float(v) for v in values))))
