"""tools/gallery.py covers every constructor, renders, and docs/gallery.png is a sound PNG."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

import jaxsched as js
from jaxsched._schedule import _CONSTRUCTORS
from tests.pngs import assert_png, png_size

ROOT = Path(__file__).resolve().parents[1]


def load_gallery():
    spec = importlib.util.spec_from_file_location("gallery", ROOT / "tools" / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def public_schedule_functions() -> set[str]:
    """Every public function of jaxsched that returns a schedule, from the package's exports
    (``__all__``): a function exported later is in it at once. `from_config` (a loader),
    `stack` (a batch of schedules, for vmap) and `optimize_schedule` (a search that needs a
    fitted loss law) return schedules but are not shapes to draw."""
    functions = {name: getattr(js, name) for name in js.__all__}
    return {name for name, f in functions.items() if inspect.isfunction(inspect.unwrap(f))
            and inspect.signature(f).return_annotation in ("Schedule", js.Schedule)
            } - {"from_config", "stack", "optimize_schedule"}


def test_every_public_schedule_function_has_a_panel_of_its_own():
    gallery = load_gallery()
    wanted = public_schedule_functions()
    assert {"wsd_cycles", "schedule", "cosine_annealing", "warmup"} <= wanted
    registered = {n for n, f in _CONSTRUCTORS.items() if hasattr(js, n)
                  and inspect.signature(f).return_annotation in ("Schedule", js.Schedule)}
    assert registered <= wanted  # the registry agrees with the exports
    missing = wanted - gallery.functions_shown()
    assert not missing, f"add a panel to tools/gallery.py for {sorted(missing)}"
    assert any(build.kind == "binary" for build in map(gallery.build, (
        e for _, e, _, _ in gallery.entries())))  # arithmetic between schedules


def test_the_titles_are_legible_at_800_pixels():
    """The committed picture, shown 800 px wide: titles at least 10 px, tick labels 9 px."""
    gallery = load_gallery()
    width, _ = png_size(ROOT / "docs" / "gallery.png")
    assert width == round(gallery.COLUMNS * gallery.PANEL[0] * gallery.DPI)  # rendered so
    shown = min(1.0, gallery.WIDTH_PX / width)  # GitHub and the docs shrink, never enlarge
    assert gallery.TITLE_PT * gallery.DPI / 72 * shown >= 10
    assert gallery.TICK_PT * gallery.DPI / 72 * shown >= 9


def test_every_expression_builds_a_schedule_that_matches_its_wrapped_one():
    gallery = load_gallery()
    for _, expression, steps, wrapped in gallery.entries():
        s = gallery.build(expression)
        assert isinstance(s, js.Schedule), expression
        if wrapped is not None:
            assert repr(gallery.build(wrapped)) in repr(s), (expression, wrapped)


def test_render_writes_a_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="needs the plot extra")
    gallery = load_gallery()
    monkeypatch.setattr(gallery, "COMBINATORS", gallery.COMBINATORS[3:4])  # warmup: two lines
    monkeypatch.setattr(gallery, "SHAPES", gallery.SHAPES[:2])
    path = gallery.render(str(tmp_path / "sub" / "g.png"), dpi=40)
    assert_png(path, min_size=(400, 100))


def test_the_committed_gallery_is_a_png_under_400_kB():
    path = ROOT / "docs" / "gallery.png"
    assert_png(path, min_size=(800, 600), max_bytes=400_000)
    width, height = png_size(path)
    panels = len(load_gallery().entries())
    assert width * height >= panels * 150 * 120  # room for each panel to be read


@pytest.mark.parametrize("damage", ["signature", "ihdr", "iend", "truncate"])
def test_the_png_check_rejects_damaged_files(tmp_path, damage):
    data = bytearray((ROOT / "docs" / "gallery.png").read_bytes())
    if damage == "signature":
        data[1:4] = b"JPG"
    elif damage == "ihdr":
        data[20] ^= 0xFF  # width changed, CRC no longer matches
    elif damage == "iend":
        data = data[:-12]
    else:
        data = data[:40]
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    with pytest.raises(AssertionError):
        png_size(path)
