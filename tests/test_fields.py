"""Declaring a schedule once (issue 19): annotated fields become the constructor's arguments,
`field(static=True)` structure, `field(alias=...)` an argument named like something `Schedule`
defines; reserved names are refused when the class is created."""

from __future__ import annotations

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.typing import ArrayLike

import jaxsched as js
from jaxsched._fields import field
from jaxsched._steps import as_float


class _Ramp(js.Schedule, kind="ramp_for_tests"):
    """``value * min(t, horizon) / horizon`` with a static label: every kind of field."""

    value: ArrayLike
    label: str = field(static=True)
    end: ArrayLike = field(alias="horizon")  # `horizon` is Schedule's: stored as `end`

    def _at(self, t: jax.Array) -> jax.Array:
        end = as_float(self.end, t)
        return as_float(self.value, t) * jnp.minimum(t.astype(end.dtype), end) / end

    def _horizon(self) -> int | None:
        return int(np.ceil(self.end))


def test_fields_become_params_static_and_attrs():
    assert _Ramp.kind == "ramp_for_tests"
    assert _Ramp.params == ("value", "label", "horizon")
    assert _Ramp.static == frozenset({"label"})
    assert _Ramp.attrs == {"horizon": "end"}
    assert "end" not in _Ramp.__dict__  # the field(...) marker is gone from the class


def test_an_aliased_field_keeps_its_argument_name_everywhere():
    s = _Ramp(value=2.0, label="a", horizon=4)
    assert s.end == 4 and s.horizon == 4  # the property is Schedule's, the value the field's
    assert repr(s) == "ramp_for_tests(value=2.0, label='a', horizon=4)"
    assert s.__getstate__() == {"value": 2.0, "label": "a", "horizon": 4}
    again = pickle.loads(pickle.dumps(s))
    assert again == s and again.end == 4
    assert float(s(2)) == 1.0


def test_static_fields_are_structure_and_the_rest_are_leaves():
    s = _Ramp(value=2.0, label="a", horizon=4)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(s)
    assert [(jax.tree_util.keystr(k), v) for k, v in leaves] == [(".value", 2.0), (".end", 4)]
    assert _Ramp(value=2.0, label="b", horizon=4) != s
    batched = jax.vmap(lambda v: _Ramp(value=v, label="a", horizon=4)(2))(jnp.arange(3.0))
    np.testing.assert_array_equal(batched, [0.0, 0.5, 1.0])


def test_missing_and_unknown_arguments_are_type_errors():
    with pytest.raises(TypeError, match=r"missing \['horizon'\]"):
        _Ramp(value=1.0, label="a")
    with pytest.raises(TypeError, match=r"unexpected \['end'\]"):
        _Ramp(value=1.0, label="a", horizon=1, end=1)


@pytest.mark.parametrize("name", ["kind", "horizon", "params", "static", "_at", "_horizon"])
def test_a_field_named_like_something_schedule_defines_is_refused(name):
    with pytest.raises(TypeError, match=f"{name}.*reserved.*alias"):
        type("Bad", (js.Schedule,), {"__annotations__": {name: "ArrayLike"}})


def test_a_field_with_a_default_or_declared_twice_is_refused():
    with pytest.raises(TypeError, match="no default"):
        type("Bad", (js.Schedule,), {"__annotations__": {"x": "float"}, "x": 1.0})
    with pytest.raises(TypeError, match="declared twice"):
        type("Bad", (_Ramp,), {"__annotations__": {"value": "float"}})


def test_a_subclass_adds_its_fields_after_its_parents():
    class Scaled(_Ramp):
        scale: ArrayLike

        def _at(self, t):
            return super()._at(t) * as_float(self.scale, t)

    assert Scaled.kind == "ramp_for_tests" and Scaled.params[-1] == "scale"
    assert float(Scaled(value=1.0, label="a", horizon=2, scale=3.0)(1)) == 1.5
