"""An equation on the page, with the names of the backend functions that compute it beside it.

The names are read from the function objects (``__module__`` and ``__qualname__``), so a renamed
or moved function changes the page with it: the text cannot drift from the code.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st


def backend_name(f: Callable) -> str:
    """``package.module.function`` of a backend function, e.g. ``toolbox.influence.reward.influence_rewards``."""
    return f"{f.__module__}.{f.__qualname__}"


def equation(latex: str, *functions: Callable) -> None:
    """``st.latex(latex)`` followed by a caption naming the functions that compute it."""
    st.latex(latex)
    if functions:
        st.caption("Computed by " + ", ".join(f"`{backend_name(f)}`" for f in functions))
