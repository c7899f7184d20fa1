"""Widget keys and page constants that a lesson page and its scenes share (data only, no Streamlit).

A scene sets a page's controls by their widget keys and computes its answer with the same sample
sizes and random streams as the page; both read them from here, so a renamed key or a changed
sample size changes the page and its scenes together. ``SPOIL_*`` name the parts of a page that
give a scene's answer away: the page hides them until the class has predicted
(``Scene.spoilers``; ``ui.scenes.concealed``).
"""

from __future__ import annotations

from pathlib import Path

# ---- Normalization (app_pages/normalization/,
# app_pages/normalization/settings.py) ------------------------
NZ_TAB = "nz_panel"
NZ_KIND, NZ_BATCH, NZ_BATCHES = "nz_kind", "stream_batch_size", "nz_batches"
NZ_CLIP, NZ_EPS, NZ_SEED = "nz_clip", "nz_eps", "nz_seed"
NZ_STEP = "nz_step"
"""The "batches seen" slider: which batch the running panel's histogram and metrics show."""
NZ_REW_KIND, NZ_REW_GAMMA, NZ_REW_LEN = "nz_rew_kind", "nz_rew_gamma", "nz_rew_len"
NZ_REW_CLIP, NZ_REW_SEED = "nz_rew_clip", "nz_rew_seed"
NZ_REWARD_ENVS, NZ_REWARD_STEPS = 8, 500
"""The reward panel's stream: environments × steps."""

# ---- Gumbel-Softmax (app_pages/gumbel_softmax/page.py,
# app_pages/gumbel_softmax/calls.py) -----------------------------
GS_TAB = "gs_tab"
GS_K, GS_PRESET, GS_MODE, GS_SEED = "gs_K", "gs_preset", "gs_mode", "gs_seed"
GS_N, GS_TAU, GS_VALUES = "gs_n", "gs_tau", "gs_values"
GS_N_RELAXED = 2_000
"""Relaxed samples behind the mean, the simplex and the argmax check."""
GS_N_CURVE = 2_000
"""Samples per τ for the entropy and max-coordinate curves."""
GS_SWEEP = (0.01, 100.0, 41)
"""The temperature curves' τ grid: ``log_grid(low, high, points)``."""
GS_PART_MAX, GS_PART_RELAXED, GS_PART_CURVE = 1, 2, 3
"""Random stream of each part of the page (``toolbox.gumbel.stream_seed(seed, part)``)."""

# ---- Social influence (app_pages/social_influence/page.py, app_pages/social_influence/tables.py,
# app_pages/social_influence/learning.py)
INF_PRESET, INF_AI = "inf_preset", "a_i"
INF_RESULTS = Path(__file__).resolve().parents[2] / "results" / "influence_learning.json"
"""The precomputed β grid the learning section shows (``toolbox.influence.load_precomputed``)."""
LEARN_GAME, LEARN_BETA, LEARN_SEEDS, LEARN_UPDATES = (
    "learn_game",
    "learn_beta",
    "learn_seeds",
    "learn_updates",
)

# ---- DIAL (app_pages/dial/page.py,
# section 2) ---------------------------------------------------------
DRU_SIGMA, DRU_M = "dru_sigma", "dru_m"
DRU_M_VALUES = (-4.0, -1.0, 0.5, 1.0, 4.0)
"""The pre-DRU messages m of the DRU figure; the metric shows the one chosen with ``DRU_M``."""
DRU_SAMPLES, DRU_SEED = 20_000, 0
"""Noise draws per message behind the density figure and the sampled flip frequency."""

# ---- PPO on continuous control (app_pages/ppo_continuous/page.py) -------------------------
PC_DETAIL, PC_SEEDS, PC_BUDGET = "pc_detail", "pc_seeds", "pc_budget"

# ---- parts of a page hidden until the reveal -------------------------------------------------
SPOIL_METRICS = "metrics"
"""A panel's metrics (numbers that state the answer)."""
SPOIL_FIGURES = "figures"
"""A panel's result figures (curves or bars that show the answer)."""
SPOIL_NOTE = "note"
"""A preset's explanation box."""
SPOIL_RESULTS = "results"
"""A section's results as a whole: figures, metrics, tables and verdict sentences."""
