"""Scenes: the named steps a lecturer walks a class through, one lesson at a time (data only).

A scene sets the page's controls (widget key → value), opens one tab, asks the class to
*predict* (multiple choice) and holds the answer revealed afterwards. The lesson modules
``toolbox.lessons.scenes_<lesson>`` hold the scenes; :data:`SCENES` collects them by page slug.
Every number an answer states is recomputed by ``tests/test_scenes.py`` with the toolbox
function the page shows it with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Question:
    """A multiple-choice prediction: ``options[correct]`` is the right one."""

    prompt: str
    options: tuple[str, ...]
    correct: int
    """Index of the right option in ``options``."""

    def __post_init__(self) -> None:
        if len(self.options) < 2 or len(set(self.options)) != len(self.options):
            raise ValueError(f"A question needs at least two distinct options: {self.prompt!r}.")
        if not 0 <= self.correct < len(self.options):
            raise ValueError(f"The right answer's index {self.correct} is not an option of {self.prompt!r}.")

    @property
    def answer(self) -> str:
        """The right option's text."""
        return self.options[self.correct]


@dataclass(frozen=True)
class Scene:
    """One step of a lesson."""

    id: str
    """Its ``?scene=`` value: lower case, digits and hyphens."""
    title: str
    text: str
    """What to look at, in a sentence or two (Markdown)."""
    question: Question
    explanation: str
    """Shown once the class has predicted: why the right answer is right, with the page's numbers."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Widget key → the value the scene gives it."""
    tab: str | None = None
    """The page tab to open (its URL name, e.g. ``"temperature"``); ``None``: the page has no tabs."""
    hide_tabs: tuple[str, ...] = ()
    """Tabs (URL names) not relevant to this step: hidden while the scene is shown."""

    def __post_init__(self) -> None:
        if not self.id or any(not (c.islower() or c.isdigit() or c == "-") for c in self.id):
            raise ValueError(f"A scene id is lower case, digits and hyphens: {self.id!r}.")
        if self.tab is not None and self.tab in self.hide_tabs:
            raise ValueError(f"Scene {self.id!r} hides the tab it opens ({self.tab!r}).")


def check_scenes(scenes: tuple[Scene, ...]) -> tuple[Scene, ...]:
    """``scenes`` unchanged after checking their ids are distinct (ValueError otherwise)."""
    ids = [s.id for s in scenes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"Scene ids repeat: {ids}.")
    return scenes
