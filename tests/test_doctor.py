"""benchgate doctor: every check on fake /proc and /sys trees, the summary, and the CLI."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchgate.cli import main
from benchgate.config import Config
from benchgate.machine import doctor as doctor_mod
from benchgate.machine.doctor import (
    NOT_READABLE,
    Check,
    LoadSample,
    check_load,
    check_swap,
    doctor_summary,
    record_summary,
    render_text,
    run_doctor,
)

CPU = "sys/devices/system/cpu"
GOOD_ENV = {"PYTHONHASHSEED": "0", "NUMBA_DISABLE_JIT": "1"}


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def machine(root: Path, cores: int = 2, smt: bool = True, governor: str = "performance") -> Path:
    """A tidy fake machine: performance governor, turbo off, no throttling, plenty of RAM."""
    logical = cores * (2 if smt else 1)
    write(root, f"{CPU}/online", f"0-{logical - 1}")
    write(root, f"{CPU}/smt/control", "on" if smt else "off")
    write(root, f"{CPU}/isolated", "")
    write(root, f"{CPU}/intel_pstate/no_turbo", "1")
    for cpu in range(logical):
        core = cpu % cores
        sibs = f"{core},{core + cores}" if smt else str(cpu)
        write(root, f"{CPU}/cpu{cpu}/topology/thread_siblings_list", sibs)
        write(root, f"{CPU}/cpu{cpu}/topology/physical_package_id", "0")
        write(root, f"{CPU}/cpu{cpu}/cpufreq/scaling_governor", governor)
        write(root, f"{CPU}/cpu{cpu}/cpufreq/scaling_cur_freq", "2100000")
        write(root, f"{CPU}/cpu{cpu}/cpufreq/cpuinfo_max_freq", "3500000")
        write(root, f"{CPU}/cpu{cpu}/cpufreq/scaling_max_freq", "3500000")
        write(root, f"{CPU}/cpu{cpu}/thermal_throttle/core_throttle_count", "0")
        write(root, f"{CPU}/cpu{cpu}/thermal_throttle/package_throttle_count", "0")
    write(root, "proc/cpuinfo", "processor : 0\nmodel name : Test CPU\nflags : fpu sse2\n")
    write(root, "proc/cmdline", "quiet splash")
    write(root, "proc/loadavg", "0.10 0.20 0.30 1/100 42")
    stat = ["cpu 100 0 100 1000 0 0 0 0 0 0"]
    stat += [f"cpu{n} 25 0 25 250 0 0 0 0 0 0" for n in range(logical)]
    write(root, "proc/stat", "\n".join(stat))
    write(
        root,
        "proc/meminfo",
        "MemTotal: 16000000 kB\nMemFree: 8000000 kB\nMemAvailable: 12000000 kB\n"
        "SwapTotal: 0 kB\nSwapFree: 0 kB",
    )
    write(root, "proc/vmstat", "nr_free_pages 1\npswpin 0\npswpout 0")
    return root


def run(root: Path, **kw: Any) -> dict[str, Check]:
    kw.setdefault("env", dict(GOOD_ENV))
    kw.setdefault("environ", {})
    kw.setdefault("sample_s", 0.0)
    checks = run_doctor(root=root, **kw)
    assert len({c.name for c in checks}) == len(checks)
    for c in checks:
        assert c.status in ("ok", "warn", "info")
        assert c.detail
        assert (c.fix is not None) == (c.status == "warn"), c  # every WARN says how to fix
    return {c.name: c for c in checks}


@pytest.fixture(autouse=True)
def no_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide whether numba is 'installed'; default: it is not."""
    monkeypatch.setattr(doctor_mod.importlib.util, "find_spec", lambda name: None)


# --------------------------------------------------------------------------- whole runs


def test_tidy_machine(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs", cores=2, smt=True)
    checks = run(root, cpus=[0, 1])
    assert checks["governor"].status == "ok"
    assert checks["turbo"].status == "ok"
    assert checks["smt"].status == "ok"
    assert checks["thermal"].status == "ok"
    assert checks["memory"].status == "ok"
    assert checks["swap"].status == "ok"
    assert checks["hypervisor"].status == "ok"
    assert checks["PYTHONHASHSEED"].status == "ok"
    assert checks["NUMBA_DISABLE_JIT"].status == "ok"
    assert checks["cpus"].status == "ok"
    assert checks["isolation"].status == "info"
    assert checks["frequency"].detail == "CPUs 0-1: now 2.10 GHz, hardware max 3.50 GHz"
    assert doctor_summary(list(checks.values()))["warn"] == 0


def test_empty_tree_never_fails(tmp_path: Path) -> None:
    """No /proc, no /sys: every system check says INFO, nothing raises."""
    checks = run(tmp_path / "nothing", sample_s=0.02)
    for name in ("governor", "turbo", "frequency", "smt", "isolation", "load", "thermal"):
        assert checks[name].status == "info", checks[name]
        assert NOT_READABLE in checks[name].detail
    for name in ("memory", "swap", "hypervisor"):
        assert checks[name].status == "info"
    assert doctor_summary(list(checks.values()))["warn"] == 0


def test_directories_where_files_are_expected(tmp_path: Path) -> None:
    root = tmp_path / "fs"
    for rel in (
        f"{CPU}/online",
        f"{CPU}/cpu0/cpufreq/scaling_governor",
        f"{CPU}/cpu0/thermal_throttle/core_throttle_count",
        f"{CPU}/intel_pstate/no_turbo",
        f"{CPU}/isolated",
        "proc/stat",
        "proc/meminfo",
        "proc/cmdline",
        "proc/cpuinfo",
    ):
        (root / rel).mkdir(parents=True)
    checks = run(root, cpus=[0], sample_s=0.02)
    for name in ("governor", "turbo", "thermal", "memory", "isolation", "load", "smt"):
        assert checks[name].status == "info", checks[name]


def test_permission_denied_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Running as root, chmod 000 would not stop reads; make every read fail instead."""
    root = machine(tmp_path / "fs")
    real = pathlib.Path.read_text

    def denied(self: Path, *args: Any, **kwargs: Any) -> str:
        if str(self).startswith(str(root)):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", denied)
    checks = run(root, cpus=[0], sample_s=0.02)
    for name in ("governor", "turbo", "frequency", "smt", "isolation", "load", "thermal"):
        assert checks[name].status == "info", checks[name]


# --------------------------------------------------------------------------- one check each


def test_governor_warns_with_fix(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs", governor="powersave")
    write(root, f"{CPU}/cpu1/cpufreq/scaling_governor", "performance")
    gov = run(root, cpus=[0, 1])["governor"]
    assert gov.status == "warn"
    assert gov.detail.startswith("performance on CPU 1; powersave on CPU 0")
    assert gov.fix == "sudo cpupower frequency-set -g performance"


def test_turbo_states(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs")
    write(root, f"{CPU}/intel_pstate/no_turbo", "0")
    turbo = run(root)["turbo"]
    assert turbo.status == "warn"
    assert turbo.fix == "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo"

    (root / CPU / "intel_pstate" / "no_turbo").unlink()
    write(root, f"{CPU}/cpufreq/boost", "1")
    turbo = run(root)["turbo"]
    assert turbo.status == "warn" and "cpufreq/boost" in (turbo.fix or "")
    write(root, f"{CPU}/cpufreq/boost", "0")
    assert run(root)["turbo"].status == "ok"

    (root / CPU / "cpufreq" / "boost").unlink()
    write(root, f"{CPU}/cpu1/cpufreq/boost", "1")  # amd-pstate: per policy
    turbo = run(root, cpus=[1])["turbo"]
    assert turbo.status == "warn" and "CPU 1" in turbo.detail
    assert run(root, cpus=[0])["turbo"].status == "info"


def test_frequency_limited_and_cpuinfo_fallback(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs", smt=False)
    write(root, f"{CPU}/cpu0/cpufreq/scaling_max_freq", "1800000")
    write(root, f"{CPU}/cpu1/cpufreq/scaling_cur_freq", "1200000")
    freq = run(root)["frequency"]
    assert freq.detail == (
        "CPUs 0-1: now 1.20-2.10 GHz, hardware max 3.50 GHz, limited to 1.80 GHz"
    )
    bare = tmp_path / "bare"
    write(bare, "proc/cpuinfo", "processor : 0\ncpu MHz : 2100.000\n")
    assert "2.10 GHz reported by /proc/cpuinfo" in run(bare)["frequency"].detail


def test_smt_siblings_in_chosen_cpus(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs", cores=2, smt=True)  # siblings (0,2) and (1,3)
    smt = run(root, cpus=[0, 1, 2, 3])["smt"]
    assert smt.status == "warn"
    assert "CPUs 0 and 2, 1 and 3 are hyperthreads" in smt.detail
    assert smt.fix == "benchgate run --cpus 0-1"
    assert run(root, cpus=[0, 1])["smt"].status == "ok"


def test_smt_unpinned_suggests_auto(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs", cores=4, smt=True)
    smt = run(root)["smt"]
    assert smt.status == "warn" and smt.detail.startswith("not pinned")
    assert smt.fix == "benchgate run --cpus 1-3"
    assert "auto = 1-3" in run(root)["cpus"].detail


def test_smt_off(tmp_path: Path) -> None:
    smt = run(machine(tmp_path / "fs", cores=4, smt=False))["smt"]
    assert smt.status == "ok" and "(SMT off)" in smt.detail


def test_isolation(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs", cores=4, smt=False)
    write(root, f"{CPU}/isolated", "2-3")
    assert run(root, cpus=[2, 3])["isolation"].status == "ok"
    iso = run(root, cpus=[0, 1])["isolation"]
    assert iso.status == "warn" and iso.fix == "benchgate run --cpus 2-3"
    assert run(root)["isolation"].status == "warn"  # not pinned at all
    # isolcpus on the kernel command line, with flags before the list.
    write(root, f"{CPU}/isolated", "")
    write(root, "proc/cmdline", "ro isolcpus=domain,managed_irq,3 quiet")
    assert run(root, cpus=[3])["isolation"].status == "ok"
    write(root, "proc/cmdline", "ro quiet")
    write(root, f"{CPU}/nohz_full", "1")
    assert run(root, cpus=[1])["isolation"].status == "ok"


def test_thermal_throttling(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs")
    write(root, f"{CPU}/cpu1/thermal_throttle/core_throttle_count", "15")
    write(root, f"{CPU}/cpu1/thermal_throttle/package_throttle_count", "3")
    th = run(root, cpus=[0, 1])["thermal"]
    assert th.status == "warn"
    assert "cpu1 15 times" in th.detail and "package 3 times" in th.detail
    assert "throttle_count" in (th.fix or "")
    assert run(root, cpus=[0])["thermal"].status == "ok"  # only the chosen CPUs count


def test_hypervisor(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs")
    write(root, "proc/cpuinfo", "model name : X\nflags : fpu hypervisor\n")
    hv = run(root)["hypervisor"]
    assert hv.status == "info" and "running under a hypervisor" in hv.detail
    write(root, "sys/hypervisor/type", "xen")
    assert "(xen)" in run(root)["hypervisor"].detail


def test_memory_low(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs")
    write(
        root,
        "proc/meminfo",
        "MemTotal: 16000000 kB\nMemAvailable: 800000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB",
    )
    mem = run(root)["memory"]
    assert mem.status == "warn" and "781 MiB available of 15.3 GiB" in mem.detail


def test_swap(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs")
    write(
        root,
        "proc/meminfo",
        "MemTotal: 16000000 kB\nMemAvailable: 9000000 kB\n"
        "SwapTotal: 2097152 kB\nSwapFree: 1048576 kB",
    )
    checks = run(root)
    assert checks["swap"].status == "info" and "1.0 GiB of 2.0 GiB swap in use" in (
        checks["swap"].detail
    )
    ctx_checks = run_doctor(root=root, env=GOOD_ENV, environ={}, sample_s=0.0)
    assert ctx_checks  # and swapping during the sample warns:
    ctx = doctor_mod._Context(root, None, [0], {}, {}, None, 0.25, 0.5)
    busy = LoadSample(0.0, 0.0, 0.1, [], 120, 0.5)
    swap = check_swap(ctx, busy)
    assert swap.status == "warn" and "120 pages" in swap.detail


def test_load(tmp_path: Path) -> None:
    ctx = doctor_mod._Context(tmp_path, [1], [1], {}, {}, None, 0.25, 0.5)
    quiet = check_load(ctx, LoadSample(0.05, 0.0, 0.3, [], 0, 0.5))
    assert quiet.status == "ok"
    assert quiet.detail == (
        "other processes took 5% of CPU 1 over 0.5 s (limit 25%); load average 0.30"
    )
    busy = check_load(ctx, LoadSample(0.6, 0.1, 1.9, [("chrome", 4242, 95.0)], 0, 0.5))
    assert busy.status == "warn"
    assert "top: chrome (pid 4242) 95%" in busy.detail and "steal 10%" in busy.detail
    assert busy.fix and "kill -STOP 4242" in busy.fix and "kill -CONT 4242" in busy.fix
    assert check_load(ctx, LoadSample(0.6, None, None, [], None, 0.5)).fix
    unsampled = check_load(ctx, LoadSample(None, None, 0.3, [], None, 0.0))
    assert unsampled.status == "info" and "not sampled" in unsampled.detail


def test_load_limit_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def fake_sample(cpus: Any, seconds: float, limit: float, root: Path) -> LoadSample:
        seen.append(limit)
        return LoadSample(0.3, 0.0, 1.0, [], 0, seconds)

    monkeypatch.setattr(doctor_mod, "sample_load", fake_sample)
    cfg = Config(root=tmp_path, disturbed_share=0.4)
    assert run(tmp_path, config=cfg)["load"].status == "ok"
    assert run(tmp_path, config=cfg, load_limit=0.2)["load"].status == "warn"
    assert seen == [0.4, 0.2]


def test_real_load_sample_on_fake_stat(tmp_path: Path) -> None:
    root = machine(tmp_path / "fs")
    load = run(root, cpus=[0], sample_s=0.05)["load"]
    # The fake /proc/stat never moves: nobody else ran.
    assert load.status == "ok" and load.detail.startswith("other processes took 0% of CPU 0")


# --------------------------------------------------------------------------- env vars


def test_hashseed_config_env_overrides_shell(tmp_path: Path) -> None:
    root = tmp_path
    ok = run(root, env={"PYTHONHASHSEED": "0"}, environ={"PYTHONHASHSEED": "random"})
    assert ok["PYTHONHASHSEED"].status == "ok"
    assert "[tool.benchgate]" in ok["PYTHONHASHSEED"].detail
    shell = run(root, env={}, environ={"PYTHONHASHSEED": "123"})["PYTHONHASHSEED"]
    assert shell.status == "ok" and "shell" in shell.detail
    for environ in ({}, {"PYTHONHASHSEED": "random"}, {"PYTHONHASHSEED": "abc"}):
        hs = run(root, env={}, environ=environ)["PYTHONHASHSEED"]
        assert hs.status == "warn" and "PYTHONHASHSEED=0" in (hs.fix or "")


def test_numba(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(tmp_path, env={"NUMBA_DISABLE_JIT": "1"})["NUMBA_DISABLE_JIT"].status == "ok"
    absent = run(tmp_path, env={})["NUMBA_DISABLE_JIT"]
    assert absent.status == "info" and "not installed" in absent.detail
    monkeypatch.setattr(doctor_mod.importlib.util, "find_spec", lambda name: object())
    nb = run(tmp_path, env={})["NUMBA_DISABLE_JIT"]
    assert nb.status == "warn" and "NUMBA_DISABLE_JIT=1" in (nb.fix or "")
    assert run(tmp_path, env={"NUMBA_DISABLE_JIT": "0"})["NUMBA_DISABLE_JIT"].status == "info"


def test_config_env_is_used(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path, env={"PYTHONHASHSEED": "7"})
    checks = {c.name: c for c in run_doctor(cfg, root=tmp_path, environ={}, sample_s=0)}
    assert checks["PYTHONHASHSEED"].detail.startswith("7 ")


# --------------------------------------------------------------------------- dependencies


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text('[project]\nname = "proj"\n')
    for rel, text in files.items():
        (proj / rel).write_text(text)
    return proj


def test_dependencies(tmp_path: Path) -> None:
    from importlib import metadata

    click_v = metadata.version("click")
    assert run(tmp_path)["dependencies"].status == "info"  # no project
    none = run(tmp_path, project_root=_project(tmp_path / "a", {}))["dependencies"]
    assert none.status == "info" and "no lock" in none.detail
    good = _project(tmp_path / "b", {"requirements.txt": f"click=={click_v}\n"})
    dep = run(tmp_path, project_root=good)["dependencies"]
    assert dep.status == "ok" and "1 pinned packages" in dep.detail
    lock = '[[package]]\nname = "click"\nversion = "0.0.1"\n'
    bad = _project(tmp_path / "c", {"uv.lock": lock})
    dep = run(tmp_path, project_root=bad)["dependencies"]
    assert dep.status == "warn"
    assert dep.detail.startswith(f"click 0.0.1 in uv.lock, {click_v} installed")
    assert dep.fix == "uv sync"
    req = _project(tmp_path / "d", {"requirements-ci.txt": "click==0.0.1\n"})
    assert run(tmp_path, project_root=req)["dependencies"].fix == (
        "pip install -r requirements-ci.txt"
    )
    broken = _project(tmp_path / "e", {"poetry.lock": "[[package"})
    dep = run(tmp_path, project_root=broken)["dependencies"]
    assert dep.status == "info" and "poetry.lock: not parseable" in dep.detail


def test_python_version_file(tmp_path: Path) -> None:
    import platform

    proj = _project(tmp_path, {".python-version": platform.python_version() + "\n"})
    assert run(tmp_path, project_root=proj)["python"].status == "ok"
    major_minor = ".".join(platform.python_version().split(".")[:2])
    (proj / ".python-version").write_text(major_minor + "\n")
    assert run(tmp_path, project_root=proj)["python"].status == "ok"
    (proj / ".python-version").write_text("2.7\n")
    py = run(tmp_path, project_root=proj)["python"]
    assert py.status == "warn" and "2.7" in py.detail and "--python 2.7" in (py.fix or "")
    (proj / ".python-version").write_text("pypy3.10\n")  # not a plain version: just say which
    assert run(tmp_path, project_root=proj)["python"].status == "info"


# --------------------------------------------------------------------------- summary, render


def test_summary_and_render() -> None:
    checks = [
        Check(
            "governor", "warn", "powersave on CPU 0", "sudo cpupower frequency-set -g performance"
        ),
        Check("smt", "ok", "no siblings"),
        Check("thermal", "info", "not readable here"),
    ]
    assert doctor_summary(checks) == {"ok": 1, "warn": 1, "info": 1, "warn_names": ["governor"]}
    text = render_text(checks)
    assert text.splitlines() == [
        "WARN  governor  powersave on CPU 0",
        "                fix: sudo cpupower frequency-set -g performance",
        "OK    smt       no siblings",
        "INFO  thermal   not readable here",
        "1 ok, 1 warn, 1 info",
    ]
    assert checks[0].to_dict() == {
        "name": "governor",
        "status": "warn",
        "detail": "powersave on CPU 0",
        "fix": "sudo cpupower frequency-set -g performance",
    }


def test_record_summary_keeps_what_is_not_ok_in_short() -> None:
    long = "x" * (doctor_mod.RECORD_DETAIL_CHARS + 50)
    checks = [
        Check(
            "governor", "warn", "powersave on CPU 0", "sudo cpupower frequency-set -g performance"
        ),
        Check("smt", "ok", "no siblings"),
        Check("dependencies", "info", long),
    ]
    block = record_summary(checks)
    json.dumps(block)
    assert block["warn_names"] == ["governor"] and block["ok"] == 1  # doctor_summary's fields
    assert block["checks"][0] == {
        "check": "governor",
        "status": "warn",
        "detail": "powersave on CPU 0",
    }
    assert [c["check"] for c in block["checks"]] == ["governor", "dependencies"]
    cut = block["checks"][1]["detail"]
    assert len(cut) == doctor_mod.RECORD_DETAIL_CHARS and cut.endswith("...")


def test_this_machine() -> None:
    checks = run_doctor(sample_s=0.05)
    assert [c.name for c in checks][:2] == ["python", "cpus"]
    for c in checks:
        assert c.status in ("ok", "warn", "info") and c.detail
        assert c.status != "warn" or c.fix


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[Check]], list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def install(checks: list[Check]) -> list[dict[str, Any]]:
        def fake_run(config: Any = None, **kw: Any) -> list[Check]:
            calls.append({"config": config, **kw})
            return checks

        monkeypatch.setattr(doctor_mod, "run_doctor", fake_run)
        return calls

    return install


def test_cli_exit_codes(project: Path, fake_checks: Callable[..., Any]) -> None:
    calls = fake_checks([Check("smt", "ok", "fine"), Check("thermal", "info", "n/a")])
    res = CliRunner().invoke(main, ["-C", str(project), "doctor", "--sample", "0"])
    assert res.exit_code == 0, res.output
    assert "OK    smt" in res.output and "1 ok, 0 warn, 1 info" in res.output
    assert calls[-1]["sample_s"] == 0 and calls[-1]["cpus"] is None
    fake_checks(
        [Check("governor", "warn", "powersave", "sudo cpupower frequency-set -g performance")]
    )
    res = CliRunner().invoke(main, ["-C", str(project), "doctor"])
    assert res.exit_code == 1
    assert "fix: sudo cpupower frequency-set -g performance" in res.output


def test_cli_json(project: Path, fake_checks: Callable[..., Any]) -> None:
    calls = fake_checks([Check("governor", "warn", "powersave", "fix it")])
    res = CliRunner().invoke(
        main,
        ["-C", str(project), "doctor", "--format", "json", "--cpus", "0", "--load-limit", "0.4"],
    )
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["checks"] == [
        {"name": "governor", "status": "warn", "detail": "powersave", "fix": "fix it"}
    ]
    assert data["summary"] == {"ok": 0, "warn": 1, "info": 0, "warn_names": ["governor"]}
    assert calls[-1]["cpus"] == [0] and calls[-1]["load_limit"] == 0.4


def test_cli_cpus_from_config(project: Path, fake_checks: Callable[..., Any]) -> None:
    calls = fake_checks([Check("smt", "ok", "fine")])
    with (project / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.benchgate]\ncpus = "0"\n')
    assert CliRunner().invoke(main, ["-C", str(project), "doctor"]).exit_code == 0
    assert calls[-1]["cpus"] == [0]


def test_cli_bad_cpus(project: Path) -> None:
    res = CliRunner().invoke(main, ["-C", str(project), "doctor", "--cpus", "99999"])
    assert res.exit_code == 2
    assert "--cpus: CPU 99999 does not exist here" in res.output


def test_cli_real_run(project: Path) -> None:
    res = CliRunner().invoke(
        main, ["-C", str(project), "doctor", "--sample", "0", "--format", "json"]
    )
    data = json.loads(res.output)
    assert res.exit_code == (1 if data["summary"]["warn"] else 0)
    assert {c["name"] for c in data["checks"]} >= {"governor", "smt", "load", "dependencies"}


def test_cli_help_has_example() -> None:
    res = CliRunner().invoke(main, ["doctor", "--help"])
    assert res.exit_code == 0 and "benchgate doctor --cpus auto" in res.output
