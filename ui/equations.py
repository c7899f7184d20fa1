"""An equation on a page and, beside it, the backend function(s) that compute it.

The names are read from the function objects (``f.__module__ + '.' + f.__qualname__``), so a renamed
or moved function changes the page with it: the caption cannot drift from the code.
"""

from __future__ import annotations

from typing import Callable, Sequence

import streamlit as st

from toolbox.provenance import qualified_name


def equation(latex: str | Sequence[str], *functions: Callable) -> None:
    """Show ``latex`` (one equation, or its parts shown one under the other so that it fits a narrow
    column) with one ``st.latex``, then a caption "computed by `…`" naming ``functions``."""
    if not isinstance(latex, str):
        latex = r"\begin{gathered}" + r" \\ ".join(latex) + r"\end{gathered}"
    st.latex(latex)
    if functions:
        computed_by(*functions)


def computed_by(*functions: Callable) -> None:
    """The caption "computed by `…`" naming the backend ``functions`` (for an equation drawn
    otherwise)."""
    st.caption("computed by " + ", ".join(f"`{qualified_name(f)}`" for f in functions))
