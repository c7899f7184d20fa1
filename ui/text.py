"""User text shown back on a page as plain text: escaped for Markdown, one line, bounded length.

Pure Python (no Streamlit, no torch), so even a page that failed to import its dependencies can
use it to show what went wrong.
"""

from __future__ import annotations

import string

MAX_ECHO = 80
"""Longest user-supplied text (a URL value, a typed entry) shown back on a page, in characters."""

_MARKDOWN_SPECIALS = set(string.punctuation)  # CommonMark: any ASCII punctuation may be escaped
_JOINER = "\u2060"  # WORD JOINER: invisible, and no autolink pattern matches across it
_AUTOLINKS = (("://", ":" + _JOINER + "//"), ("www.", "www" + _JOINER + "."), ("@", "@" + _JOINER))


def plain(text: object, limit: int = MAX_ECHO) -> str:
    """``text`` made safe to put inside Markdown: shown literally, never interpreted.

    Why: a shared link's value is echoed into a warning, and Streamlit renders warnings as
    Markdown — so ``?tau=**x** [link](https://…)`` would show bold text, a clickable link or an
    external image. Every ASCII punctuation character gets a backslash (CommonMark shows an
    escaped character as itself; Streamlit's ``$`` maths and ``:emoji:``/``:red[…]`` directives
    need those characters unescaped), line breaks become spaces, and anything longer than
    ``limit`` characters is cut with ``…`` (a 100 kB value is not echoed whole).

    Escaping is not enough against GFM's autolinks: they are found in the text *after* escapes are
    resolved, so an escaped ``https\\:\\/\\/…`` still became a clickable link. An invisible word
    joiner inside ``://``, ``www.`` and after ``@`` breaks every autolink pattern; the text reads
    the same.
    """
    s = " ".join(str(text).split())
    cut = len(s) > limit
    s = s[:limit]
    for pattern, broken in _AUTOLINKS:
        s = s.replace(pattern, broken)
    out = "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in s)
    return out + ("…" if cut else "")
