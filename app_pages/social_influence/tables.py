"""The social-influence page's editable tables: what each editor starts from, and what was typed.

A ``st.data_editor`` keeps only the *edits* of its last run, relative to the table it was given.
The page therefore keeps two copies per section in ``st.session_state``: the *base* tables the
editors start from (a preset, a resized or normalized table) and the *current* tables (what was
last typed, valid or not). Changing a preset, resizing or normalizing writes a new base and clears
the editors; a visit to another page (which drops the editors' state) restarts each editor from
what was typed, so nothing typed is lost. No mathematics here: every table operation is a
``toolbox.influence`` call.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from toolbox import influence as inf
from toolbox.lessons import influence as influence_lesson
from toolbox.lessons import shared as SK
from ui.widget_guard import check_editor, valid_state, whole

# widget keys (tests drive them; those scenes set are in toolbox.lessons.shared)
K_PRESET, K_NI, K_NJA, K_NJ = (
    SK.INF_PRESET,
    "inf_n_actions_i",
    "inf_n_actions_j",
    "inf_n_influencees",
)
K_TABLE_I = "inf_pi_i_table"
K_TABLES_J = tuple(f"inf_pi_j_table_{k}" for k in range(inf.MAX_INFLUENCEES))
K_NORMALIZE, K_AI = "inf_normalize", SK.INF_AI  # "a_i": the main control tests/e2e moves
K_EXAMPLE, K_SCHEME = "pa_example", "pa_scheme"
K_PRIOR, K_PHI, K_RECEIVER = "pa_prior_table", "pa_phi_table", "pa_receiver_table"
DEFAULT_PRESET = "i's move as a signal (illustrative)"
KEPT = "inf_kept_widgets"


def column_config(columns: Sequence[str]) -> dict:
    """Number columns shown to 3 decimals, *rounded*.

    No ``step``: with a step Streamlit truncates the values to its decimals (2/3 would show and be
    kept as 0.666, so a prior (2/3, 1/3) would read 0.666 + 0.333).
    """
    return {c: st.column_config.NumberColumn(c, format="%.3f") for c in columns}


def editor(df: pd.DataFrame, key: str) -> np.ndarray:
    """A fixed-size table editor; returns what it shows as floats (an empty cell is NaN). Edits no
    browser sends (unknown rows or columns, text, added rows) are dropped with a message."""
    check_editor(key, len(df), [str(c) for c in df.columns])
    edited = st.data_editor(df, key=key, num_rows="fixed", column_config=column_config(df.columns),
                            width="stretch")
    return edited.to_numpy(dtype=float, na_value=np.nan)


def keep_widgets(keys: Sequence[str]) -> None:
    """Remember the widget values; call at the end of every run (see ``restore_widgets``)."""
    ss = st.session_state
    ss[KEPT] = {k: ss[k] for k in keys if k in ss}


def restore_widgets() -> None:
    """Streamlit drops a widget's state while another page runs: put back what the student had
    set."""
    ss = st.session_state
    for key, value in ss.get(KEPT, {}).items():
        if key not in ss:
            ss[key] = value


def _clear_editors(keys) -> None:
    for key in keys:
        st.session_state.pop(key, None)


def _generic(names, n: int, prefix: str) -> tuple[str, ...]:
    names = tuple(names)[:n]
    return names + tuple(f"{prefix}{k}" for k in range(len(names), n))


# ---- section 1: π^i and π^j(·|a^i) ---------------------------------------------------------


def load_preset() -> None:
    """Start the tables from the selected preset."""
    ss = st.session_state
    if not (valid_state(K_PRESET, influence_lesson.INFLUENCE_PRESETS)
            and valid_state(K_NJ, whole(1, inf.MAX_INFLUENCEES))):
        return  # a value no browser sends: the page drops it and says so (ui.widget_guard)
    p = influence_lesson.influence_preset(ss[K_PRESET], ss.get(K_NJ, 1))
    ss["inf_base"] = dict(pi_i=p.pi_i, pi_j=p.pi_j_given_ai, names_i=p.action_names_i,
                          names_j=p.action_names_j)
    ss["inf_current"] = dict(pi_i=p.pi_i, pi_j=list(p.pi_j_given_ai))
    ss[K_NI], ss[K_NJA] = len(p.pi_i), p.pi_j_given_ai.shape[2]
    ss["inf_note"] = p.explanation
    ss[K_AI] = min(ss.get(K_AI, 0), len(p.pi_i) - 1)
    ss["inf_normalize_error"] = None
    _clear_editors((K_TABLE_I,) + K_TABLES_J)


def resize_tables() -> None:
    """Crop or pad every table to the chosen numbers of actions and influencees."""
    ss = st.session_state
    sizes = ((K_NI, whole(2, inf.MAX_ACTIONS)), (K_NJA, whole(2, inf.MAX_ACTIONS)),
             (K_NJ, whole(1, inf.MAX_INFLUENCEES)))
    if not all(k in ss and valid_state(k, ok) for k, ok in sizes):
        return  # the page drops the bad value and says so
    cur, base = ss["inf_current"], ss["inf_base"]
    a_i, a_j, n_j = int(ss[K_NI]), int(ss[K_NJA]), int(ss[K_NJ])
    tables = [inf.resize_rows(t, (a_i, a_j)) for t in cur["pi_j"]]
    # a new influencee starts as a copy of the last one, so adding one visibly adds its KL
    pi_j = np.stack((tables + [tables[-1]] * n_j)[:n_j])
    pi_i = inf.resize_rows(np.asarray(cur["pi_i"])[None], (1, a_i))[0]
    ss["inf_base"] = dict(pi_i=pi_i, pi_j=pi_j, names_i=_generic(base["names_i"], a_i, "a"),
                          names_j=_generic(base["names_j"], a_j, "b"))
    ss["inf_current"] = dict(pi_i=pi_i, pi_j=list(pi_j))
    ss[K_AI] = min(ss.get(K_AI, 0), a_i - 1)
    _clear_editors((K_TABLE_I,) + K_TABLES_J)


def normalize_tables() -> None:
    """Divide every row by its sum; a row that cannot be normalized leaves a message for the
    page."""
    ss = st.session_state
    cur, base = ss["inf_current"], ss["inf_base"]
    try:
        pi_i = inf.normalize_rows(cur["pi_i"], "π^i", device="cpu").numpy()
        pi_j = np.stack([inf.normalize_rows(t, f"π^j(·|a^i) of influencee {k + 1}",
                                            device="cpu").numpy()
                         for k, t in enumerate(cur["pi_j"])])
    except ValueError as err:
        ss["inf_normalize_error"] = str(err)
        return
    ss["inf_normalize_error"] = None
    ss["inf_base"] = dict(base, pi_i=pi_i, pi_j=pi_j)
    ss["inf_current"] = dict(pi_i=pi_i, pi_j=list(pi_j))
    _clear_editors((K_TABLE_I,) + K_TABLES_J)


def init_influence(query_value: Callable) -> None:
    """First run of a session: the preset and chosen action from the URL (or the defaults)."""
    ss = st.session_state
    if "inf_base" in ss:
        return
    ss[K_PRESET] = query_value("preset", DEFAULT_PRESET, str, influence_lesson.INFLUENCE_PRESETS)
    ss[K_NJ] = 1
    load_preset()
    ss[K_AI] = query_value("ai", 1, int, range(len(ss["inf_base"]["pi_i"])))


def influence_base() -> dict:
    """The tables the editors start from, after restarting lost editors from what was typed."""
    ss = st.session_state
    if "inf_current" in ss and not all(k in ss for k in (K_TABLE_I,) + K_TABLES_J[
        : ss["inf_base"]["pi_j"].shape[0]]):
        cur = ss["inf_current"]
        ss["inf_base"] = dict(ss["inf_base"], pi_i=np.asarray(cur["pi_i"]),
                              pi_j=np.stack(cur["pi_j"]))
    return ss["inf_base"]


def remember_influence(raw_i: np.ndarray, raw_j: list[np.ndarray]) -> None:
    """Keep what the editors show this run (valid or not)."""
    st.session_state["inf_current"] = dict(pi_i=raw_i, pi_j=raw_j)


def pop_normalize_error() -> str | None:
    """The message of the last 'Normalize rows' click, once (right after the click)."""
    return st.session_state.pop("inf_normalize_error", None)


# ---- section 2: prior, scheme and receiver -------------------------------------------------


def load_persuasion() -> None:
    """Start the prior, scheme and receiver tables from the selected example and scheme."""
    ss = st.session_state
    if not (valid_state(K_EXAMPLE, inf.PERSUASION_PRESETS)
            and valid_state(K_SCHEME, inf.SCHEME_NAMES)):
        return  # the page drops the bad value and says so
    g = inf.persuasion_preset(ss[K_EXAMPLE], ss[K_SCHEME])
    table = inf.receiver_best_response(g.prior, g.phi, g.u_sender, g.u_receiver,
                                       device="cpu").numpy()
    ss["pa_base"] = dict(game=g, prior=g.prior, phi=g.phi, receiver=table)
    ss["pa_current"] = dict(prior=g.prior, phi=g.phi, receiver=table)
    _clear_editors((K_PRIOR, K_PHI, K_RECEIVER))


def init_persuasion(query_value: Callable) -> None:
    """First run of a session: example and scheme from the URL (or the defaults)."""
    ss = st.session_state
    if "pa_base" in ss:
        return
    ss[K_EXAMPLE] = query_value("example", inf.PERSUASION_PRESETS[0], str, inf.PERSUASION_PRESETS)
    ss[K_SCHEME] = query_value("scheme", "optimal", str, inf.SCHEME_NAMES)
    load_persuasion()


def persuasion_base() -> dict:
    """The tables the section-2 editors start from, after restarting lost editors from what was
    typed."""
    ss = st.session_state
    if "pa_current" in ss and not all(k in ss for k in (K_PRIOR, K_PHI)):
        ss["pa_base"] = dict(ss["pa_base"],
                             **{k: v for k, v in ss["pa_current"].items() if k in ("prior", "phi")})
    if "pa_current" in ss and "receiver" in ss["pa_current"] and K_RECEIVER not in ss:
        ss["pa_base"] = dict(ss["pa_base"], receiver=ss["pa_current"]["receiver"])
    return ss["pa_base"]


def remember_persuasion(**tables: np.ndarray) -> None:
    """Keep what the section-2 editors show this run (``prior``, ``phi`` and, when edited,
    ``receiver``)."""
    ss = st.session_state
    if "receiver" in tables:
        ss["pa_current"]["receiver"] = tables["receiver"]
    else:
        ss["pa_current"] = dict(tables)
