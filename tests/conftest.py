"""Strict JAX for every test, and the hypothesis profiles.

Profiles (``HYPOTHESIS_PROFILE=<name>``): ``ci`` (the default) draws a bounded number of examples
with no deadline, so the suite stays within its time budget on 2 cores (each new schedule is a
compilation); ``thorough`` draws many more, for local runs before a release; ``debug`` is ``ci``
without shrinking (a failure is reported as found, at once: shrinking recompiles every step).
"""

import os

import jax
from hypothesis import HealthCheck, Phase, settings

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("debug", parent=settings.get_profile("ci"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The golden-data generators run with PyTorch, which is not a test dependency.
collect_ignore_glob = ["golden/*.py"]
