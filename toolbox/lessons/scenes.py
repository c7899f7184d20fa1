"""Scenes: the named steps a lecturer walks a class through, one lesson at a time (data only).

A scene sets the page's controls (widget key → value, some computed from the backend), opens one
tab, asks the class to *predict* (multiple choice), hides the parts of the page that give the
answer away, and holds the answer revealed afterwards. The answer is computed at display time
from the backend (:class:`Answer`: its text with the numbers, and the data of the figure that
shows them, drawn inside the scene card by ``toolbox.figures.scenes``). The lesson modules
``toolbox.lessons.<lesson>.scenes`` hold the scenes; ``toolbox.lessons.scenes_index`` collects
them by page slug. ``tests/test_scenes.py`` compares every answer with an independent computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


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
            raise ValueError(
                f"The right answer's index {self.correct} is not an option of {self.prompt!r}."
            )

    @property
    def answer(self) -> str:
        """The right option's text."""
        return self.options[self.correct]


@dataclass(frozen=True)
class Answer:
    """A scene's answer at its settings: the text (Markdown) and the figure that shows its
    numbers."""

    text: str
    figure: str | None = None
    """Name of the evidence builder in ``toolbox.figures.scenes.EVIDENCE``; None: no figure."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """The builder's keyword arguments."""
    numbers: Mapping[str, float] = field(default_factory=dict)
    """The numbers the text states, by name, unrounded (what the tests compare)."""


@dataclass(frozen=True)
class Scene:
    """One step of a lesson."""

    id: str
    """Its ``?scene=`` value: lower case, digits and hyphens."""
    title: str
    text: str
    """What to look at, in a sentence or two (Markdown)."""
    question: Question
    explanation: str | Callable[[Mapping[str, Any]], Answer]
    """Shown once the class has predicted: why the right answer is right, with the page's numbers.

    A function of the scene's widget values, computing the answer from the backend at display
    time (a fixed text only for answers that state no computed number)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Widget key → the value the scene gives it."""
    derived: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    """Further widget values computed from ``settings`` with the backend (e.g. the batch to
    show)."""
    spoilers: tuple[str, ...] = ()
    """Parts of the page (``toolbox.lessons.shared.SPOIL_*``) hidden until the answer is
    revealed."""
    tab: str | None = None
    """The page tab to open (its URL name, e.g. ``"temperature"``); ``None``: the page has no
    tabs."""
    hide_tabs: tuple[str, ...] = ()
    """Tabs (URL names) not relevant to this step: hidden while the scene is shown."""

    def __post_init__(self) -> None:
        if not self.id or any(not (c.islower() or c.isdigit() or c == "-") for c in self.id):
            raise ValueError(f"A scene id is lower case, digits and hyphens: {self.id!r}.")
        if self.tab is not None and self.tab in self.hide_tabs:
            raise ValueError(f"Scene {self.id!r} hides the tab it opens ({self.tab!r}).")

    def widget_values(self) -> dict[str, Any]:
        """Every widget value the scene sets: ``settings``, then what ``derived`` computes from
        them."""
        values = dict(self.settings)
        if self.derived is not None:
            values.update(self.derived(values))
        return values

    def answer(self) -> Answer:
        """The answer at the scene's widget values, computed now (a fixed text is wrapped as is)."""
        if callable(self.explanation):
            return self.explanation(self.widget_values())
        return Answer(self.explanation)


def check_scenes(scenes: tuple[Scene, ...]) -> tuple[Scene, ...]:
    """``scenes`` unchanged after checking their ids are distinct (ValueError otherwise)."""
    ids = [s.id for s in scenes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"Scene ids repeat: {ids}.")
    return scenes
