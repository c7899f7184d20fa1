import os

import pytest
import torch

from toolbox.device import ENV_VAR, default_device, device_label, resolve_device, torch_threads


def test_cpu_and_auto(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_device().type == expected


def test_env_override(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert default_device() == torch.device("cpu")
    assert device_label().startswith("CPU")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "tpu", "cpu0"])
def test_invalid_override_is_clear(monkeypatch, bad):
    monkeypatch.setenv(ENV_VAR, bad)
    with pytest.raises(ValueError, match=ENV_VAR):
        default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has CUDA")
def test_cuda_requested_without_cuda(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cuda")
    with pytest.raises(ValueError, match="no usable CUDA"):
        default_device()


def _cgroup(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path)


def test_cgroup_v2_quota_limits_cpus_and_training_slots(tmp_path):
    from toolbox.device import available_cpus, cgroup_cpu_limit, training_slots

    root = _cgroup(tmp_path, {"cpu.max": "150000 100000\n"})  # docker run --cpus 1.5
    assert cgroup_cpu_limit(root) == 1.5
    assert available_cpus(root) == min(2, len(os.sched_getaffinity(0)))
    assert training_slots(env={}, cgroup_root=root) == max(1, available_cpus(root) // 2)
    root4 = _cgroup(tmp_path / "four", {"cpu.max": "400000 100000"})
    assert available_cpus(root4) == min(4, len(os.sched_getaffinity(0)))


def test_cgroup_without_quota_uses_the_cores_this_process_may_run_on(tmp_path):
    from toolbox.device import available_cpus, cgroup_cpu_limit

    v2 = _cgroup(tmp_path / "v2", {"cpu.max": "max 100000"})
    v1 = _cgroup(tmp_path / "v1", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"})
    none = str(tmp_path / "missing")
    for root in (v2, v1, none):
        assert cgroup_cpu_limit(root) is None
        assert available_cpus(root) == len(os.sched_getaffinity(0))


def test_cgroup_v1_quota_and_the_environment_override(tmp_path):
    from toolbox.device import cgroup_cpu_limit, training_slots

    v1 = _cgroup(tmp_path, {"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"})
    assert cgroup_cpu_limit(v1) == 0.5
    assert training_slots(env={}, cgroup_root=v1) == 1  # half a CPU still runs one training
    assert training_slots(env={"RL_TOOLBOX_MAX_TRAININGS": "3"}, cgroup_root=v1) == 3
    assert training_slots(env={"RL_TOOLBOX_MAX_TRAININGS": "zero"}, cgroup_root=v1) == 1


def test_torch_threads_sets_the_count_inside_and_restores_it():
    before = torch.get_num_threads()
    with torch_threads(before + 1) as inside:
        assert inside == torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with torch_threads(None) as inside:
        assert inside == before
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="num_threads must be a positive whole number"):
            with torch_threads(bad, "num_threads"):
                pass
    assert torch.get_num_threads() == before
