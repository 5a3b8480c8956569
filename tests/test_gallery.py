"""tools/gallery.py covers every constructor, renders, and docs/gallery.png is a sound PNG."""

from __future__ import annotations

import importlib.util
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


def test_every_constructor_and_the_lifted_function_have_a_panel():
    gallery = load_gallery()
    shown = gallery.kinds_shown()
    missing = set(_CONSTRUCTORS) - shown
    assert not missing, f"add a panel to tools/gallery.py for {sorted(missing)}"
    assert "schedule" in shown  # js.schedule(fn), which has no config and so is not registered


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
