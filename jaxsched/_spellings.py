"""Other libraries' argument names, answered with jaxsched's.

A user porting ``optax.cosine_decay_schedule(0.1, decay_steps=1000, alpha=0.01)`` or PyTorch's
``CosineAnnealingLR(T_max=1000, eta_min=1e-4)`` writes those keywords out of habit. Python's own
error ("unexpected keyword argument 'decay_steps'") says what is wrong, not what to write, so
every public constructor (through `jaxsched._schedule.register`) answers a foreign keyword with a
``TypeError`` naming its jaxsched spelling::

    cosine_annealing: alpha is optax's and Keras' spelling; jaxsched's is end_value
    (end_value = alpha * init_value)

A keyword that is the constructor's own parameter is never touched (``decay_steps`` is
`warmup_stable_decay`'s own), nor one of the 0.1 names that `renamed` answers.
"""

from __future__ import annotations

from collections.abc import Collection

# Foreign keyword -> (whose spelling, jaxsched's spellings in order of preference, a note).
# The first of the candidates that the constructor takes is named; where it takes none, the note
# alone (when there is one) says what to write instead.
_WARMUP = "wrap the schedule: js.warmup(schedule, steps, init_value=...)"
_OFFSET = "move the schedule in time: js.shift(schedule, -steps)"
FOREIGN: dict[str, tuple[str, tuple[str, ...], str]] = {
    # optax and Keras
    "decay_steps": ("optax's and Keras'", ("steps", "transition_steps", "cycle_steps"), ""),
    "transition_steps": ("optax's", ("steps", "every"), ""),
    "transition_begin": ("optax's", (), _OFFSET),
    "alpha": ("optax's and Keras'", ("end_value",), "end_value = alpha * init_value"),
    "decay_rate": ("optax's, Keras' and timm's", ("gamma", "cycle_decay"), ""),
    "initial_learning_rate": ("Keras'", ("init_value", "peak_value", "value"), ""),
    "end_learning_rate": ("Keras'", ("end_value",), ""),
    "boundaries_and_scales": ("optax's", (),
                              "js.piecewise_constant(boundaries, values) takes the values "
                              "themselves, not scales"),
    # PyTorch
    "T_max": ("PyTorch's", ("steps",), ""),
    "T_0": ("PyTorch's", ("cycle_steps",), ""),
    "T_mult": ("PyTorch's", ("cycle_mult",), ""),
    "eta_min": ("PyTorch's", ("end_value", "min_value"), ""),
    "total_iters": ("PyTorch's", ("steps",), ""),
    "total_steps": ("PyTorch's", ("steps",), ""),
    "step_size": ("PyTorch's", ("every",), ""),
    "milestones": ("PyTorch's", ("boundaries",), ""),
    "gamma": ("PyTorch's", ("decay_rate", "cycle_decay"), ""),
    "base_lr": ("PyTorch's", ("init_value", "min_value"), ""),
    "max_lr": ("PyTorch's", ("peak_value", "init_value", "max_value"), ""),
    "min_lr": ("PyTorch's and timm's", ("end_value", "min_value"), ""),
    "anneal_strategy": ("PyTorch's", ("anneal",), ""),
    "epochs": ("PyTorch's", (), "give steps=epochs * steps_per_epoch"),
    "last_epoch": ("PyTorch's", (),
                   "a schedule is a function of the step: call schedule(step) at any step"),
    # timm and transformers
    "t_initial": ("timm's", ("steps", "cycle_steps"), ""),
    "lr_min": ("timm's", ("end_value", "min_value"), ""),
    "cycle_mul": ("timm's", ("cycle_mult",), ""),
    "cycle_limit": ("timm's", ("cycles",), ""),
    "k_decay": ("timm's", ("k",), ""),
    "decay_t": ("timm's", ("every",), ""),
    "warmup_t": ("timm's", (), _WARMUP),
    "warmup_lr_init": ("timm's", (), _WARMUP),
    "num_training_steps": ("transformers'", ("steps",), ""),
    "num_warmup_steps": ("transformers'", ("warmup_steps",), _WARMUP),
    # shared by several
    "warmup_steps": ("optax's, Keras' and transformers'", (), _WARMUP),
    "warmup_epochs": ("a common config", (), _WARMUP),
    "lr": ("PyTorch's", ("init_value", "peak_value", "value"), ""),
    "learning_rate": ("optax's and Keras'", ("init_value", "peak_value", "value"), ""),
    "peak_lr": ("a common config", ("peak_value", "init_value", "max_value"), ""),
}
# On `warmup` itself, the ramp's length is `steps`.
_ON_WARMUP = {"warmup_steps": "steps", "num_warmup_steps": "steps", "warmup_t": "steps",
              "warmup_epochs": "steps", "warmup_lr_init": "init_value"}


def hint(constructor: str, params: Collection[str], keyword: str) -> str | None:
    """What to write instead of `keyword`, if it is another library's spelling, else None.

    Args:
      constructor: the public constructor's name.
      params: the constructor's own parameters (and its 0.1 names): never answered here.
      keyword: a keyword argument (or config field) the constructor does not take.
    """
    if keyword in params or keyword not in FOREIGN:
        return None
    whose, candidates, note = FOREIGN[keyword]
    if constructor == "warmup" and keyword in _ON_WARMUP:
        candidates, note = (_ON_WARMUP[keyword],), ""
    ours = next((name for name in candidates if name in params), None)
    if ours is None:
        return f"{keyword} is {whose} spelling; {note}" if note else None
    return f"{keyword} is {whose} spelling; jaxsched's is {ours}" + (f" ({note})" if note else "")


def check(constructor: str, params: Collection[str], keywords: Collection[str]) -> None:
    """A ``TypeError`` for the first of `keywords` that is another library's spelling (`hint`)."""
    for keyword in keywords:
        said = hint(constructor, params, keyword)
        if said is not None:
            raise TypeError(f"{constructor}: {said}")
