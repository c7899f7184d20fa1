"""Section 1 of the DIAL page: the C-Net, its input layer, its graph."""

from __future__ import annotations

import streamlit as st

from app_pages.dial.links import link_value, precomputed_comparison
from toolbox.dial.cnet import CNet, condensed_graph_source, graph_source
from toolbox.figures.style import COLORS
from toolbox.lessons.dial.requests import link_choice
from ui.common import set_query
from ui.equations import computed_by
from ui.graphs import graph_downloads


@st.cache_data(show_spinner=False, max_entries=8)
def cnet_graph(mode: str, full: bool) -> str:
    return graph_source(mode) if full else condensed_graph_source(mode)



def cnet_section(data: dict) -> None:
    """The C-Net's equations, the input-layer choice, its stages and graph, the stored
    comparison."""
    st.header("1 · The C-Net: embed every input, then add")
    st.latex(r"z^a_t = \mathrm{Emb}_{\text{agent}}(a) + \mathrm{Emb}_{\text{obs}}(o^a_t) + "
             r"\mathrm{Emb}_{\text{act}}(u^a_{t-1}) + \mathrm{MLP}\big(m_{t-1}\big)")
    computed_by(CNet.embed)
    st.latex(r"h^a_t = \mathrm{GRU}_2(z^a_t, h^a_{t-1}),\quad [Q(\tau^a_t,\cdot),\, m^a_t] = "
             r"\mathrm{Lin}\!\circ\!\mathrm{ReLU}\!\circ\!\mathrm{BN}\!\circ\!\mathrm{Lin}(h^a_t)")
    computed_by(CNet.forward)
    st.markdown(
        "**Where this head comes from.** Linear → BatchNorm → ReLU → Linear is the head of the "
        "Colab notebook this lesson started from, and the code here keeps it. The paper's output "
        "network and the authors' code (iassael/learning-to-communicate) are "
        "Linear → ReLU → Linear, without BatchNorm. With BatchNorm in the network, which "
        "statistics normalise at test time changes what the agents do (Part 3)."
    )
    left, right = st.columns([2, 3])
    with left:
        mode = st.radio("Input layer", ["sum", "concat"], key="cnet_mode", horizontal=True,
                        index=["sum", "concat"].index(link_value("mode", "sum",
                                                                 lambda v: link_choice("mode", v,
                                                                                       ("sum",
                                                                                        "concat")),
                                                                 "cnet_mode")),
                        format_func=lambda m: {"sum": "embeddings added (paper)",
                                               "concat": "raw inputs concatenated"}[m])
        set_query(mode=mode)
        st.markdown(
            "The agent index, the observation and the previous action are *categories*: a lookup "
            "table gives each a learned vector. The message is a *real number*, so it gets "
            "BatchNorm → Linear → ReLU. All land in the same space ℝ¹²⁸ and are **added** — a "
            "Linear layer on concatenated one-hot codes would compute exactly this sum. "
            "Concatenating the *raw* numbers instead (agent 0, 1, 2 as a magnitude) forces one "
            "weight per input to serve every category."
        )
        net = CNet(n_agents=3, input_mode=mode)
        # A Markdown table, so the stage names' maths ($u_{t-1}$) renders.
        st.markdown("| stage | shape (96 rows = 32 episodes × 3 agents) |\n|---|---|\n"
                    + "\n".join(f"| {s} | {tuple(sh)} |" for s, sh in net.stage_shapes(96)))
        n_params = sum(p.numel() for p in net.parameters())
        st.caption(
            f"{n_params:,} parameters. One forward pass serves "
            "every agent of every episode (parameter sharing).")
    with right:
        view = st.radio("Graph", ["layers (condensed)", "full autograd graph"], horizontal=True,
                        key="cnet_graph_view")
        full = view == "full autograd graph"
        st.graphviz_chart(cnet_graph(mode, full), width="stretch")
        graph_downloads(cnet_graph(mode, full), f"cnet_{mode}_{'full' if full else 'layers'}")
        st.caption(
            "Full autograd graph of one C-Net step (torchviz, over 100 nodes): blue boxes are "
            "parameters, named as in the code."
            if full else
            "One C-Net step, layer by layer (traced from the code with torch.fx): each box is a "
            "layer named as in the code; the circles combine streams. Choose the full autograd "
            "graph to see every operation.")
    precomputed_comparison(
        data,
        [(f"DIAL, {m}", dict(input_mode=m, sigma=2.0), c) for m, c in (("sum", COLORS["with"]),
                                                                       ("concat",
                                                                        COLORS["without"]))],
        "Embedding-sum vs raw concatenation (n = 3, precomputed)", "fig_cnet_compare",
    )
