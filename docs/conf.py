"""Sphinx configuration of the jaxsched documentation (``make docs``).

Pages are MyST Markdown, the API reference is generated from the docstrings (autodoc + napoleon),
the notebooks are rendered from their committed outputs (myst-nb, nothing executed) and MathJax is
served from the site itself (sphinx-mathjax-offline), so a reader needs no network. The build runs
with ``-W --keep-going -n``: any warning fails it, including a reference to one of our own names
that does not resolve and a public name of ``jaxsched`` missing from the API reference.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import jaxsched  # noqa: E402

project = "jaxsched"
author = "The jaxsched authors"
copyright = "2026, the jaxsched authors"
release = version = jaxsched.__version__

extensions = [
    "myst_nb",  # MyST Markdown pages and .ipynb notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",  # the summary table that opens each part of the API page
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",  # [source] beside each API entry
    "sphinx.ext.intersphinx",  # links to Python's own documentation, from a bundled inventory
    "sphinx-mathjax-offline",  # MathJax copied into _static/, no CDN
]

exclude_patterns = ["_build", "_inventories", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# MyST: $...$ and $$...$$ math, ```{math} blocks, heading anchors for links between pages.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the notebooks are committed with their outputs
nb_merge_streams = True

# autodoc + napoleon: Google-style docstrings, signatures as written, members in source order.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# Signatures show ArrayLike as users write it (`from jax.typing import ArrayLike`), not the
# union it stands for: the alias is kept by name here, and `readable_signature` writes it short.
autodoc_type_aliases = {"ArrayLike": "jax.typing.ArrayLike",
                        "jax.typing.ArrayLike": "jax.typing.ArrayLike"}
autosummary_generate = False  # the tables link to the entries on the same page
default_role = "code"  # `name` in a docstring is code, as in the source

# Nitpicky for our own names only: a broken reference to jaxsched fails the build. Python's own
# names link to docs.python.org through its inventory, bundled in docs/_inventories (the build is
# offline; from Debian's python3-doc). jax and optax publish no inventory that can be had offline,
# so their names are shown unlinked.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!jaxsched\b).*")]
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(DOCS / "_inventories" / "python.inv")),
}

# Figures drawn by code on the pages (```{plot} blocks, see `CodeFigure`), into docs/_figures/.
FIGURES = DOCS / "_figures"
FIGURE_STYLE = {"figure.figsize": (7.0, 3.2), "font.size": 10, "axes.grid": True,
                "grid.alpha": 0.3, "figure.constrained_layout.use": True}

html_theme = "furo"
html_title = f"jaxsched {release}"
html_static_path = ["_static"]
html_css_files = ["jaxsched.css"]  # code and tables fit the column (tests/test_docs.py)
html_show_sourcelink = False

# -- the notebooks: colab/*.ipynb, copied into docs/notebooks/ (git-ignored) for myst-nb -------

# Updated in place (each file replaced atomically, stale ones removed), so that two builds at
# once (make docs while tests/test_docs.py builds) never see a half-written folder.
NOTEBOOKS = DOCS / "notebooks"
NOTEBOOKS.mkdir(exist_ok=True)
_sources = {p.name: p for p in sorted((ROOT / "colab").glob("*.ipynb"))}
for _name, _path in _sources.items():
    _target = NOTEBOOKS / _name
    if not _target.exists() or _target.read_bytes() != _path.read_bytes():
        _partial = NOTEBOOKS / f".{_name}.{os.getpid()}"
        shutil.copy2(_path, _partial)
        os.replace(_partial, _target)
for _stale in NOTEBOOKS.glob("*.ipynb"):
    if _stale.name not in _sources:
        _stale.unlink(missing_ok=True)


# -- every public name documented --------------------------------------------------------------

def public_names() -> list[str]:
    """The names ``import jaxsched as js`` offers: ``__all__``, else every public attribute
    defined in jaxsched (not ``importlib.metadata.version``, which ``__init__`` imports)."""
    if hasattr(jaxsched, "__all__"):
        return sorted(jaxsched.__all__)
    return sorted(n for n in dir(jaxsched) if not n.startswith("_")
                  and getattr(getattr(jaxsched, n), "__module__", "").startswith("jaxsched"))


def _show_public_classes_as_jaxsched() -> None:
    """Type hints name ``jaxsched.Schedule``, not ``jaxsched._schedule.Schedule``.

    autodoc links a class in a signature by its ``__module__``; the private module it is defined
    in is not documented, so the link would be broken (and the nitpicky build would fail).
    """
    for name in public_names():
        obj = getattr(jaxsched, name)
        if inspect.isclass(obj) and obj.__module__.startswith("jaxsched._"):
            obj.__module__ = "jaxsched"


_show_public_classes_as_jaxsched()


def append_unplaced_names(app, docname, source) -> None:
    """Public names that docs/api.rst does not place yet get an entry at its end.

    Engineers add exports while the page is curated; a name is never left out of the reference
    (its entry is generated here until the page gives it a section).
    """
    if docname != "api":
        return
    placed = set(re.findall(r"^\.\. auto\w+:: (\w+)", source[0], re.M))
    unplaced = [name for name in public_names() if name not in placed]
    if unplaced:
        source[0] += "\nMore\n----\n\n"
    for name in unplaced:
        directive = "autoclass" if inspect.isclass(getattr(jaxsched, name)) else "autofunction"
        source[0] += f".. {directive}:: {name}\n"


def summary_tables(app, docname, source) -> None:
    """Each part of the API page opens with a table of its entries and their one-line summaries
    (an ``autosummary`` of the names its ``auto*`` directives document), made here so that it
    always lists what the part holds."""
    if docname != "api":
        return
    parts = re.split(r"(?m)^(?=\S[^\n]*\n-{3,}\n)", source[0])
    for i, part in enumerate(parts):
        names = re.findall(r"^\.\. auto\w+:: (\w+)", part, re.M)
        first = re.search(r"^\.\. auto\w+:: ", part, re.M)
        if len(names) >= 2 and first:
            table = ".. autosummary::\n   :nosignatures:\n\n" + "".join(
                f"   {name}\n" for name in names) + "\n"
            parts[i] = part[:first.start()] + table + part[first.start():]
    source[0] = "".join(parts)


def check_public_names_documented(app, env) -> None:
    """Warns (so fails the build) for a public name without an API entry or a docstring."""
    from sphinx.util import logging

    logger = logging.getLogger("jaxsched.docs")
    documented = set(env.get_domain("py").objects)
    for name in public_names():
        if f"jaxsched.{name}" not in documented:
            logger.warning("public name jaxsched.%s is not in the API reference (docs/api.rst)",
                           name)
        if not inspect.getdoc(getattr(jaxsched, name)):
            logger.warning("public name jaxsched.%s has no docstring", name)


class CodeFigure(Directive):
    """```{plot}: runs its Python code when the site is built and shows the figure it draws.

    The code sees ``js`` (jaxsched), ``np`` and ``plt``; the figure is the current one when it
    ends. Drawn at every build from the code as it is, a figure cannot fall behind the library.
    (matplotlib's own plot directive needs reStructuredText's state machine, which MyST pages
    do not have.) The code is not shown: the page's text says what the figure is.
    """

    has_content = True

    def run(self):
        import hashlib

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        code = "\n".join(self.content)
        source = self.state.document["source"]
        name = f"{Path(source).stem}-{hashlib.sha256(code.encode()).hexdigest()[:12]}.png"
        plt.close("all")
        try:
            with plt.rc_context(FIGURE_STYLE):
                exec(compile(code, f"{source}:{self.lineno}", "exec"),
                     {"js": jaxsched, "np": np, "plt": plt})
                FIGURES.mkdir(exist_ok=True)
                partial = FIGURES / f".{name}.{os.getpid()}"  # builds may run side by side
                figure = plt.gcf()
                figure.savefig(partial, dpi=100, format="png")
                os.replace(partial, FIGURES / name)
                titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
        except Exception as error:  # the build fails, naming the figure's code
            raise self.error(f"the figure's code failed: {type(error).__name__}: {error}")
        finally:
            plt.close("all")
        return [nodes.image(uri=f"/_figures/{name}", alt=titles[0] if titles else "a figure")]


_FORWARD_REF = re.compile(r"TypeAliasForwardRef\('([\w.]+)'\)")


def readable_signature(app, what, name, obj, options, signature, return_annotation):
    """A signature as a user writes it: ``ArrayLike``, never ``TypeAliasForwardRef('...')`` (what
    Sphinx prints for an alias inside a union) nor the module path ``jax.typing.``."""
    def short(text):
        if text is None:
            return None
        return _FORWARD_REF.sub(r"\1", text).replace("jax.typing.ArrayLike", "ArrayLike")

    if what == "class" and obj is jaxsched.Schedule:  # built by the constructors, never directly
        return "", None
    return short(signature), short(return_annotation)


def setup(app):
    app.add_directive("plot", CodeFigure)
    app.connect("autodoc-process-signature", readable_signature)
    app.connect("source-read", append_unplaced_names)
    app.connect("source-read", summary_tables)
    app.connect("env-check-consistency", check_public_names_documented)
