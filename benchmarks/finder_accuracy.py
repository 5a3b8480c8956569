"""Where lr_find's suggestions land on least squares, in units of 1/L (deterministic, no timing).

    python benchmarks/finder_accuracy.py [--cases]

Gradient descent on least squares diverges above 2/L, L the largest eigenvalue of XᵀX/n, so a
good suggestion lies below 2/L, and one below 1/(100 L) is needlessly small. This script runs the
27 cases that ``tests/test_finder.py::test_least_squares_suggestion_below_the_stability_limit``
checks (conditioning 1, 1e2, 1e4 × scale 0.1, 1, 10 × seeds 0, 1, 2; minibatches of 256 of 1024
rows, 100 steps, min_lr=1e-5, max_lr=1e3, otherwise lr_find's defaults) and prints, for each
suggestion rule, the range and median of lr·L and how many cases fall outside [1/(100 L), 2/L]
(``--cases``: and every case's three suggestions).

The test imports its problem from this file (`least_squares`, `sgd_step`, `CASES`, `sweep`), so
the statistics and the test are about the same sweeps.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np

try:
    import jaxsched as js
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    import jaxsched as js

N, D, BATCH, STEPS = 1024, 8, 256, 100
CONDS = (1.0, 1e2, 1e4)
SCALES = (0.1, 1.0, 10.0)
SEEDS = (0, 1, 2)
CASES = tuple((c, s, seed) for c in CONDS for s in SCALES for seed in SEEDS)
MIN_LR, MAX_LR = 1e-5, 1e3
RULES = ("steep", "valley", "minimum")


def least_squares(cond, scale, seed, num_steps=STEPS):
    """Minibatches of a least-squares problem whose Hessian X^T X / n has condition ~cond.

    Returns the batches (leading axis num_steps) and L, the largest eigenvalue of X^T X / n.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    eigenvalues = np.geomspace(1.0, 1.0 / cond, D) * scale
    x = rng.normal(size=(N, D)) * np.sqrt(eigenvalues) @ q.T
    y = x @ rng.normal(size=D) + 0.1 * rng.normal(size=N)
    lipschitz = float(np.linalg.eigvalsh(x.T @ x / N).max())
    rows = np.stack([rng.permutation(N)[:BATCH] for _ in range(num_steps)])
    return (x[rows].astype(np.float32), y[rows].astype(np.float32)), lipschitz


def ls_loss(w, batch):
    x, y = batch
    return jnp.mean((x @ w - y) ** 2) / 2


def sgd_step(w, state, batch, lr):
    """Plain (minibatch) gradient descent; one function object for every sweep, one compile."""
    loss, grad = jax.value_and_grad(ls_loss)(w, batch)
    return w - lr * grad, state, loss


def sweep(cond, scale, seed):
    """The sweep of one case: (its LRFindResult, L)."""
    batches, lipschitz = least_squares(cond, scale, seed)
    return js.lr_find(sgd_step, jnp.zeros(D), (), batches, min_lr=MIN_LR, max_lr=MAX_LR), lipschitz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", action="store_true", help="also print every case")
    args = parser.parse_args()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sweep without a suggestion would be a finding
        for case in CASES:
            result, lipschitz = sweep(*case)
            assert result.diverged_at is not None and result.lrs[-1] > 2 / lipschitz, case
            rows.append([result.suggestions[r] * lipschitz for r in RULES])
    table = np.asarray(rows)  # lr * L, case x rule
    print(f"jax {jax.__version__}; {len(CASES)} least-squares cases (cond {CONDS} x scale "
          f"{SCALES} x seed {SEEDS}), batch {BATCH} of {N}, {STEPS} steps, lr in "
          f"[{MIN_LR:g}, {MAX_LR:g}]; every sweep diverged past 2/L\n")
    print("| rule | min lr·L | median lr·L | max lr·L | below 1/(100 L) | above 2/L |")
    print("|---|---:|---:|---:|---:|---:|")
    for j, rule in enumerate(RULES):
        col = table[:, j]
        print(f"| {rule} | {col.min():.3g} | {np.median(col):.3g} | {col.max():.3g} "
              f"| {int(np.sum(col < 0.01))} of {len(col)} | {int(np.sum(col > 2))} of {len(col)} |")
    if not args.cases:
        return
    print("\nper case (cond, scale, seed: steep, valley, minimum, as lr·L):")
    for case, row in zip(CASES, table):
        print(f"  {case[0]:g}, {case[1]:g}, {case[2]}: " + ", ".join(f"{v:.3g}" for v in row))


if __name__ == "__main__":
    main()
