"""The readable PPO's lines per detail, read from the source between its markers."""

from __future__ import annotations

import pytest

from toolbox.lessons.ppo.details import DETAILS, card_code
from toolbox.lessons.ppo.source import detail_blocks, detail_lines, reference_source

FIXTURE = '''\
class Trainer:
    def update(self, config):
        # [detail:clip_vloss]
        if config.clip_vloss:
            v_loss = 0.5 * torch.max(a, b).mean()
            # [detail:ent_coef]
            loss = pg_loss - config.ent_coef * entropy_loss
            # [/detail:ent_coef]
        # [/detail:clip_vloss]
        x = 1
        # [detail:clip_vloss]
        clipfrac = 0
        # [/detail:clip_vloss]
'''


def test_blocks_are_dedented_with_markers_removed_and_joined():
    assert detail_lines("clip_vloss", FIXTURE) == (
        "if config.clip_vloss:\n"
        "    v_loss = 0.5 * torch.max(a, b).mean()\n"
        "    loss = pg_loss - config.ent_coef * entropy_loss\n"
        "\n"
        "clipfrac = 0"
    )
    assert detail_lines("ent_coef", FIXTURE) == "loss = pg_loss - config.ent_coef * entropy_loss"
    assert list(detail_blocks(FIXTURE)) == ["ent_coef", "clip_vloss"]


def test_unknown_fields_and_broken_markers_are_value_errors():
    with pytest.raises(ValueError, match="not a PPO setting"):
        detail_lines("clip_everything", FIXTURE)
    with pytest.raises(ValueError, match="marks no lines"):
        detail_lines("gae", FIXTURE)
    with pytest.raises(ValueError, match="never closed"):
        detail_blocks("# [detail:gae]\nx = 1\n")
    with pytest.raises(ValueError, match="never opened"):
        detail_blocks("x = 1\n# [/detail:gae]\n")


def test_every_detail_card_shows_lines_that_are_in_the_reference():
    source = reference_source()
    lines = {line.strip() for line in source.splitlines()}
    for d in DETAILS:
        if d.field == "—":  # the debug variables: no setting, CleanRL's line
            continue
        code = card_code(d)
        assert code.strip() and code == detail_lines(d.field), d.field
        assert "[detail:" not in code and "[/detail:" not in code
        for line in code.splitlines():
            assert line.strip() == "" or line.strip() in lines, (d.field, line)
