"""The C-Net and autograd graphs download as SVG and PNG, rendered by Graphviz on the server."""

from __future__ import annotations

import pytest

from tests.apptest_helpers import open_page
from tests.test_page_gumbel_softmax import TABS
from toolbox.dial.cnet import condensed_graph_source
from toolbox.figures import graphs
from toolbox.gumbel import computation_graph_dot

needs_dot = pytest.mark.skipif(not graphs.dot_available(),
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")


@needs_dot
@pytest.mark.parametrize("source,word", [(condensed_graph_source("sum"), b"GRU"),
                                         (computation_graph_dot("gumbel_softmax", K=3),
                                          b"SoftmaxBackward0")],
                         ids=["cnet", "autograd"])
def test_a_graph_renders_as_svg_and_png(source, word):
    svg = graphs.graph_image(source, "svg")
    png = graphs.graph_image(source, "png")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"</svg>" in svg
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert word in source.encode() and word in svg  # the drawing holds the graph's nodes


def test_a_wrong_format_or_source_is_a_sentence():
    with pytest.raises(ValueError, match="one of"):
        graphs.graph_image("digraph { a -> b }", "gif")
    if graphs.dot_available():
        with pytest.raises(ValueError, match="Graphviz could not draw"):
            graphs.graph_image("digraph { a -> ", "svg")


def test_without_dot_the_download_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(graphs.shutil, "which", lambda name: None)
    assert graphs.graph_image("digraph { a -> b }", "svg") is None


@pytest.mark.slow
@needs_dot
@pytest.mark.parametrize("page", ["app_pages/dial/page.py", "app_pages/gumbel_softmax/page.py"])
def test_the_pages_offer_both_downloads(page):
    at = open_page(page)
    # the autograd graph sits in the reparameterization tab
    if page == "app_pages/gumbel_softmax/page.py":
        at.session_state["gs_tab"] = TABS["reparameterization"]
        at.run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download graph (SVG)" in labels and "Download graph (PNG)" in labels
