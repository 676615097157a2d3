"""CPU lists, topology and pinning, on fake sysfs trees and (lightly) on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgate.errors import BenchgateError
from benchgate.machine.cpus import (
    auto_cpus,
    available_cpus,
    core_groups,
    format_cpus,
    one_per_core,
    online_cpus,
    parse_cpu_list,
    parse_cpus,
    physical_cores,
    smt_siblings,
)

CPU = "sys/devices/system/cpu"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def machine(
    root: Path,
    cores: int,
    smt: bool,
    packages: int = 1,
    adjacent: bool = False,
    files: tuple[str, ...] = ("thread_siblings_list", "core_cpus_list"),
) -> Path:
    """A fake sysfs CPU tree: ``cores`` physical cores per package, 2 threads each if ``smt``.

    Siblings are numbered Linux-style (core i's twin is i + all cores) unless ``adjacent``.
    """
    total_cores = cores * packages
    logical = total_cores * (2 if smt else 1)
    write(root, f"{CPU}/online", f"0-{logical - 1}")
    for cpu in range(logical):
        if smt and adjacent:
            core, sibs = cpu // 2, [cpu - cpu % 2, cpu - cpu % 2 + 1]
        elif smt:
            core = cpu % total_cores
            sibs = [core, core + total_cores]
        else:
            core, sibs = cpu, [cpu]
        topo = f"{CPU}/cpu{cpu}/topology"
        for name in files:
            write(root, f"{topo}/{name}", format_cpus(sibs))
        write(root, f"{topo}/physical_package_id", str(core // cores))
    return root


# --------------------------------------------------------------------------- lists


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", [0]),
        ("0-3", [0, 1, 2, 3]),
        ("2,4", [2, 4]),
        ("0-1,4", [0, 1, 4]),
        (" 3, 1,1 ", [1, 3]),
        ("", []),
        ("0-2,1-3", [0, 1, 2, 3]),
    ],
)
def test_parse_cpu_list(text: str, expected: list[int]) -> None:
    assert parse_cpu_list(text) == expected


@pytest.mark.parametrize("text", ["a", "3-1", "1-", "-1", "0,,x", "1.5", "0-3-4"])
def test_parse_cpu_list_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpu_list(text)


@pytest.mark.parametrize(
    "cpus, text",
    [([0, 1, 2, 3, 6], "0-3,6"), ([1], "1"), ([0, 1], "0-1"), ([5, 3, 4, 4], "3-5"), ([], "")],
)
def test_format_cpus(cpus: list[int], text: str) -> None:
    assert format_cpus(cpus) == text
    assert parse_cpu_list(text) == sorted(set(cpus))


# --------------------------------------------------------------------------- parse_cpus


def test_parse_cpus_none_means_no_pinning(tmp_path: Path) -> None:
    assert parse_cpus(None, tmp_path) is None
    assert parse_cpus("", tmp_path) is None
    assert parse_cpus("  ", tmp_path) is None


@pytest.mark.parametrize(
    "spec, expected", [("0-3", [0, 1, 2, 3]), ("2,4", [2, 4]), ("0-1,4", [0, 1, 4]), ("7", [7])]
)
def test_parse_cpus_lists(tmp_path: Path, spec: str, expected: list[int]) -> None:
    root = machine(tmp_path, cores=8, smt=False)
    assert parse_cpus(spec, root) == expected


def test_parse_cpus_unknown_cpu(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=2, smt=False)
    with pytest.raises(BenchgateError) as exc:
        parse_cpus("7", root)
    assert str(exc.value) == "--cpus: CPU 7 does not exist here (online: 0-1)"
    assert exc.value.key == "--cpus"
    with pytest.raises(BenchgateError, match=r"CPUs 4-5 do not exist here \(online: 0-3\)"):
        parse_cpus("0,4-5", machine(tmp_path / "b", cores=4, smt=False))


@pytest.mark.parametrize("spec", ["x", "3-1", "0,a", "1;2", "-2"])
def test_parse_cpus_malformed(tmp_path: Path, spec: str) -> None:
    root = machine(tmp_path, cores=4, smt=False)
    with pytest.raises(BenchgateError) as exc:
        parse_cpus(spec, root)
    assert exc.value.key == "--cpus"
    assert "auto" in str(exc.value)  # says what is expected


def test_parse_cpus_names_no_cpu(tmp_path: Path) -> None:
    with pytest.raises(BenchgateError, match="names no CPU"):
        parse_cpus(",", machine(tmp_path, cores=2, smt=False))


def test_parse_cpus_auto(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=4, smt=True)
    assert parse_cpus("auto", root) == [1, 2, 3]
    assert parse_cpus("AUTO", root) == [1, 2, 3]


def test_parse_cpus_without_online_file_cannot_validate(tmp_path: Path) -> None:
    # A fake tree without the file: nothing to check against, the list is taken as given.
    assert parse_cpus("5", tmp_path) == [5]
    # Unreadable (a directory where the file should be) behaves the same.
    (tmp_path / CPU / "online").mkdir(parents=True)
    assert online_cpus(tmp_path) == []
    assert parse_cpus("0-1", tmp_path) == [0, 1]


def test_parse_cpus_respects_cgroup_cpuset(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=4, smt=False)
    write(root, "proc/self/cgroup", "0::/box")
    write(root, "sys/fs/cgroup/box/cpuset.cpus.effective", "0-1")
    assert available_cpus(root) == [0, 1]
    assert parse_cpus("1", root) == [1]
    with pytest.raises(BenchgateError, match=r"CPU 3 is not available to this process"):
        parse_cpus("3", root)
    assert auto_cpus(root) == [0, 1]


def test_cgroup_v1_cpuset(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=4, smt=False)
    write(root, "proc/self/cgroup", "4:memory:/x\n3:cpuset:/docker/abc\n0::/")
    write(root, "sys/fs/cgroup/cpuset/docker/abc/cpuset.effective_cpus", "2-3")
    assert available_cpus(root) == [2, 3]


# --------------------------------------------------------------------------- auto / topology


@pytest.mark.parametrize(
    "cores, smt, expected",
    [
        (1, False, [0]),
        (1, True, [0]),
        (2, False, [0, 1]),
        (2, True, [0, 1]),
        (3, True, [1, 2]),
        (16, False, list(range(1, 16))),
        (16, True, list(range(1, 16))),
    ],
)
def test_auto_cpus(tmp_path: Path, cores: int, smt: bool, expected: list[int]) -> None:
    root = machine(tmp_path, cores=cores, smt=smt)
    chosen = auto_cpus(root)
    assert chosen == expected
    assert smt_siblings(chosen, root) == []  # never two threads of one core
    assert physical_cores(root) == cores


def test_auto_cpus_adjacent_siblings(tmp_path: Path) -> None:
    # Some machines number hyperthreads next to each other: (0,1), (2,3), ...
    root = machine(tmp_path, cores=4, smt=True, adjacent=True)
    assert auto_cpus(root) == [2, 4, 6]
    assert smt_siblings(range(8), root) == [(0, 1), (2, 3), (4, 5), (6, 7)]


def test_auto_cpus_two_packages(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=2, smt=True, packages=2)  # 4 cores, 8 threads
    assert physical_cores(root) == 4
    assert auto_cpus(root) == [1, 2, 3]


def test_auto_cpus_without_topology(tmp_path: Path) -> None:
    write(tmp_path, f"{CPU}/online", "0-3")
    assert physical_cores(tmp_path) is None
    assert core_groups([0, 1, 2, 3], tmp_path) is None
    # Each CPU counts as its own core; CPU 0 is still spared.
    assert auto_cpus(tmp_path) == [1, 2, 3]


def test_auto_cpus_on_empty_tree(tmp_path: Path) -> None:
    assert auto_cpus(tmp_path) == [0]


def test_core_cpus_list_fallback(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=2, smt=True, files=("core_cpus_list",))
    assert smt_siblings([0, 1, 2, 3], root) == [(0, 2), (1, 3)]
    assert physical_cores(root) == 2


def test_unreadable_topology_file(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=2, smt=True)
    for name in ("thread_siblings_list", "core_cpus_list"):
        path = root / CPU / "cpu2" / "topology" / name
        path.unlink()
        path.mkdir()  # a directory where a file is expected: unreadable
    # cpu2 now counts as a core of its own; its twin cpu0 still knows it.
    assert core_groups([0, 1, 2, 3], root) is not None
    assert smt_siblings([0, 2], root) == [(0, 2)]


def test_smt_siblings_and_one_per_core(tmp_path: Path) -> None:
    root = machine(tmp_path, cores=16, smt=True)
    assert smt_siblings([0, 16, 1], root) == [(0, 16)]
    assert smt_siblings([0, 1, 2], root) == []
    assert one_per_core([0, 16, 1, 17, 5], root) == [0, 1, 5]
    assert one_per_core([3, 4], tmp_path / "nothing") == [3, 4]


# --------------------------------------------------------------------------- pinning


def test_this_machine() -> None:
    online = online_cpus()
    assert online
    chosen = parse_cpus("auto")
    assert chosen and set(chosen) <= set(online)
    assert parse_cpus(format_cpus(online)) == online
