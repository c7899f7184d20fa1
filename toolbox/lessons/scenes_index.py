"""Every lesson's scenes by page slug, and lookups over them (data only, no Streamlit)."""

from __future__ import annotations

from toolbox.lessons.dial.scenes import DIAL_SCENES
from toolbox.lessons.gumbel.scenes import GUMBEL_SCENES
from toolbox.lessons.influence.scenes import INFLUENCE_SCENES
from toolbox.lessons.normalization.scenes import NORMALIZATION_SCENES
from toolbox.lessons.ppo.scenes import PPO_SCENES
from toolbox.lessons.ppo_continuous.scenes import PPO_CONTINUOUS_SCENES
from toolbox.lessons.scenes import Scene, check_scenes

SCENES: dict[str, tuple[Scene, ...]] = {
    "normalization": check_scenes(NORMALIZATION_SCENES),
    "gumbel_softmax": check_scenes(GUMBEL_SCENES),
    "social_influence": check_scenes(INFLUENCE_SCENES),
    "dial": check_scenes(DIAL_SCENES),
    "ppo_details": check_scenes(PPO_SCENES),
    "ppo_continuous": check_scenes(PPO_CONTINUOUS_SCENES),
}
"""Page slug (``toolbox.lessons.catalogue.Lesson.slug``) → its scenes, in teaching order."""


def lesson_scenes(slug: str) -> tuple[Scene, ...]:
    """The scenes of the lesson ``slug`` (ValueError for a lesson with none)."""
    if slug not in SCENES:
        raise ValueError(
            f"No scenes for the lesson {slug!r}; lessons with scenes: {', '.join(SCENES)}.")
    return SCENES[slug]


def scene_ids(slug: str) -> tuple[str, ...]:
    """The ``?scene=`` values of a lesson, in order."""
    return tuple(s.id for s in lesson_scenes(slug))


def find_scene(slug: str, scene_id: str) -> Scene:
    """The scene ``scene_id`` of lesson ``slug`` (ValueError naming the valid ids otherwise)."""
    for s in lesson_scenes(slug):
        if s.id == scene_id:
            return s
    raise ValueError(
        f"There is no scene {scene_id!r} in this lesson; "
        f"choose one of {', '.join(scene_ids(slug))}.")


def neighbour(slug: str, scene_id: str | None, step: int) -> str:
    """The id ``step`` places after ``scene_id`` (before, for a negative step), clamped to the ends.

    ``scene_id=None`` (no scene chosen yet): a forward step gives the first scene.
    """
    ids = scene_ids(slug)
    if scene_id is None:
        return ids[0]
    k = ids.index(find_scene(slug, scene_id).id)
    return ids[min(max(k + step, 0), len(ids) - 1)]
