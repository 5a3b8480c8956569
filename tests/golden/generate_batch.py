"""Writes tests/golden/batch.json: batch-size ramps as Megatron-LM and OLMo-core compute them.

Each upstream's arithmetic is re-implemented here in Python integers and float64, step by step,
as its training loop runs it (neither library is a dependency; their formulas are facts, this
code is ours):

* Megatron-LM ``--rampup-batch-size`` (``RampupBatchsizeNumMicroBatchesCalculator.update`` and
  ``update_train_iters`` in megatron/core/num_microbatches_calculator.py and
  megatron/training/training.py at commit 0b9bc2088b6d6c858275d02638064cc7e0bf8b70, the last
  one with the ramp): the batch at ``c`` samples consumed is ``global`` if ``c > R`` else
  ``start + int(c / (R / n)) * increment`` (float division), ``n = (global - start) /
  increment``; the loop asks before each step, then adds the batch to ``c``.
* Megatron-LM ``--step-batch-size-schedule`` (``StepBatchsizeNumMicroBatchesCalculator`` and
  ``update_train_iters`` at commit d98e8a64ddf34856e74b24714e3bedb2f5a39553; added in
  532ad926b4f2e50770841c120efcf70f686f74d9): entries ``THRESHOLD:SIZE``, numbers
  ``int(float(digits) * {K,M,B,T})``, token thresholds ``// seq_length``, sorted; the batch is the
  size of the last threshold ``<= c``.
* OLMo-core ``BatchSizeSchedulerCallback`` (src/olmo_core/train/callbacks/batch_size_scheduler.py
  at commit b0019cc14903f86bfce2afc64f984b49fbf5eb98, with the trainer's ``_fit_epoch`` and the
  data loader's ``global_batch_size`` setter at fa6c5014c9f6e9ee789da2d9c20d5126fee8df0d): before
  each batch, the latest event due (``global_step >= value`` or ``tokens_seen >= value``) is
  applied; a larger size only once ``batches_processed % ratio == 0`` (then
  ``batches_processed //= ratio``), and the base learning rate is multiplied by
  ``sqrt(new / old)``.

* MaxText ``RampupBatchManager`` (src/maxtext/utils/rampup_batch.py at commit
  e50e394587a83a8859743de86faf11f5ef73694a, the same at e591f30cbbf217ed67ef71263ec0538239f9c3b8):
  per-device sizes (floats) times the number of devices, ``int``-ed; after each step the stage's
  own sample count grows by the batch and, once ``>= global_rampup_samples / n`` (float), the
  batch grows by the increment and the count restarts at 0.

Run: ``python tests/golden/generate_batch.py`` (seconds; no dependencies beyond the stdlib).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

OUT = Path(__file__).with_name("batch.json")


def megatron_rampup(start, increment, rampup_samples, global_batch, micro, steps, train_samples):
    n = (global_batch - start) // increment
    per_increment = rampup_samples / n

    def batch(consumed):
        if consumed > rampup_samples:
            return global_batch
        return start + int(consumed / per_increment) * increment

    def train_iters(total):  # update_train_iters, sample-based training with a ramp
        iterations, consumed = 0, 0
        while consumed <= rampup_samples and consumed <= total:
            consumed += batch(consumed)
            iterations += 1
        if total > consumed:
            iterations += (total - consumed) // global_batch
        return iterations

    return _run(batch, micro, steps), [[t, train_iters(t)] for t in train_samples]


def _number(text):
    text = text.strip().upper()
    for suffix, multiplier in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * multiplier)
    return int(float(text) * 1)


def megatron_schedule(schedule, seq_length, micro, steps, train_samples):
    pairs = []
    for entry in schedule.strip().replace(",", " ").split():
        threshold, size = entry.split(":", 1)
        threshold = _number(threshold)
        if seq_length is not None:
            threshold //= seq_length
        pairs.append((threshold, _number(size)))
    pairs.sort(key=lambda p: p[0])

    def batch(consumed):
        size = pairs[0][1]
        for threshold, b in pairs:
            if consumed >= threshold:
                size = b
            else:
                break
        return size

    def train_iters(total):
        iterations, consumed = 0, 0
        while consumed < total:
            consumed += batch(consumed)
            iterations += 1
        return iterations

    return _run(batch, micro, steps), [[t, train_iters(t)] for t in train_samples]


def _run(batch, micro, steps):
    """The Megatron loop: ask the calculator at the samples consumed, then consume the batch."""
    record, consumed, wanted = [], 0, set(steps)
    for k in range(max(steps) + 1):
        b = batch(consumed)
        if k in wanted:
            record.append([k, b, consumed, b // micro])
        consumed += b
    return record


def olmo_core(batch_sizes, schedule, unit, steps):
    """Sizes in tokens; returns [step, batch tokens, tokens seen before, lr factor] rows."""
    record, wanted = [], set(steps)
    current, processed, tokens, factor = None, 0, 0, 1.0
    current = batch_sizes[0]  # the data loader starts at the first size of the schedule
    for global_step in range(max(steps) + 1):
        for target, start in reversed(list(zip(batch_sizes, schedule))):
            if (global_step if unit == "steps" else tokens) >= start:
                if target > current:
                    ratio = target // current
                    if processed % ratio == 0:
                        processed //= ratio
                        factor *= math.sqrt(target / current)
                        current = target
                break
        if global_step in wanted:
            record.append([global_step, current, tokens, factor])
        processed += 1
        tokens += current
    return record


def maxtext(devices, start, increment, end, rampup_samples, steps):
    """Per-device sizes as MaxText's config holds them; [step, global batch, samples used
    before the step (its total_used_samples), micro-batches of 1] rows."""
    n = (end - start) // increment
    per_increment = rampup_samples / n
    size, top, inc = int(devices * start), int(devices * end), int(devices * increment)
    record, accumulated, used, wanted = [], 0, 0, set(steps)
    for k in range(max(steps) + 1):
        if k in wanted:
            record.append([k, size, used, size])
        used += size
        accumulated += size  # update(), called as each batch is loaded
        if accumulated >= per_increment:
            size, accumulated = min(size + inc, top), 0
    return record


def _near(points, width, last):
    """Steps 0..width and around each point, within [0, last]."""
    steps = set(range(width + 1)) | {last}
    for p in points:
        steps |= set(range(max(0, p - width), min(last, p + width) + 1))
    return sorted(steps)


def _dumps(cases):
    """JSON with one case per paragraph and one row per line."""
    texts = []
    for case in cases:
        head = json.dumps({k: v for k, v in case.items() if k != "rows"})[:-1]
        rows = ",\n  ".join(json.dumps(r) for r in case["rows"])
        texts.append(f'{head}, "rows": [\n  {rows}]}}')
    return "[\n" + ",\n".join(texts) + "\n]\n"


def main():
    cases = []
    # (id, start, increment, ramp samples, global batch, micro, last step, train_samples)
    megatron = [
        ("megatron_rampup-16-16-640-to-64", 16, 16, 640, 64, 16, 60, [640, 2560, 2561, 2600]),
        ("megatron_rampup-gpt3-32-32-4882812-to-1536", 32, 32, 4882812, 1536, 8, 20000,
         [4882812, 300_000_000 // 2048 * 1000]),
        ("megatron_rampup-8-8-1000-to-64-uneven", 8, 8, 1000, 64, 8, 80, [0, 1, 1000, 1001, 5000]),
        ("megatron_rampup-float-rounding-646-over-60", 1, 1, 646, 61, 1, 120, [646, 700]),
    ]
    for cid, start, inc, ramp, glob, micro, last, totals in megatron:
        table, iters = megatron_rampup(start, inc, ramp, glob, micro, range(last + 1), totals)
        keep = {row[0] for row in table if row[0] < 80 or row[0] % 997 == 0 or row[0] == last}
        keep |= {row[0] + d for row, nxt in zip(table, table[1:]) if row[1] != nxt[1]
                 for d in (0, 1)}
        cases.append({
            "id": cid, "upstream": "megatron_rampup",
            "args": {"start": start, "increment": inc, "rampup_samples": ramp,
                     "global_batch_size": glob, "micro_batch": micro},
            "rows": [r for r in table if r[0] in keep], "train_iters": iters})
    schedules = [
        ("megatron_schedule-tokens-768-to-6144", "0:768 250B:1536 500B:3072 750B:6144", 4096, 8,
         [250 * 10**9 // 4096, 800 * 10**9 // 4096]),
        ("megatron_schedule-samples-suffixes", "0:32 1000:64 5K:128 0.0123M:256", None, 32,
         [1, 1000, 1001, 20000]),
        ("megatron_schedule-unsorted-commas", "0:16, 480:48, 96:32", None, 16, [96, 97, 1000]),
    ]
    for cid, schedule, seq, micro, totals in schedules:
        last = 260_000 if seq else 200
        table, iters = megatron_schedule(schedule, seq, micro, range(last + 1), totals)
        changes = [a[0] for a, b in zip(table, table[1:]) if a[1] != b[1]]
        keep = set(_near(changes, 3, last)) | set(range(0, last, 9973))
        cases.append({
            "id": cid, "upstream": "megatron_schedule",
            "args": {"schedule": schedule, "seq_length": seq, "micro_batch": micro},
            "rows": [r for r in table if r[0] in keep], "train_iters": iters})
    olmo = [  # (id, batch sizes in tokens, schedule, unit, sequence length, last step)
        ("olmo_core-tokens-1M-2M-4M", [256 * 4096, 512 * 4096, 1024 * 4096],
         [0, 335_544_321, 10_000_000_000], "tokens", 4096, 6000),
        ("olmo_core-steps-x4-x2", [16 * 128, 64 * 128, 128 * 128], [0, 5, 11], "steps", 128, 40),
        ("olmo_core-tokens-skips-a-stage", [16 * 8, 32 * 8, 128 * 8], [0, 33 * 8, 50 * 8],
         "tokens", 8, 30),
    ]
    for cid, sizes, schedule, unit, seq, last in olmo:
        table = olmo_core(sizes, schedule, unit, range(last + 1))
        changes = [a[0] for a, b in zip(table, table[1:]) if a[1] != b[1]]
        keep = set(_near(changes, 3, last)) | set(range(0, last, 97))
        cases.append({
            "id": cid, "upstream": "olmo_core",
            "args": {"batch_sizes": sizes, "schedule": schedule, "unit": unit,
                     "sequence_length": seq},
            "rows": [r for r in table if r[0] in keep]})
    maxtexts = [  # (id, devices, per-device start, increment, end, global_rampup_samples)
        ("maxtext-defaults-4-2-16-500", 8, 4.0, 2.0, 16.0, 500),
        ("maxtext-256-to-2048-1M", 64, 4.0, 4.0, 32.0, 1_000_000),
        ("maxtext-fractional-0.5-0.25-2", 16, 0.5, 0.25, 2.0, 1000),
    ]
    for cid, devices, start, inc, end, ramp in maxtexts:
        last = 400
        table = maxtext(devices, start, inc, end, ramp, range(last + 1))
        cases.append({
            "id": cid, "upstream": "maxtext_rampup",
            "args": {"start": int(devices * start), "increment": int(devices * inc),
                     "rampup_samples": ramp, "global_batch_size": int(devices * end)},
            "rows": table})
    OUT.write_text(_dumps(cases))
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
