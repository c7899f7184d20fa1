"""What every Normalization panel does with its settings: the link's values in, the URL mirrored.

Every setting that a link can carry is one row of ``app_pages.normalization.settings.SETTINGS``
(``ui.settings.Setting``: widget key, URL parameter, default, bounds): the row gives the widget
its initial value from the link, its bounds or options, and mirrors its value back into the URL.
"""

from __future__ import annotations

from app_pages.normalization.settings import SETTINGS
from ui.common import page_device
from ui.settings import init_settings, mirror_settings

_BY_KEY = {s.key: s for settings in SETTINGS.values() for s in settings}


def init_panel(panel: str) -> None:
    """Give the widgets of ``panel`` their initial values from the link (once per session)."""
    init_settings(SETTINGS[panel])


def mirror_panel(panel: str) -> None:
    """Write the current values of ``panel``'s widgets back into the URL."""
    mirror_settings(SETTINGS[panel])


def widget(key: str) -> dict:
    """``key=`` and the bounds or options of the setting ``key`` (see "
    "``ui.settings.Setting.widget``)."""
    return _BY_KEY[key].widget()


def device_key() -> str:
    """The page's device as a string (a cache key)."""
    return str(page_device())
