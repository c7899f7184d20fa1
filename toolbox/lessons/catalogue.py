"""The catalogue of lessons: metadata shared by the navigation (app.py) and the home page.

Every lesson listed has its page (``Lesson.page_path``; tests/test_pages.py checks that the file
exists), so the navigation and the home page link them all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    slug: str
    """URL path of the page (``/gumbel_softmax``) and the page file's stem."""
    title: str
    icon: str
    promise: str
    """One line: what a student can do on the page."""
    papers: str
    """The references the page is built on."""

    @property
    def page_path(self) -> str:
        return f"app_pages/{self.slug}/page.py"


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "normalization", "Normalization", ":material/straighten:",
        "Watch running statistics converge, and see observations, rewards and advantages "
        "brought to a trainable scale.",
        "Gymnasium wrappers; Huang et al. 2022; Ioffe & Szegedy 2015; Ba et al. 2016",
    ),
    Lesson(
        "gumbel_softmax", "Gumbel-Softmax", ":material/casino:",
        "Sample categories with Gumbel noise, turn the temperature, and compare gradient "
        "estimators live.",
        "Gumbel 1954; Jang et al. 2017; Maddison et al. 2017",
    ),
    Lesson(
        "social_influence", "Social influence", ":material/handshake:",
        "Edit two policies and watch the counterfactual KL influence reward respond; "
        "then design a signalling scheme.",
        "Jaques et al. 2019; Kamenica & Gentzkow 2011; Lin et al. 2023",
    ),
    Lesson(
        "dial", "DIAL", ":material/lightbulb:",
        "Train agents to invent a 1-bit protocol for the Switch Riddle, and decode what "
        "they learned to say.",
        "Foerster et al. 2016",
    ),
    Lesson(
        "ppo_details", "PPO implementation details", ":material/build:",
        "Toggle each of PPO's implementation details and watch ablations over seeds learn "
        "CartPole side by side.",
        "Schulman et al. 2017; Huang et al. 2022; CleanRL",
    ),
    Lesson(
        "ppo_continuous", "PPO on continuous control", ":material/sports_gymnastics:",
        "Switch off each continuous-action detail of PPO on Pendulum and see which ones the "
        "learning curves cannot do without.",
        "Huang et al. 2022; Andrychowicz et al. 2021; CleanRL",
    ),
)
