"""The recorded environment, its fingerprint, the difference lines, and lock-file parsing."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from benchgate.machine import environment
from benchgate.machine.deps import (
    dependency_parity,
    installed_distributions,
    lock_files,
    locked_requirements,
    project_name,
    requirement_pin,
    same_version,
)
from benchgate.machine.environment import capture_environment, diff_environments, fingerprint
from benchgate.machine.sysinfo import cpu_model, governors, hypervisor

CPU = "sys/devices/system/cpu"


def lockfile_requirements(proj: Path) -> dict[str, str | None]:
    """What the project's lock files pin, as capture_environment reads them."""
    return locked_requirements(lock_files(proj), project_name(proj))


CLICK = metadata.version("click")
PSUTIL = metadata.version("psutil")


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def fake_root(tmp_path: Path) -> Path:
    """A 2-core, 4-thread machine with cpufreq and a KVM hypervisor."""
    root = tmp_path / "fs"
    write(root, f"{CPU}/online", "0-3\n")
    for cpu in range(4):
        write(root, f"{CPU}/cpu{cpu}/topology/thread_siblings_list", f"{cpu % 2},{cpu % 2 + 2}\n")
        gov = "performance" if cpu < 2 else "powersave"
        write(root, f"{CPU}/cpu{cpu}/cpufreq/scaling_governor", gov + "\n")
    cpuinfo = "".join(
        f"processor\t: {n}\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
        "flags\t\t: fpu sse2 hypervisor avx2\n\n"
        for n in range(4)
    )
    write(root, "proc/cpuinfo", cpuinfo)
    return root


def project(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    proj = tmp_path / "proj"
    write(proj, "pyproject.toml", '[project]\nname = "My_Proj"\nversion = "1.0"\n')
    for rel, text in (files or {}).items():
        write(proj, rel, text)
    return proj


# --------------------------------------------------------------------------- capture


def test_capture_environment_fields(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    proj = project(tmp_path, {"requirements.txt": f"click=={CLICK}\npsutil\nmy-proj==1.0\n"})
    env = capture_environment(proj, [0, 1], {"PYTHONHASHSEED": "0"}, root=root)
    json.dumps(env)  # JSON-able
    assert env["git"] is None  # not a checkout
    assert env["cpu_model"] == "AMD EPYC 7B13 64-Core Processor"
    assert env["logical_cores"] == 4
    assert env["physical_cores"] == 2
    assert env["cpus"] == [0, 1]
    assert env["governor"] == {"0": "performance", "1": "performance"}
    # Restricted to the requirements' names; the project itself is not a dependency.
    assert env["distributions"] == {"click": CLICK, "psutil": PSUTIL}
    assert env["distributions_from"] == "requirements.txt"
    assert env["env_vars"] == {"PYTHONHASHSEED": "0"}
    assert env["hypervisor"] is True
    assert env["python"] and env["python_implementation"] and env["python_executable"]
    assert env["os"] and env["hostname"]
    assert env["fingerprint"] == fingerprint(env)
    assert len(env["fingerprint"]) == 12
    int(env["fingerprint"], 16)


def test_capture_all_cpus_and_all_installed(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    env = capture_environment(project(tmp_path), None, {}, root=root)
    assert env["cpus"] == "all"
    assert env["governor"] == {
        "0": "performance",
        "1": "performance",
        "2": "powersave",
        "3": "powersave",
    }
    # No lock file: everything installed, less installer tooling.
    assert env["distributions_from"] == "installed"
    assert env["distributions"]["click"] == CLICK
    assert "pip" not in env["distributions"]
    # The doctor's findings for those CPUs, without the load sample.
    doctor = env["doctor"]
    assert {"governor", "smt"} <= set(doctor["warn_names"])
    governor = next(c for c in doctor["checks"] if c["check"] == "governor")
    assert governor["status"] == "warn" and "powersave on CPUs 2-3" in governor["detail"]
    load = next(c for c in doctor["checks"] if c["check"] == "load")
    assert "not sampled" in load["detail"] or "not readable" in load["detail"]


def test_capture_doctor_block_sees_the_bench_env(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    proj = project(tmp_path)
    unset = capture_environment(proj, [0, 1], {}, root=root)["doctor"]
    assert "governor" not in unset["warn_names"]  # CPUs 0-1 run performance
    seeded = capture_environment(proj, [0, 1], {"PYTHONHASHSEED": "0"}, root=root)["doctor"]
    assert "PYTHONHASHSEED" not in seeded["warn_names"]


def test_capture_survives_a_failing_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("broken check")

    monkeypatch.setattr(environment, "run_doctor", boom)
    env = capture_environment(project(tmp_path), [0], {}, root=tmp_path / "nothing")
    assert env["doctor"] is None
    assert env["fingerprint"] == fingerprint(env)


def test_doctor_block_does_not_split_environments(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    proj = project(tmp_path)
    a = capture_environment(proj, [0, 1], {}, root=root)
    b = dict(a, doctor={"ok": 0, "warn": 1, "info": 0, "warn_names": ["turbo"], "checks": []})
    assert a["doctor"] != b["doctor"]
    assert fingerprint(a) == fingerprint(b)
    assert diff_environments(a, b) == []
    assert fingerprint(base_env(doctor=b["doctor"])) == fingerprint(base_env())


def test_capture_on_an_empty_tree(tmp_path: Path) -> None:
    env = capture_environment(project(tmp_path), [0], {}, root=tmp_path / "nothing")
    assert env["cpu_model"] is None
    assert env["governor"] is None
    assert env["physical_cores"] is None
    assert env["logical_cores"] is None
    assert env["hypervisor"] is False
    json.dumps(env)


def test_capture_on_this_machine(tmp_path: Path) -> None:
    env = capture_environment(project(tmp_path), None, {})
    assert env["logical_cores"] and env["logical_cores"] >= 1
    assert env["cpu_model"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_and_dirty_flag(tmp_path: Path) -> None:
    proj = project(tmp_path)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(proj), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "pyproject.toml")
    git("commit", "-q", "-m", "init")
    head = git("rev-parse", "HEAD")
    env = capture_environment(proj, None, {}, root=tmp_path / "nothing")
    assert env["git"] == {"commit": head, "dirty": False}
    write(proj, "untracked.txt", "x")  # untracked files do not count
    assert capture_environment(proj, None, {}, root=tmp_path)["git"]["dirty"] is False
    write(proj, "pyproject.toml", '[project]\nname = "x"\n')
    assert capture_environment(proj, None, {}, root=tmp_path)["git"]["dirty"] is True


# --------------------------------------------------------------------------- fingerprint


def base_env(**over: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": "3.11.7",
        "python_implementation": "CPython",
        "distributions": {"numpy": "2.1.0", "msgspec": "0.18.6"},
        "cpu_model": "AMD EPYC",
        "cpus": [0, 1],
        "hostname": "a",
        "git": {"commit": "abc", "dirty": False},
        "governor": {"0": "performance"},
        "env_vars": {"PYTHONHASHSEED": "0"},
        "os": "Linux",
    }
    env.update(over)
    return env


def test_fingerprint_ignores_what_does_not_matter() -> None:
    a = fingerprint(base_env())
    assert a == fingerprint(base_env())
    assert a == fingerprint(
        base_env(
            hostname="b",
            git={"commit": "def", "dirty": True},
            governor=None,
            os="Linux 6",
            cpus=[1, 0],
            distributions={"msgspec": "0.18.6", "numpy": "2.1.0"},
        )
    )


@pytest.mark.parametrize(
    "change",
    [
        {"python": "3.12.3"},
        {"python_implementation": "PyPy"},
        {"distributions": {"numpy": "2.0.2", "msgspec": "0.18.6"}},
        {"distributions": {"numpy": "2.1.0"}},
        {"cpu_model": "Intel Xeon"},
        {"cpus": [2, 3]},
        {"cpus": "all"},
    ],
)
def test_fingerprint_changes_with_what_matters(change: dict[str, Any]) -> None:
    assert fingerprint(base_env(**change)) != fingerprint(base_env())
    assert diff_environments(base_env(**change), base_env())  # and says why


def test_diff_environments_messages() -> None:
    here = base_env(
        python="3.11.7",
        cpu_model="AMD EPYC",
        cpus=[0, 1],
        distributions={"numpy": "2.1.0", "msgspec": "0.18.6"},
    )
    there = base_env(
        python="3.12.3",
        cpu_model="Intel Xeon",
        cpus=[2, 3],
        distributions={"numpy": "2.0.2", "msgspec": "0.18.6"},
    )
    assert diff_environments(here, there) == [
        "Python 3.11.7 here, 3.12.3 in the baseline",
        "numpy 2.1.0 here, 2.0.2 in the baseline",
        "CPU model AMD EPYC here, Intel Xeon in the baseline",
        "CPUs 0-1 here, 2-3 in the baseline",
    ]
    assert diff_environments(here, there, "now", "then")[0] == "Python 3.11.7 now, 3.12.3 then"


def test_diff_environments_comparable() -> None:
    assert diff_environments(base_env(), base_env(hostname="x", git=None)) == []
    assert (
        diff_environments(
            base_env(), base_env(env_vars={"PYTHONHASHSEED": "0", "PYTHONPATH": "/x"})
        )
        == []
    )


def test_diff_environments_details() -> None:
    assert diff_environments(base_env(python_implementation="PyPy"), base_env()) == [
        "Python 3.11.7 (PyPy) here, 3.11.7 (CPython) in the baseline"
    ]
    assert diff_environments(base_env(distributions={"numpy": "2.1.0"}), base_env()) == [
        "msgspec absent here, 0.18.6 in the baseline"
    ]
    assert diff_environments(base_env(cpus="all"), base_env()) == [
        "CPUs all here, 0-1 in the baseline"
    ]
    assert diff_environments(base_env(env_vars={}), base_env()) == [
        "PYTHONHASHSEED unset here, 0 in the baseline"
    ]


def test_diff_environments_partial_records() -> None:
    # An older or hand-written record lacks fields: only what both record is compared.
    assert diff_environments(base_env(), {"python": "3.11.7"}) == []
    assert diff_environments({}, base_env()) == []
    assert diff_environments(base_env(), {"python": "3.12.1"}) == [
        "Python 3.11.7 here, 3.12.1 in the baseline"
    ]


def test_diff_environments_caps_dependency_lines() -> None:
    many_a = {f"pkg{i:02d}": "1.0" for i in range(20)}
    many_b = {f"pkg{i:02d}": "2.0" for i in range(20)}
    lines = diff_environments(base_env(distributions=many_a), base_env(distributions=many_b))
    assert len(lines) == 9
    assert lines[-1] == "and 12 more dependency differences"


# --------------------------------------------------------------------------- machine bits


def test_cpu_model_variants(tmp_path: Path) -> None:
    write(tmp_path / "a", "proc/cpuinfo", "processor : 0\nBogoMIPS : 50\nCPU part : 0xd0c\n")
    write(
        tmp_path / "b",
        "proc/cpuinfo",
        "Processor\t: AArch64 Processor rev 1 (aarch64)\nprocessor\t: 0\n",
    )
    write(tmp_path / "c", "proc/cpuinfo", "processor : 0\ncpu : POWER9 (raw), altivec\n")
    assert cpu_model(tmp_path / "a") is None
    assert cpu_model(tmp_path / "b") == "AArch64 Processor rev 1 (aarch64)"
    assert cpu_model(tmp_path / "c") == "POWER9 (raw), altivec"
    assert cpu_model(tmp_path / "absent") is None


def test_hypervisor_detection(tmp_path: Path) -> None:
    write(tmp_path / "xen", "sys/hypervisor/type", "xen\n")
    write(tmp_path / "dmi", "sys/class/dmi/id/sys_vendor", "QEMU\n")
    write(tmp_path / "flag", "proc/cpuinfo", "flags : fpu hypervisor\n")
    write(tmp_path / "metal", "proc/cpuinfo", "flags : fpu sse2\n")
    assert hypervisor(tmp_path / "xen") == "xen"
    assert hypervisor(tmp_path / "dmi") == "qemu"
    assert hypervisor(tmp_path / "flag") == "unknown"
    assert hypervisor(tmp_path / "metal") is None


def test_governors_unreadable(tmp_path: Path) -> None:
    (tmp_path / CPU / "cpu0" / "cpufreq" / "scaling_governor").mkdir(parents=True)
    assert governors([0], tmp_path) is None


def test_installed_distributions_subset() -> None:
    found = installed_distributions({"click", "psutil", "surely-not-installed-xyz"})
    assert found == {"click": CLICK, "psutil": PSUTIL}


def test_installed_distributions_read_versions_from_folder_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Parsing every METADATA file is the slow part; ``click-8.1.7.dist-info`` says enough.
    def unreadable(self: Any) -> Any:
        raise RuntimeError("METADATA read")

    monkeypatch.setattr(metadata.PathDistribution, "metadata", property(unreadable))
    assert installed_distributions({"click", "psutil"}) == {"click": CLICK, "psutil": PSUTIL}


# --------------------------------------------------------------------------- lock files


REQUIREMENTS = """\
# comment
click==8.1.7  # pinned
PyYAML[libyaml]==6.0.1 ; python_version >= "3.8"
Foo.Bar_baz==1.2 \\
    --hash=sha256:abc
loose>=1.0
star==1.*
-e .
./local/pkg
https://example.com/pkg.tar.gz
name-at @ https://example.com/x.whl
--index-url https://pypi.org/simple
-r requirements-dev.txt
"""


def test_requirements_txt(tmp_path: Path) -> None:
    proj = project(
        tmp_path,
        {
            "requirements.txt": REQUIREMENTS,
            "requirements-dev.txt": "pytest===8.0.0\n-r requirements.txt\n",
        },
    )
    reqs = lockfile_requirements(proj)
    assert reqs == {
        "click": "8.1.7",
        "foo-bar-baz": "1.2",
        "loose": None,
        "name-at": None,
        "pytest": "8.0.0",
        "pyyaml": "6.0.1",
        "star": None,
    }
    labels = [lock.label for lock in lock_files(proj)]
    assert labels == ["requirements-dev.txt", "requirements.txt"]


UV_LOCK = """\
version = 1
requires-python = ">=3.10"

[[package]]
name = "my-proj"
version = "1.0"
source = { editable = "." }

[[package]]
name = "msgspec"
version = "0.18.6"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "fakenum-xyz"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version < '3.10'"]

[[package]]
name = "fakenum-xyz"
version = "2.1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "workspace-member"
version = "0.1.0"
source = { virtual = "packages/member" }
"""


def test_uv_lock(tmp_path: Path) -> None:
    proj = project(tmp_path, {"uv.lock": UV_LOCK})
    # Locked in two versions (per Python): no single pin.
    assert lockfile_requirements(proj) == {"msgspec": "0.18.6", "fakenum-xyz": None}
    (lock,) = lock_files(proj)
    assert lock.pins["fakenum-xyz"] == {"1.26.4", "2.1.0"}


def test_poetry_lock(tmp_path: Path) -> None:
    text = (
        '[[package]]\nname = "Requests"\nversion = "2.31.0"\ndescription = ""\n'
        'optional = false\npython-versions = ">=3.7"\n\n'
        '[[package]]\nname = "idna"\nversion = "3.6"\n\n'
        '[metadata]\nlock-version = "2.0"\n'
    )
    proj = project(tmp_path, {"poetry.lock": text})
    assert lockfile_requirements(proj) == {"idna": "3.6", "requests": "2.31.0"}


def test_pylock_toml(tmp_path: Path) -> None:
    text = (
        'lock-version = "1.0"\ncreated-by = "pip"\n\n'
        '[[packages]]\nname = "attrs"\nversion = "23.2.0"\n\n'
        '[[packages]]\nname = "from-git"\n[packages.vcs]\ntype = "git"\n'
        'url = "https://example.com/x.git"\ncommit-id = "abc"\n'
    )
    proj = project(
        tmp_path, {"pylock.toml": text, "pylock.dev.toml": text.replace("attrs", "pytest")}
    )
    assert lockfile_requirements(proj) == {"attrs": "23.2.0", "from-git": None, "pytest": "23.2.0"}


def test_pipfile_lock(tmp_path: Path) -> None:
    data = {
        "_meta": {"hash": {}},
        "default": {"requests": {"version": "==2.31.0"}, "gitdep": {"git": "https://x"}},
        "develop": {"pytest": {"version": "==8.0.0"}},
    }
    proj = project(tmp_path, {"Pipfile.lock": json.dumps(data)})
    assert lockfile_requirements(proj) == {
        "gitdep": None,
        "pytest": "8.0.0",
        "requests": "2.31.0",
    }


def test_rye_style_requirements_lock(tmp_path: Path) -> None:
    proj = project(tmp_path, {"requirements-dev.lock": "-e file:.\nclick==8.1.7\n"})
    assert lockfile_requirements(proj) == {"click": "8.1.7"}


def test_precedence_uv_lock_over_requirements(tmp_path: Path) -> None:
    proj = project(tmp_path, {"uv.lock": UV_LOCK, "requirements.txt": "msgspec==0.1\nextra==2\n"})
    reqs = lockfile_requirements(proj)
    assert reqs["msgspec"] == "0.18.6"
    assert reqs["extra"] == "2"


def test_broken_lock_file_is_reported_not_raised(tmp_path: Path) -> None:
    proj = project(tmp_path, {"uv.lock": "[[package]\nname = ", "requirements.txt": "a==1\n"})
    locks = lock_files(proj)
    assert locks[0].label == "uv.lock" and locks[0].error and not locks[0].pins
    assert lockfile_requirements(proj) == {"a": "1"}
    env = capture_environment(proj, None, {}, root=tmp_path / "nothing")
    assert env["distributions_from"] == "requirements.txt"


def test_no_lock_files(tmp_path: Path) -> None:
    assert lock_files(project(tmp_path)) == []
    assert lockfile_requirements(tmp_path / "proj") == {}
    assert dependency_parity(tmp_path / "proj") == []


def test_dependency_parity(tmp_path: Path) -> None:
    uv = UV_LOCK.replace('name = "msgspec"', 'name = "click"').replace('"0.18.6"', f'"{CLICK}"')
    proj = project(
        tmp_path,
        {
            "uv.lock": uv,
            "requirements.txt": (
                f"psutil==0.0.1\nclick=={CLICK}.0\nnot-installed-xyz==1.0\nmy-proj==9\n"
            ),
        },
    )
    # click matches (1.0 == 1.0.0), the missing package and the project itself are not
    # mismatches; psutil is.
    assert dependency_parity(proj) == [f"psutil 0.0.1 in requirements.txt, {PSUTIL} installed"]


def test_dependency_parity_message_form(tmp_path: Path) -> None:
    proj = project(tmp_path, {"uv.lock": UV_LOCK.replace('"msgspec"', '"click"')})
    assert dependency_parity(proj) == [f"click 0.18.6 in uv.lock, {CLICK} installed"]


def test_every_run_records_the_doctor_block(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from benchgate.cli import main

    proj = project(tmp_path)
    write(proj, "tests/bench/a.py", 'import json\nprint(json.dumps({"metrics": {"x": 1.0}}))\n')
    r = CliRunner().invoke(main, ["-C", str(proj), "run"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = proj / "tests" / "reports" / "bench"
    (run,) = json.loads((out / "a.json").read_text())["runs"]
    doctor = run["env"]["doctor"]
    assert isinstance(doctor["warn_names"], list) and isinstance(doctor["checks"], list)
    assert "| Doctor |" in (out / "report.md").read_text()


def test_requirements_are_read_with_markers_and_pep440(tmp_path: Path) -> None:
    """packaging reads the lines: markers evaluated here, versions compared as versions."""
    assert requirement_pin("Foo_Bar[x]==1.0 ; python_version >= '3'") == ("foo-bar", "1.0")
    assert requirement_pin('winonly==2.0; sys_platform == "nonexistent-os"') is None
    assert requirement_pin("ranged>=1,<2") == ("ranged", None)
    assert requirement_pin("wild==1.*") == ("wild", None)
    assert requirement_pin("pkg @ https://example.com/pkg.whl") == ("pkg", None)
    assert requirement_pin("./local/path") is None
    assert same_version("1.0", "1.0.0") and same_version("v2.1", "2.1")
    assert not same_version("1.0", "1.0.1") and same_version("weird-x", "weird-x")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "requirements.txt").write_text(
        'click==8.1.7 --hash=sha256:abc  # pinned\nwinonly==2.0; sys_platform == "nonexistent-os"\n'
    )
    assert lockfile_requirements(proj) == {"click": "8.1.7"}
