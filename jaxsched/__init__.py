"""jaxsched: learning-rate schedules for JAX and Optax.

A schedule is a pure, jittable function ``step -> learning rate`` (an `optax.Schedule`) that
composes with combinators and arithmetic, matches its reference implementation, and costs nothing
at run time. See README.md.
"""

import importlib.metadata as _metadata

from ._anneals import log_annealing as log_annealing
from ._anneals import tanh_decay as tanh_decay
from ._batch import BatchRamp as BatchRamp
from ._batch import batch_ramp as batch_ramp
from ._clocks import SampleClockState as SampleClockState
from ._clocks import StepClockState as StepClockState
from ._clocks import TokenClockState as TokenClockState
from ._clocks import scale_by_schedule as scale_by_schedule
from ._combinators import join as join
from ._combinators import piecewise_constant as piecewise_constant
from ._combinators import piecewise_linear as piecewise_linear
from ._configs import from_config as from_config
from ._configs import to_config as to_config
from ._cycles import cosine_annealing as cosine_annealing
from ._cycles import cyclic as cyclic
from ._decays import constant as constant
from ._decays import exponential_decay as exponential_decay
from ._decays import inverse_sqrt as inverse_sqrt
from ._decays import inverse_time_decay as inverse_time_decay
from ._decays import linear as linear
from ._decays import multistep_decay as multistep_decay
from ._decays import polynomial_decay as polynomial_decay
from ._decays import step_decay as step_decay
from ._finder import lr_find as lr_find
from ._finder_result import LRFindResult as LRFindResult
from ._groups import layerwise_decay as layerwise_decay
from ._groups import param_labels as param_labels
from ._laws import LossCurve as LossCurve
from ._laws import LossLaw as LossLaw
from ._laws_fit import fit_loss_law as fit_loss_law
from ._laws_search import optimize_schedule as optimize_schedule
from ._one_cycle import one_cycle as one_cycle
from ._one_cycle import one_cycle_momentum as one_cycle_momentum
from ._optstate import hyperparams as hyperparams
from ._optstate import learning_rate as learning_rate
from ._plans import cooldown as cooldown
from ._plans import extend as extend
from ._plans import noise as noise
from ._plans import shift as shift
from ._plans import wsd_cycles as wsd_cycles
from ._plateau import PlateauState as PlateauState
from ._plateau import plateau_scale as plateau_scale
from ._plateau import reduce_on_plateau as reduce_on_plateau
from ._plot import plot as plot
from ._powers import power_decay as power_decay
from ._schedule import Schedule as Schedule
from ._sgdr import sgdr as sgdr
from ._stack import stack as stack
from ._stepmaps import hold as hold
from ._stepmaps import interleave as interleave
from ._train_step import make_train_step as make_train_step
from ._wrappers import clip as clip
from ._wrappers import per_epoch as per_epoch
from ._wrappers import repeat as repeat
from ._wrappers import schedule as schedule
from ._wrappers import staircase as staircase
from ._wrappers import warmup as warmup
from ._wsd import warmup_stable_decay as warmup_stable_decay

# The documented API (docs/api.rst), in its order.
__all__ = [
    "Schedule",
    "to_config",
    "from_config",
    "constant",
    "linear",
    "step_decay",
    "multistep_decay",
    "exponential_decay",
    "polynomial_decay",
    "inverse_time_decay",
    "inverse_sqrt",
    "power_decay",
    "cosine_annealing",
    "sgdr",
    "cyclic",
    "one_cycle",
    "one_cycle_momentum",
    "log_annealing",
    "tanh_decay",
    "warmup_stable_decay",
    "join",
    "piecewise_constant",
    "piecewise_linear",
    "warmup",
    "staircase",
    "repeat",
    "per_epoch",
    "clip",
    "schedule",
    "cooldown",
    "extend",
    "shift",
    "noise",
    "wsd_cycles",
    "hold",
    "interleave",
    "stack",
    "reduce_on_plateau",
    "PlateauState",
    "plateau_scale",
    "hyperparams",
    "learning_rate",
    "scale_by_schedule",
    "StepClockState",
    "TokenClockState",
    "SampleClockState",
    "param_labels",
    "layerwise_decay",
    "lr_find",
    "LRFindResult",
    "make_train_step",
    "LossCurve",
    "LossLaw",
    "fit_loss_law",
    "optimize_schedule",
    "plot",
    "BatchRamp",
    "batch_ramp",
]

try:
    __version__ = _metadata.version("jaxsched")
except _metadata.PackageNotFoundError:  # running from a source checkout
    __version__ = "0.0.0+local"
