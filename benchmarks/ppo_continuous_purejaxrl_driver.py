"""Driver for PureJaxRL's ``purejaxrl/ppo_continuous_action.py``, run by
``benchmarks/ppo_continuous_side_by_side.py`` in PureJaxRL's own venv (jax, flax, optax, distrax,
gymnax: ``../shared/anchors/purejaxrl/requirements.txt``).

    python benchmarks/ppo_continuous_purejaxrl_driver.py UPSTREAM.py CONFIG_JSON --seeds N
        [--width 64]

Imports the upstream file (with its ``wrappers.py`` beside it) unchanged from the path given, and
calls its ``make_train(config)``, ``jax.jit(jax.vmap(train))`` over N seeds. Nothing of the upstream
algorithm is copied here; three names in the imported module are rebound before ``make_train`` runs:

* ``BraxGymnaxWrapper``: upstream builds every environment through brax
  (``BraxGymnaxWrapper(ENV_NAME)``); Pendulum-v1 is not a brax task but gymnax has it, so
  :class:`GymnaxTask` presents gymnax's Pendulum-v1 with the same interface (default
  ``EnvParams`` where upstream passes ``None``). ``wrappers.py`` imports brax and navix at top
  level for its other classes; neither is used here, so when they are not installed the driver
  puts empty stand-in modules in ``sys.modules`` (brax pulls MuJoCo and a jax of its own choosing;
  the pinned stack is the one known to work on this CPU).
* ``ClipAction``: upstream clips to brax's [-1, 1]; here it clips to the task's own bounds,
  [-2, 2] for Pendulum (CleanRL and the toolbox clip to the action space's bounds too).
* ``nn`` (flax.linen as the module sees it): upstream's ``ActorCritic`` has 256-unit hidden layers
  written in; ``--width 64`` (the default) makes its ``nn.Dense(256, ...)`` layers 64 wide, as
  CleanRL's and the toolbox's 64×64 tanh networks; ``--width 256`` runs upstream's size.

Prints one line ``RESULT {json}``: seconds for the imports, the trace+compile, the first execution
and a second execution of the compiled program (and its CPU seconds), and per seed the mean return
of the last ``--last-k`` finished episodes and how many finished.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from functools import partial  # noqa: E402


def _stub_missing(names: tuple[str, ...]) -> list[str]:
    """Empty packages for ``names`` that are not importable (parents first); returns those stubbed.
    The two brax classes ``wrappers.py`` imports by name are placeholders that fail if used."""
    stubbed = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            mod = types.ModuleType(name)
            mod.__path__ = []
            sys.modules[name] = mod
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, mod)
            stubbed.append(name)
    training = sys.modules.get("brax.envs.wrappers.training")
    if "brax.envs.wrappers.training" in stubbed:
        for cls in ("EpisodeWrapper", "AutoResetWrapper"):
            setattr(training, cls, _unavailable("brax.envs.wrappers.training", cls))
    return stubbed


def _unavailable(module: str, attr: str):
    def fail(*_a, **_k):
        raise RuntimeError(f"{module}.{attr} is a stand-in: {module} is not installed")

    return fail


def load_upstream(path: str):
    """Import ``path`` (PureJaxRL's ppo_continuous_action.py) with its directory on sys.path."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    stubbed = _stub_missing(("brax", "brax.envs", "brax.envs.wrappers",
                             "brax.envs.wrappers.training", "navix"))
    spec = importlib.util.spec_from_file_location("purejaxrl_ppo_continuous_action", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, stubbed


class GymnaxTask:
    """gymnax's ``ENV_NAME`` behind the interface upstream expects of ``BraxGymnaxWrapper``."""

    def __init__(self, env_name: str):
        import gymnax

        self._env, self._params = gymnax.make(env_name)

    def _p(self, params):
        return self._params if params is None else params

    def reset(self, key, params=None):
        return self._env.reset(key, self._p(params))

    def step(self, key, state, action, params=None):
        return self._env.step(key, state, action, self._p(params))

    def observation_space(self, params):
        return self._env.observation_space(self._p(params))

    def action_space(self, params):
        return self._env.action_space(self._p(params))


class _Narrowed:
    """flax.linen with ``Dense(256, ...)`` built ``width`` wide; everything else passes through."""

    def __init__(self, linen, width: int):
        self._linen, self._width = linen, width

    def __getattr__(self, name):
        return getattr(self._linen, name)

    def Dense(self, features, *a, **k):  # noqa: N802 (flax's name)
        return self._linen.Dense(self._width if features == 256 else features, *a, **k)


def last_k_returns(ret, done, k: int) -> list[tuple[float, int]]:
    """Per seed: mean of the last ``k`` finished episodes' returns, in time order, and the count.
    ``ret``/``done``: numpy ``[seeds, updates, steps, envs]``."""
    out = []
    for s in range(ret.shape[0]):
        r = ret[s].reshape(-1)[done[s].reshape(-1).astype(bool)]
        out.append((float(r[-k:].mean()) if r.size else float("nan"), int(r.size)))
    return out


def _cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)  # XLA's threads are this process's
    return u.ru_utime + u.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("upstream")
    ap.add_argument("config", help="make_train's config as JSON")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--seed0", type=int, default=1)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--last-k", type=int, default=32)
    args = ap.parse_args()

    import jax
    import numpy as np

    mod, stubbed = load_upstream(args.upstream)
    config = json.loads(args.config)
    probe = GymnaxTask(config["ENV_NAME"])
    space = probe.action_space(None)
    low, high = float(np.min(space.low)), float(np.max(space.high))
    mod.BraxGymnaxWrapper = GymnaxTask
    mod.ClipAction = partial(mod.ClipAction, low=low, high=high)
    if args.width != 256:
        mod.nn = _Narrowed(mod.nn, args.width)
    t_import = time.perf_counter() - T_START

    train = jax.jit(jax.vmap(mod.make_train(config)))
    rngs = jax.random.split(jax.random.PRNGKey(args.seed0), args.seeds)
    t0 = time.perf_counter()
    compiled = train.lower(rngs).compile()
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(rngs))
    t_run1 = time.perf_counter() - t0
    m = out["metrics"]
    q = last_k_returns(np.asarray(m["returned_episode_returns"]),
                       np.asarray(m["returned_episode"]), args.last_k)
    del out
    t0, c0 = time.perf_counter(), _cpu()
    jax.block_until_ready(compiled(rngs))
    t_run2, c_run2 = time.perf_counter() - t0, _cpu() - c0
    print("RESULT " + json.dumps({
        "import": t_import, "compile": t_compile, "run1": t_run1, "run2": t_run2,
        "cpu_run2": c_run2,
        "returns": [r for r, _ in q], "episodes": [n for _, n in q], "stubbed": stubbed,
        "clip": [low, high], "width": args.width, "jax": jax.__version__,
        "num_updates": config["NUM_UPDATES"]}), flush=True)


if __name__ == "__main__":
    main()
