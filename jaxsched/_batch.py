"""Batch-size ramps: `batch_ramp`, a plan of the batch size at every step.

A run whose batch grows (Megatron's ``--rampup-batch-size`` and ``--step-batch-size-schedule``,
OLMo-core's ``BatchSizeSchedulerCallback``, MaxText's ramp-up) is described by stages: stage
``j`` has ``sizes[j]`` samples per step and starts once ``boundaries[j - 1]`` samples (or tokens,
or steps) are behind the run. Everything the training loop needs is then a pure function of the
step, computed from a table of the stages worked out once, in Python integers, when the plan is
built: the batch size, the number of fixed-size micro-batches to accumulate, the samples and
tokens seen before the step (exact, in two 32-bit words, beyond 2**31), the step at a given count
of samples or tokens, and the learning-rate coupling as a schedule. A resumed run asks the plan
at its step and finds the same sizes and rates.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, _clocks, _combinators, _decays, _schedule
from ._schedule import Schedule

__all__ = ["BatchRamp", "batch_ramp"]

_CLOCKS = ("samples", "tokens", "steps")
_COUPLINGS = {"none": 0.0, "sqrt": 0.5, "linear": 1.0}


def _int(name: str, value: Any, low: int, high: int = 2**63 - 1) -> int:
    """A Python integer in [low, high]; integral floats are accepted (configs write 1e9)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be an integer, got {name}={value!r}")
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {name}={value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {name}={value!r}")
    return int(value)


def _ints(name: str, values: Any, low: int) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integers, got {name}={values!r}")
    return tuple(_int(f"{name}[{i}]", v, low) for i, v in enumerate(np.asarray(values).tolist()))


@dataclasses.dataclass(frozen=True)
class BatchRamp:
    """A batch-size plan: stage ``j`` runs ``sizes[j]`` samples per step. Build it with
    `batch_ramp` (``BatchRamp(...)`` takes the same arguments and checks them the same way)
    or one of the constructors named after the codebases they port
    (`BatchRamp.megatron_rampup`, `BatchRamp.megatron_schedule`, `BatchRamp.olmo_core`,
    `BatchRamp.maxtext_rampup`).

    A plain value (a frozen dataclass of Python integers and strings): it compares, hashes and
    pickles by value, and `js.to_config` / `js.from_config` round-trip it. Its methods are pure
    functions of the step, jittable and vmappable; the stage table (`stages`) is computed once.
    See `batch_ramp` for the arguments.
    """

    kind = "batch_ramp"
    params = ("sizes", "boundaries", "clock", "tokens_per_sample", "micro_batch", "align",
              "total")

    sizes: tuple[int, ...]
    boundaries: tuple[int, ...]
    clock: str = "samples"
    tokens_per_sample: int = 1
    micro_batch: int = 1
    align: bool = False
    total: int | None = None

    def __post_init__(self) -> None:  # `BatchRamp(...)` checks as `batch_ramp` does
        for name, value in _checked(self).items():
            object.__setattr__(self, name, value)
        if self.stages[-1][0] > _checks.INT32_MAX:
            raise ValueError(f"boundaries={self.boundaries} puts a stage beyond step 2**31 - 1")

    # -- the stage table, in Python integers -----------------------------------------------------

    @functools.cached_property
    def stages(self) -> tuple[tuple[int, int, int], ...]:
        """``(first step, samples seen before it, size)`` of each stage; a stage whose start
        coincides with the next one's is skipped (it never runs)."""
        return _stage_table(self)

    @property
    def max_size(self) -> int:
        """The largest batch, in samples."""
        return self.sizes[-1]

    @property
    def max_micro_batches(self) -> int:
        """The most micro-batches a step accumulates (the last stage's)."""
        return self.sizes[-1] // self.micro_batch

    @property
    def num_steps(self) -> int | None:
        """The steps needed to consume `total` (the last step may overshoot it; Megatron's
        ``update_train_iters`` for a step schedule), or None without a total."""
        if self.total is None:
            return None
        return 0 if self.total == 0 else self._step_at_int(self._to_samples(self.total) - 1) + 1

    def _to_samples(self, n: int) -> int:
        """A count on the plan's clock (samples or tokens) as samples: the first whole sample
        count that reaches it (ceil)."""
        per = self.tokens_per_sample if self.clock == "tokens" else 1
        return -(-n // per)

    def _step_at_int(self, samples: int) -> int:
        step, seen, size = next(st for st in reversed(self.stages) if st[1] <= samples)
        return step + (samples - seen) // size

    def offset(self, step: int, unit: str = "samples") -> int:
        """The samples (or tokens: `unit`) consumed before `step`, as an exact Python integer:
        a host-side data loader's position at `step` (`samples` and `tokens` are the jittable
        forms)."""
        step = _int("step", step, 0)
        unit = _checks.choice("unit", unit, ("samples", "tokens"))
        per = self.tokens_per_sample if unit == "tokens" else 1
        first, seen, size = next(st for st in reversed(self.stages) if st[0] <= step)
        return (seen + (step - first) * size) * per

    # -- pure functions of the step --------------------------------------------------------------

    def _stage(self, step: Any) -> tuple[jax.Array, jax.Array]:
        t = _as_step(step)
        starts = jnp.asarray([s for s, _, _ in self.stages[1:]], t.dtype)
        stage = jnp.searchsorted(starts, t, side="right")  # the stages begun by step t
        return t, stage

    def batch_size(self, step: Any) -> jax.Array:
        """The batch size of `step` (an integer or an integer array; steps < 0 act as 0), int32."""
        _, stage = self._stage(step)
        return jnp.asarray(self.sizes, jnp.int32)[stage]

    def micro_batches(self, step: Any) -> jax.Array:
        """How many micro-batches of `micro_batch` samples `step` accumulates, int32: what
        ``optax.MultiSteps(opt, every_k_schedule=plan.micro_batches)`` takes (it asks at the
        number of updates done)."""
        return self.batch_size(step) // jnp.int32(self.micro_batch)

    def samples(self, step: Any) -> jax.Array:
        """The samples consumed before `step`: exact in two 32-bit words, returned as int64
        with x64, else as float32 (as `js.hyperparams` reports a clock's count; exact to 2**24,
        then within one rounding). `offset` gives the exact count on the host."""
        return self._count(step, 1)

    def tokens(self, step: Any) -> jax.Array:
        """The tokens consumed before `step` (samples × `tokens_per_sample`); as `samples`."""
        return self._count(step, self.tokens_per_sample)

    def _count(self, step: Any, per: int) -> jax.Array:
        t, stage = self._stage(step)
        first = jnp.asarray([s for s, _, _ in self.stages], t.dtype)[stage]
        into = (t - first).astype(jnp.uint32 if t.dtype == jnp.int32 else jnp.uint64)
        seen = [n * per for _, n, _ in self.stages]
        rate = jnp.asarray([b * per for _, _, b in self.stages], into.dtype)[stage]
        if into.dtype == jnp.uint64:  # x64: 64-bit integers do it
            return (jnp.asarray(seen, jnp.uint64)[stage] + into * rate).astype(jnp.int64)
        high, low = _mul_words(into, rate)
        base_high = jnp.asarray([n >> 32 for n in seen], jnp.uint32)[stage]
        base_low = jnp.asarray([n % 2**32 for n in seen], jnp.uint32)[stage]
        high, low = _clocks._add(high, low, jnp.zeros_like(low), base_high, base_low)
        return high.astype(jnp.float32) * jnp.float32(2.0**32) + low.astype(jnp.float32)

    def step_at(self, *, samples: Any = None, tokens: Any = None) -> jax.Array:
        """The steps that fit in a count: the largest ``k`` with ``samples(k) <= samples`` (or
        ``tokens(k) <= tokens``), so ``step_at(tokens=plan.tokens(k)) == k``.

        The count is a Python integer (exact to 2**63), or an integer array (int32/uint32, or
        int64 with x64), traced or not. A concrete count past `total` raises ValueError.
        Returns int32; int64 for a Python integer with x64, or a 64-bit count.
        """
        if (samples is None) == (tokens is None):
            raise TypeError("step_at takes one of samples= or tokens=")
        name, n = ("samples", samples) if tokens is None else ("tokens", tokens)
        per = self.tokens_per_sample if name == "tokens" else 1
        self._check_count(name, n, per)
        if isinstance(n, (int, np.integer)):
            step = self._step_at_int(max(int(n), 0) // per)
            if step > _checks.INT32_MAX and not _clocks._x64():
                raise ValueError(f"{name}={int(n)} is step {step}, beyond int32: enable x64")
            return jnp.asarray(step, jnp.int64 if _clocks._x64() else jnp.int32)
        n = jnp.asarray(n)
        if not jnp.issubdtype(n.dtype, jnp.integer):
            raise TypeError(f"{name} must be an integer, got dtype {n.dtype}")
        wide = n.dtype.itemsize > 4
        u = jnp.uint64 if wide else jnp.uint32
        n = jnp.maximum(n, jnp.zeros((), n.dtype)).astype(u) // u(per)  # whole samples
        seen = [c for _, c, _ in self.stages if wide or c < 2**32]
        stage = jnp.searchsorted(jnp.asarray(seen[1:], u), n, side="right")
        first = jnp.asarray([s for s, _, _ in self.stages[:len(seen)]], u)[stage]
        size = jnp.asarray([b for _, _, b in self.stages[:len(seen)]], u)[stage]
        step = first + (n - jnp.asarray(seen, u)[stage]) // size
        return step.astype(jnp.int64 if wide else jnp.int32)

    def _check_count(self, name: str, n: Any, per: int) -> None:
        if self.total is None or _checks.is_traced(n):
            return
        total_tokens = self.total * (1 if self.clock == "tokens" else self.tokens_per_sample)
        total_samples = self._to_samples(self.total)
        limit = total_tokens if name == "tokens" else total_samples
        if np.any(np.asarray(n, dtype=object) > limit):
            raise ValueError(f"{name} must be at most the plan's total ({limit} {name}), got "
                             f"{name}={np.asarray(n).tolist()}")

    # -- the learning-rate coupling --------------------------------------------------------------

    def lr_scale(self, coupling: str = "sqrt", clock: str = "steps", unit: int = 1) -> Schedule:
        r"""The learning-rate factor the batch size asks for, as a schedule:
        :math:`(b_j / b_0)^p` in stage ``j``, with ``p`` 0, 1/2 or 1 for `coupling` ``"none"``,
        ``"sqrt"`` (Adam; OLMo-core multiplies its base rate by ``sqrt(new / old)`` at each
        change) or ``"linear"`` (SGD, Goyal et al. arXiv:1706.02677).

        Multiply it with any schedule on the same clock: ``schedule * plan.lr_scale("sqrt")`` on
        steps, or, for ``js.scale_by_schedule(s, clock="tokens", unit=u)`` whose `s` is written
        in units of `u` tokens, ``s * plan.lr_scale("sqrt", clock="tokens", unit=u)``: it
        changes at the update where the batch does (ValueError if `unit` is so coarse that no
        multiple of it falls within the last step before a change).

        Args:
          coupling: ``"none"``, ``"sqrt"`` or ``"linear"``.
          clock: the clock of the schedule it multiplies: ``"steps"``, ``"samples"`` or
            ``"tokens"``.
          unit: the clock's unit (samples or tokens per schedule step), as in
            `js.scale_by_schedule`.

        Returns:
          A `js.piecewise_constant` schedule (`js.constant` ``(1.0)`` for ``"none"``).
        """
        power = _COUPLINGS[_checks.choice("coupling", coupling, tuple(_COUPLINGS))]
        clock = _checks.choice("clock", clock, _CLOCKS)
        unit = _int("unit", unit, 1, _checks.INT32_MAX)
        if power == 0.0:
            return _decays.constant(1.0)
        values = [(b / self.sizes[0]) ** power for _, _, b in self.stages]
        if clock == "steps":
            return _combinators.piecewise_constant([s for s, _, _ in self.stages[1:]], values)
        per = self.tokens_per_sample if clock == "tokens" else 1
        boundaries, running = [], self.stages[0][2]
        for (_, before, _), (_, seen, size) in zip(self.stages, self.stages[1:]):
            at = seen * per // unit
            if seen > before and at * unit <= (seen - running) * per:
                raise ValueError(f"unit={unit} is too coarse: the batch changes after {seen * per}"
                                 f" {clock}, and no multiple of the unit lies within the step "
                                 f"before ({running * per} {clock}); take a unit of at most that")
            if at > _checks.INT32_MAX:
                raise ValueError(f"unit={unit} is too fine: a change at {seen * per} {clock} is "
                                 f"beyond 2**31 - 1 units")
            boundaries.append(at)
            running = size
        return _combinators.piecewise_constant(boundaries, values)

    # -- the upstream spellings ------------------------------------------------------------------

    @classmethod
    def megatron_rampup(cls, start: int, increment: int, rampup_samples: int,
                        global_batch_size: int, *, micro_batch: int = 1,
                        seq_length: int = 1) -> BatchRamp:
        r"""Megatron-LM's ``--rampup-batch-size start increment rampup_samples`` with
        ``--global-batch-size``: the batch grows by `increment` from `start` to
        `global_batch_size` over `rampup_samples` samples, ``n = (global - start) / increment``
        equal steps. The batch at ``c`` samples consumed is ``global_batch_size`` once
        ``c > rampup_samples``, else :math:`s + \lfloor c / (R / n) \rfloor \cdot i`, with
        Megatron's float64 division: stage ``j`` starts at the first ``c`` where that reaches
        ``j``, :math:`\lceil j R / n \rceil` samples or one more (where ``R / n`` rounds down,
        e.g. ``R = 646, n = 60``), and at ``R + 1`` at the latest. With ``R = 0`` (where Megatron
        divides by zero) the plan starts at the global batch size.

        `micro_batch` is Megatron's micro-batch size times the data-parallel size (the samples
        one accumulation step takes); every size must be a multiple of it.
        """
        start = _int("start", start, 1)
        increment = _int("increment", increment, 1)
        rampup_samples = _int("rampup_samples", rampup_samples, 0)
        global_batch_size = _int("global_batch_size", global_batch_size, start)
        if (global_batch_size - start) % increment:
            raise ValueError(f"global_batch_size - start must be a multiple of increment, got "
                             f"{global_batch_size=}, {start=}, {increment=}")
        n, ramp = (global_batch_size - start) // increment, rampup_samples

        def first(j: int) -> int:  # the first count at which int(c / (R / n)) >= j, in float64
            c = -(-j * ramp // n)
            while c <= ramp and int(c / (ramp / n)) < j:
                c += 1
            while 0 < c <= ramp + 1 and int((c - 1) / (ramp / n)) >= j:
                c -= 1
            return min(c, ramp + 1)

        return batch_ramp([start + j * increment for j in range(n + 1)],
                          [first(j) if ramp else 0 for j in range(1, n + 1)],
                          micro_batch=micro_batch, tokens_per_sample=seq_length)

    @classmethod
    def maxtext_rampup(cls, start: int, increment: int, rampup_samples: int,
                       global_batch_size: int, *, micro_batch: int = 1,
                       seq_length: int = 1) -> BatchRamp:
        r"""MaxText's ``enable_rampup_batch_size`` (``RampupBatchManager``), in global sizes:
        ``start = num_devices · per_device_batch_size_start``, `increment` likewise,
        `global_batch_size` the final ``num_devices · per_device_batch_size``, `rampup_samples`
        ``global_rampup_samples``. Each of the ``n = (global - start) / increment`` increments
        comes once a stage has consumed ``P = rampup_samples / n`` samples, counted from the
        stage's own start (MaxText resets its count), so stage ``j`` lasts
        :math:`\max(1, \lceil P / b_j \rceil)` steps: a plan on the steps clock.
        """
        start = _int("start", start, 1)
        increment = _int("increment", increment, 1)
        rampup_samples = _int("rampup_samples", rampup_samples, 0)
        global_batch_size = _int("global_batch_size", global_batch_size, start + 1)
        if (global_batch_size - start) % increment:
            raise ValueError(f"global_batch_size - start must be a multiple of increment, got "
                             f"{global_batch_size=}, {start=}, {increment=}")
        n = (global_batch_size - start) // increment
        sizes = [start + j * increment for j in range(n + 1)]
        boundaries, step = [], 0
        for b in sizes[:-1]:
            step += max(1, -(-rampup_samples // (n * b)))
            boundaries.append(step)
        return batch_ramp(sizes, boundaries, clock="steps", micro_batch=micro_batch,
                          tokens_per_sample=seq_length)

    @classmethod
    def megatron_schedule(cls, schedule: str, *, seq_length: int | None = None,
                          micro_batch: int = 1) -> BatchRamp:
        """Megatron-LM's ``--step-batch-size-schedule "0:768 250B:1536"``: ``THRESHOLD:SIZE``
        pairs (suffixes K, M, B, T), thresholds in tokens when `seq_length` is given (converted
        to samples by floor division, as Megatron does), else in samples. The batch at ``c``
        samples consumed is the size of the last threshold ``<= c``.
        """
        if not isinstance(schedule, str):
            raise TypeError(f"schedule must be a string, got schedule={schedule!r}")
        length = 1 if seq_length is None else _int("seq_length", seq_length, 1, _checks.INT32_MAX)
        pairs = []
        for entry in schedule.replace(",", " ").split():
            threshold, sep, size = entry.partition(":")
            if not sep:
                raise ValueError(f"schedule entries are THRESHOLD:SIZE, got {entry!r} in "
                                 f"schedule={schedule!r}")
            pairs.append((_megatron_number(threshold, schedule) // length,
                          _megatron_number(size, schedule)))
        pairs.sort(key=lambda p: p[0])
        if not pairs or pairs[0][0] != 0:
            raise ValueError(f"schedule must start with a threshold of 0, got {schedule=}")
        return batch_ramp([b for _, b in pairs], [t for t, _ in pairs[1:]],
                          micro_batch=micro_batch, tokens_per_sample=length)

    @classmethod
    def olmo_core(cls, batch_sizes: Any, schedule: Any, *, unit: str = "tokens",
                  sequence_length: int, micro_batch: int = 1) -> BatchRamp:
        """OLMo-core's ``BatchSizeSchedulerCallback(batch_sizes, schedule)``: global batch
        sizes in tokens (multiples of `sequence_length`), each an integer multiple of the one
        before, from ``schedule[i]`` (``Duration`` values in `unit` ``"tokens"`` or ``"steps"``,
        the first 0) on. A larger size waits for the first step whose tokens seen are a
        multiple of it (OLMo-core waits until its data loader's batch count divides by the
        growth factor), so no sample is skipped or repeated: ``align=True``.
        """
        unit = _checks.choice("unit", unit, ("tokens", "steps"))
        length = _int("sequence_length", sequence_length, 1, _checks.INT32_MAX)
        batch_sizes, schedule = _ints("batch_sizes", batch_sizes, 1), _ints("schedule", schedule, 0)
        if len(batch_sizes) != len(schedule) or not schedule or schedule[0] != 0:
            raise ValueError(f"schedule must start at 0 and have one entry per batch size, got "
                             f"{schedule=}, {batch_sizes=}")
        for b in batch_sizes:
            if b % length:
                raise ValueError(f"batch_sizes must be multiples of sequence_length={length}, "
                                 f"got {batch_sizes=}")
        return batch_ramp([b // length for b in batch_sizes], schedule[1:], clock=unit,
                          tokens_per_sample=length, micro_batch=micro_batch, align=True)

    def _argument(self, name: str) -> Any:  # as `Schedule._argument`, for `js.to_config`
        return getattr(self, name)

    def to_config(self) -> dict[str, Any]:
        """The plan as a JSON-serialisable dict (`js.to_config` gives the same)."""
        from . import to_config  # the package's, wherever the config code lives

        return to_config(self)  # type: ignore[arg-type]


def _checked(plan: BatchRamp) -> dict[str, Any]:
    """The fields of a plan, checked and as plain Python values (tuples of ints)."""
    sizes = _ints("sizes", plan.sizes, 1)
    boundaries = _ints("boundaries", plan.boundaries, 0)
    tokens_per_sample = _int("tokens_per_sample", plan.tokens_per_sample, 1, _checks.INT32_MAX)
    micro_batch = _int("micro_batch", plan.micro_batch, 1, _checks.INT32_MAX)
    align = _checks.flag("align", plan.align)
    if not sizes or len(boundaries) != len(sizes) - 1:
        raise ValueError(f"boundaries must hold len(sizes) - 1 = {len(sizes) - 1} counts, got "
                         f"{boundaries=}")
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"sizes must increase from stage to stage (a ramp), got {sizes=}")
    if any(b < a for a, b in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be non-decreasing, got {boundaries=}")
    if any(s % micro_batch for s in sizes):
        raise ValueError(f"micro_batch={micro_batch} must divide every size, got {sizes=}")
    if sizes[-1] * tokens_per_sample > _checks.INT32_MAX:
        raise ValueError(f"sizes × tokens_per_sample must be at most 2**31 - 1 tokens per step, "
                         f"got {sizes[-1]} × {tokens_per_sample=}")
    if align and any(b % a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"with align=True each size must be a multiple of the one before, got "
                         f"{sizes=}")
    return {"sizes": sizes, "boundaries": boundaries,
            "clock": _checks.choice("clock", plan.clock, _CLOCKS),
            "tokens_per_sample": tokens_per_sample, "micro_batch": micro_batch, "align": align,
            "total": None if plan.total is None else _int("total", plan.total, 0)}


def _megatron_number(text: str, schedule: str) -> int:
    """Megatron's ``_parse_numeric_value``: ``int(float(digits) * multiplier)``."""
    text = text.strip().upper()
    multiplier = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}.get(text[-1:], 1)
    digits = text[:-1] if multiplier > 1 else text
    try:
        return int(float(digits) * multiplier)
    except ValueError:
        raise ValueError(f"schedule has a bad number {text!r}: {schedule=}") from None


def _as_step(step: Any) -> jax.Array:
    t = jnp.asarray(step)
    if t.dtype == jnp.bool_ or not jnp.issubdtype(t.dtype, jnp.integer):
        raise TypeError(f"a step must be an integer, got dtype {t.dtype}")
    t = t.astype(jnp.int64 if _clocks._x64() else jnp.int32)
    return jnp.maximum(t, jnp.zeros((), t.dtype))


def _mul_words(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The 64-bit product of two uint32 numbers below 2**31, as (high, low) words."""
    mask = jnp.uint32(0xFFFF)
    a1, a0, b1, b0 = a >> 16, a & mask, b >> 16, b & mask
    middle = a1 * b0 + a0 * b1  # each below 2**31: no wrap-around
    high, low = _clocks._add(a1 * b1, a0 * b0, jnp.zeros_like(a), middle >> 16, middle << 16)
    return high, low


def _stage_table(plan: BatchRamp) -> tuple[tuple[int, int, int], ...]:
    """Walks the stages in Python integers: where each starts (step, samples before it)."""
    by_steps = plan.clock == "steps"
    thresholds = [t if by_steps else plan._to_samples(t) for t in plan.boundaries]
    sizes = plan.sizes
    table = [(0, 0, sizes[0])]
    current, step, seen = 0, 0, 0

    def until(j: int) -> int:  # steps from (step, seen) until stage j is due
        gap = thresholds[j - 1] - (step if by_steps else seen)
        return max(0, gap if by_steps else -(-gap // sizes[current]))

    def due(k: int) -> int:  # the latest stage due k steps on
        at = step + k if by_steps else seen + k * sizes[current]
        return max(j for j in range(len(sizes)) if j == 0 or thresholds[j - 1] <= at)

    while current < len(sizes) - 1:
        k = until(current + 1)
        while True:
            target = due(k)
            if plan.align:  # wait for the first step whose samples seen are a multiple
                ratio = sizes[target] // sizes[current]
                k += -(seen // sizes[current] + k) % ratio
            if target == len(sizes) - 1 or due(k) == target:
                break
            k = until(target + 1)
        step, seen = step + k, seen + k * sizes[current]
        table += [(step, seen, sizes[j]) for j in range(current + 1, target + 1)]
        current = target
    return tuple(table)


def batch_ramp(sizes: Any, boundaries: Any = (), *, clock: str = "samples",
               tokens_per_sample: int = 1, micro_batch: int = 1, align: bool = False,
               total: int | None = None) -> BatchRamp:
    r"""A batch-size plan: ``sizes[0]`` samples per step, then ``sizes[j]`` from the first step
    at which ``boundaries[j - 1]`` samples (or tokens, or steps: `clock`) are behind the run.

    With :math:`C_k` the samples consumed before step :math:`k` (:math:`C_0 = 0`,
    :math:`C_{k+1} = C_k + b_k`), step :math:`k` runs

    .. math:: b_k = \text{sizes}[j], \quad j = \max\{\, j : \text{boundaries}[j-1] \le C_k \,\}

    (``boundaries[-1]`` read as 0; on the steps clock :math:`k` replaces :math:`C_k`; on the
    tokens clock, :math:`C_k \cdot` `tokens_per_sample`). The batch changes at the first step
    whose count reaches the boundary, as Megatron-LM's calculators do (``consumed >= threshold``),
    so a stage may start a little after its boundary; a stage whose boundary is reached at the
    same step as the next one's is skipped. With `align`, a larger size ``sizes[j]`` (an
    integer multiple of the size before) waits further, for the first step whose :math:`C_k`
    is a multiple of it (OLMo-core's rule: no sample skipped or seen twice by a data loader that
    indexes batches of the new size).

    The plan's functions of the step (`BatchRamp.batch_size`, `~BatchRamp.micro_batches`,
    `~BatchRamp.samples`, `~BatchRamp.tokens`, `~BatchRamp.step_at`, `~BatchRamp.lr_scale`)
    are jittable and computed from the stage table (`BatchRamp.stages`), worked out here in
    Python integers: exact at any run length.

    Args:
      sizes: the batch size of each stage, in samples (sequences): increasing positive integers,
        each a multiple of `micro_batch`, at most 2**31 - 1 tokens per step.
      boundaries: ``len(sizes) - 1`` non-decreasing counts at which the stages after the first
        begin, on `clock` (integers up to 2**63 - 1).
      clock: what the boundaries count: ``"samples"``, ``"tokens"`` (samples ×
        `tokens_per_sample`) or ``"steps"``.
      tokens_per_sample: tokens per sample (the sequence length).
      micro_batch: the samples of one micro-batch (per accumulation step, all devices): the
        plan's sizes are this many times `micro_batches`, a shape static under ``jit``.
      align: wait for a multiple of the new size before growing (integer growth factors only).
      total: the run's length in samples (in tokens on the tokens clock), or None: with it, a
        count past it raises in `BatchRamp.step_at`, and `BatchRamp.num_steps` is known.

    Returns:
      A `BatchRamp`.

    Example:
      >>> import jaxsched as js
      >>> plan = js.batch_ramp([16, 32, 64], [96, 256], micro_batch=16)
      >>> [int(plan.batch_size(k)) for k in range(10)]
      [16, 16, 16, 16, 16, 16, 32, 32, 32, 32]
      >>> plan.stages
      ((0, 0, 16), (6, 96, 32), (11, 256, 64))
      >>> int(plan.micro_batches(11)), int(plan.samples(12)), int(plan.step_at(samples=300))
      (4, 320, 11)
    """
    return BatchRamp(sizes, boundaries, clock, tokens_per_sample, micro_batch, align, total)


_schedule.register(batch_ramp)  # type: ignore[arg-type]  # so that `js.from_config` builds plans
