"""Downloads beside a Graphviz graph: the image as SVG and PNG, made on the server."""

from __future__ import annotations

import streamlit as st

from toolbox.figures.graphs import GRAPH_FORMATS, dot_available, graph_image

MISSING_DOT = (
    "The SVG/PNG download needs Graphviz's `dot` program on the server "
    "(`apt-get install graphviz`, `brew install graphviz`); the graph above is drawn anyway."
)


def graph_downloads(source: str, name: str, where=None) -> None:
    """Two download buttons (SVG, PNG) for the DOT ``source``, files named ``name``; a note without
    ``dot``."""
    box = where if where is not None else st
    if not dot_available():
        box.caption(MISSING_DOT)
        return
    cols = box.columns(len(GRAPH_FORMATS))
    for col, (fmt, mime) in zip(cols, GRAPH_FORMATS.items()):
        col.download_button(
            f"Download graph ({fmt.upper()})", data=lambda fmt=fmt: graph_image(source, fmt),
            file_name=f"{name}.{fmt}", mime=mime, key=f"{name}_{fmt}", on_click="ignore",
            icon=":material/download:", type="tertiary",
        )
