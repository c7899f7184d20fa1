"""The Normalization page's panels and its link-carried settings, one row per setting
(``ui.settings.Setting``).

The page, its AppTest and its benchmark take the panel list from here; ``app_pages/normalization/``
builds every widget's initial value, bounds and URL mirror from :data:`SETTINGS`.
"""

from __future__ import annotations

from toolbox.lessons import normalization as N
from toolbox.lessons import shared as K
from ui.settings import Setting, on_off, on_off_text

PANELS = {
    "running": "① Running mean & variance",
    "observations": "② Observations (CartPole)",
    "rewards": "③ Reward scaling",
    "advantages": "④ Minibatch advantages",
    "batchnorm": "⑤ BatchNorm in DIAL's C-Net",
}
"""URL value of the ``panel`` parameter → tab label (the page, its tests and its benchmark use this
one list)."""
# up to 500 × 64 samples: below PyTorch's intra-op
# parallel grain, so a rerun never waits on a thread pool
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64]
MINIBATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
MAX_SEED = 2**31 - 1


def _seed(key: str, url: str) -> Setting:
    return Setting(key, url, 0, int, 0, MAX_SEED)


SETTINGS: dict[str, tuple[Setting, ...]] = {
    "running": (
        Setting(K.NZ_KIND, "kind", "drifting", choices=N.STREAM_KINDS),
        Setting(K.NZ_BATCH, "batch", 16, int, choices=BATCH_SIZES),
        Setting(K.NZ_BATCHES, "batches", 100, int, 10, 500),
        Setting(K.NZ_CLIP, "clip", 10.0, float),
        Setting(K.NZ_EPS, "eps", 1e-8, float),
        _seed(K.NZ_SEED, "seed"),
    ),
    "observations": (
        Setting("nz_obs_envs", "envs", 8, int, 1, 64),
        Setting("nz_obs_steps", "steps", 200, int, 10, 1000),
        Setting("nz_obs_clip", "obs_clip", 10.0, float),
        _seed("nz_obs_seed", "obs_seed"),
    ),
    "rewards": (
        Setting(K.NZ_REW_KIND, "reward", "constant", choices=N.REWARD_KINDS),
        Setting(K.NZ_REW_GAMMA, "gamma", 0.99, float),
        Setting(K.NZ_REW_LEN, "length", 50, int, 1, 500),
        Setting(K.NZ_REW_CLIP, "reward_clip", 10.0, float),
        _seed(K.NZ_REW_SEED, "reward_seed"),
    ),
    "advantages": (
        Setting("nz_adv_mb", "minibatches", 4, int, 1, 4096),
        _seed("nz_adv_seed", "adv_seed"),
    ),
    "batchnorm": (
        Setting("nz_bn_bits", "bits", 1, int, 1, 4),
        Setting("nz_bn_batch", "bn_batch", 32, int, 2, 512),
        Setting("nz_bn_momentum", "momentum", 0.1, float),
        Setting("nz_bn_sigma", "sigma", 2.0, float),
        Setting("nz_bn_dru", "dru", True, on_off, to_url=on_off_text),
    ),
}
"""Panel → its link-carried settings, in the order they appear."""
