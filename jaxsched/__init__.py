"""jaxsched: learning-rate schedules for JAX and Optax.

A schedule is a pure, jittable function ``step -> learning rate`` (an `optax.Schedule`) that
composes with combinators and arithmetic, matches its reference implementation, and costs nothing
at run time. See README.md.
"""

from importlib.metadata import PackageNotFoundError, version

from ._plateau import PlateauState as PlateauState
from ._plateau import plateau_scale as plateau_scale
from ._plateau import reduce_on_plateau as reduce_on_plateau
from ._schedule import Schedule as Schedule
from ._schedule import from_config as from_config
from ._schedule import to_config as to_config

try:
    __version__ = version("jaxsched")
except PackageNotFoundError:  # running from a source checkout
    __version__ = "0.0.0+local"
