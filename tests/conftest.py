"""Strict JAX for every test: no implicit dtype promotion, no implicit rank promotion."""

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# The golden-data generators run with PyTorch, which is not a test dependency.
collect_ignore_glob = ["golden/*.py"]
