"""A Graphviz graph (DOT source) as an image file, for the pages' SVG and PNG downloads.

The pages draw graphs in the browser (``st.graphviz_chart`` renders DOT there), so a download needs
the image made on the server, by Graphviz's ``dot`` program. Where ``dot`` is not installed (a
laptop without Graphviz) the functions say so instead of failing: the page still draws the graph.
"""

from __future__ import annotations

import shutil
from functools import lru_cache

import graphviz

GRAPH_FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
"""The download formats and their MIME types."""

PNG_DPI = 150
"""Resolution of the PNG: sharp on a slide at full width."""


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH (needed to render a download)."""
    return shutil.which("dot") is not None


@lru_cache(maxsize=64)
def graph_image(source: str, fmt: str) -> bytes | None:
    """The DOT ``source`` rendered as ``fmt`` (``"svg"`` or ``"png"``) by ``dot``: the file's bytes,
    or None when ``dot`` is not installed. ValueError for another format or a source ``dot``
    rejects."""
    if fmt not in GRAPH_FORMATS:
        raise ValueError(f"A graph downloads as one of {sorted(GRAPH_FORMATS)}; got {fmt!r}.")
    if not dot_available():
        return None
    graph = graphviz.Source(source)
    if fmt == "png":
        graph = graphviz.Source(source.replace("{", f"{{ graph [dpi={PNG_DPI}];", 1))
    try:
        return graph.pipe(format=fmt)
    except graphviz.CalledProcessError as err:
        raise ValueError(
            f"Graphviz could not draw this graph: {err.stderr.decode(errors='replace')[:200]}")
