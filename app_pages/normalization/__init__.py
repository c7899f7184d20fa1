"""The Normalization lesson's five panels (Streamlit widgets and layout only), one module each.

``app_pages/normalization/page.py`` is the page; it calls one ``*_panel`` function per tab. The
panels live in imported modules so that Streamlit compiles them once per process: a page script is
re-parsed (and its ``st.cache_data`` decorators re-created) on every rerun, which for a page this
size costs tens of milliseconds of the 100 ms budget. Each panel module holds its cached backend
calls (keyed on every input); every number comes from ``toolbox.lessons.normalization``, every
figure from ``toolbox.figures.normalization``; ``widgets`` ties the widgets to the link.
"""

from __future__ import annotations

from app_pages.normalization.advantages import advantages_panel
from app_pages.normalization.batchnorm import batchnorm_panel
from app_pages.normalization.observations import observations_panel
from app_pages.normalization.rewards import rewards_panel
from app_pages.normalization.running import running_panel

__all__ = [
    "advantages_panel",
    "batchnorm_panel",
    "observations_panel",
    "rewards_panel",
    "running_panel",
]
