"""A schedule and reduce_on_plateau in data-parallel training on 8 (simulated CPU) devices.

One subprocess (XLA_FLAGS must be set before jax is imported, and starting one is the expensive
part) trains ``optax.chain(optax.adam(js.warmup(js.cosine_annealing(...))),
js.reduce_on_plateau(...))`` on a small regression four ways and compares them:

* on one device (the reference);
* under `jax.jit` with the parameters sharded over 8 devices and the batch sharded over them;
* under `jax.shard_map` with replicated parameters, a sharded batch, and the loss averaged
  over the device axis with `lax.pmean` before it is differentiated and reaches ``value=``;
  every step returns each device's own copy of the optimizer state and the learning rate, and
  all 8 copies must be identical;
* and once more under `jax.shard_map` without averaging the loss (``check_vma=False``, which
  would otherwise refuse it), where the copies must drift apart: the copy check can fail.

The plateau decisions (scale, wait, cooldown, window count), the optimizer's step counts and the
learning rates must equal the single-device run's exactly; the parameters, Adam's moments and the
best loss agree to float32 rounding (the sharded sums are added in another order). The scale must
have dropped, so that the decisions compared are not all "no change".
tests/test_plateau.py::test_sharded_over_eight_devices_matches_single_device covers a constant
learning rate under jit.
"""

from __future__ import annotations

import textwrap

from tests.helpers import run_on_eight_cpu_devices

_SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, optax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxsched as js

    jax.config.update("jax_numpy_rank_promotion", "raise")
    assert jax.device_count() == 8, jax.devices()
    STEPS = 60
    schedule = js.warmup(js.cosine_annealing(0.05, steps=STEPS), steps=10)
    opt = optax.chain(optax.adam(schedule),
                      js.reduce_on_plateau(factor=0.5, patience=2, threshold=0.02, cooldown=1,
                                           accumulation_steps=2))
    kx, kw = jax.random.split(jax.random.key(0))
    x = jax.random.normal(kx, (64, 32))
    y = jnp.sin(x @ jax.random.normal(kw, (32, 8)))
    batch = (x, y)

    def loss_fn(w, batch):
        xb, yb = batch
        return jnp.mean((jnp.tanh(xb @ w) - yb) ** 2)

    def lr_of(state):  # the learning rate of the update that takes this state
        return schedule(state[0][1].count)

    def step(w, state, batch):
        lr = lr_of(state)
        loss, g = jax.value_and_grad(loss_fn)(w, batch)
        updates, state = opt.update(g, state, w, value=loss)
        return optax.apply_updates(w, updates), state, loss, lr

    def local_step(w, state, batch):  # one device's part, under shard_map (check_vma=True)
        # The loss averaged over the devices, then differentiated: with replicated params the
        # gradient is then the global one (jax.grad already sums cotangents over the devices,
        # so a pmean of per-device gradients would be 8 times too large).
        lr = lr_of(state)
        loss, g = jax.value_and_grad(lambda w: jax.lax.pmean(loss_fn(w, batch), "d"))(w)
        return finish(w, state, g, loss, lr)

    def drifting_step(w, state, batch):  # check_vma=False: each device passes its own loss
        lr = lr_of(state)
        loss, g = jax.value_and_grad(loss_fn)(w, batch)
        return finish(w, state, jax.lax.pmean(g, "d"), loss, lr)

    def finish(w, state, g, loss, lr):
        updates, state = opt.update(g, state, w, value=loss)
        copies = jax.tree.map(lambda a: a[None], (state, lr))  # this device's own copies
        return optax.apply_updates(w, updates), state, loss, lr, copies

    def decisions(state):
        p = state[1]
        return (float(p.scale), int(p.wait), int(p.cooldown_count), int(p.count),
                int(state[0][0].count), int(state[0][1].count))

    def run(f, w, batch, steps=STEPS, check=None):
        state = opt.init(w)
        trace = []
        for _ in range(steps):
            w, state, loss, lr, *rest = f(w, state, batch)
            if check is not None:
                check(*rest)
            trace.append(decisions(state) + (float(lr),))
        return w, state, trace

    def same_on_every_device(copies):
        for leaf in jax.tree.leaves(copies):
            a = np.asarray(leaf)
            assert a.shape[0] == 8 and (a == a[:1]).all(), a

    mesh = Mesh(np.array(jax.devices()), ("d",))
    spread = lambda spec: NamedSharding(mesh, spec)
    w0 = jnp.zeros((32, 8))
    with jax.numpy_dtype_promotion("standard"):  # optax.adam needs it (see tests/test_plateau.py)
        # (0) one device
        one = jax.devices()[0]
        w1, s1, t1 = run(jax.jit(step), jax.device_put(w0, one), jax.device_put(batch, one))

        # (a) jit, parameters and batch sharded over 8 devices
        w8, s8, t8 = run(jax.jit(step), jax.device_put(w0, spread(P(None, "d"))),
                         jax.device_put(batch, spread(P("d", None))))

        # (b) shard_map, loss averaged with pmean; each device's copies checked at every step
        specs = dict(mesh=mesh, in_specs=(P(), P(), P("d")), out_specs=(P(), P(), P(), P(), P("d")))
        mapped = jax.jit(jax.shard_map(local_step, **specs))
        wm, sm, tm = run(mapped, jax.device_put(w0, spread(P())),
                         jax.device_put(batch, spread(P("d"))), check=same_on_every_device)

        # (c) shard_map with each device's own loss: the copies drift apart
        drifting = jax.jit(jax.shard_map(drifting_step, check_vma=False, **specs))
        drift = []  # how many different best losses the 8 devices hold, step by step

        def count_best_values(copies):
            drift.append(len(set(np.asarray(copies[0][1].best_value).tolist())))

        run(drifting, jax.device_put(w0, spread(P())), jax.device_put(batch, spread(P("d"))),
            steps=12, check=count_best_values)

    # (a) the layout: parameters sharded, the plateau state and the counts replicated, and each
    # device's copy of them identical.
    assert len(w8.sharding.device_set) == 8 and w8.sharding.spec == P(None, "d"), w8.sharding
    for leaf in [*s8[1], s8[0][0].count, s8[0][1].count]:
        assert len(leaf.sharding.device_set) == 8 and leaf.sharding.is_fully_replicated, leaf
        shards = [np.asarray(s.data) for s in leaf.addressable_shards]
        assert len(shards) == 8 and all((s == shards[0]).all() for s in shards), shards
    assert len(wm.sharding.device_set) == 8 and wm.sharding.is_fully_replicated, wm.sharding

    # The decisions, counts and learning rates: exactly the single-device run's.
    assert t8 == t1, (t1, t8)
    assert tm == t1, (t1, tm)
    scales = [t[0] for t in t1]
    assert scales[-1] <= 0.25 and scales[0] == 1.0, scales  # at least two reductions
    lrs = [t[-1] for t in t1]
    assert lrs[0] == 0.0 and max(lrs) == np.float32(0.05) and lrs[-1] < 0.01, lrs
    # Parameters, Adam's moments and the best loss: the same to float32 rounding.
    def close(a, b, rtol):
        a, b = np.asarray(a), np.asarray(b)
        assert np.abs(a - b).max() <= rtol * np.abs(b).max(), (a, b)

    for w, s in [(w8, s8), (wm, sm)]:
        close(w, w1, 1e-4)
        close(s[1].best_value, s1[1].best_value, 1e-6)
        jax.tree.map(lambda a, b: close(a, b, 1e-4), s[0], s1[0])
    assert max(drift) > 1, drift  # without pmean the devices' best losses do differ
    print("OK", scales[-1], float(s1[1].best_value))
    """
)


def test_schedule_and_plateau_on_eight_devices_jit_and_shard_map():
    run_on_eight_cpu_devices(_SCRIPT)
