"""jaxsched: learning-rate schedules for JAX and Optax.

A schedule is a pure, jittable function ``step -> learning rate`` (an `optax.Schedule`) that
composes with combinators and arithmetic, matches its reference implementation, and costs nothing
at run time. See README.md.
"""

from importlib.metadata import PackageNotFoundError, version

from ._finder import LRFindResult as LRFindResult
from ._finder import lr_find as lr_find
from ._finder import make_train_step as make_train_step
from ._schedule import Schedule as Schedule
from ._schedule import from_config as from_config
from ._schedule import to_config as to_config

try:
    __version__ = version("jaxsched")
except PackageNotFoundError:  # running from a source checkout
    __version__ = "0.0.0+local"
