"""Probes of the machine itself: CPU model and flags, hypervisor, frequency governors.

Each probe reads files under a ``root`` (``/`` in production, a fake tree in tests) and
returns None or an empty value when the information is not readable here.
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from pathlib import Path

from benchgate.machine.cpus import CPU_DIR, SYS_ROOT, online_cpus, read_sys

_MODEL_KEYS = ("model name", "Processor", "cpu model", "Hardware", "cpu", "uarch")


def cpu_model(root: Path = SYS_ROOT) -> str | None:
    """The CPU's model name from /proc/cpuinfo (platform.processor() on other systems)."""
    text = read_sys(root, "proc/cpuinfo")
    if text:
        found: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if sep and value and key in _MODEL_KEYS and key not in found:
                found[key] = value
        for key in _MODEL_KEYS:
            if key in found and not (key == "Processor" and found[key].isdigit()):
                return re.sub(r"\s+", " ", found[key])
    if root == SYS_ROOT:
        if sys.platform == "darwin":
            try:
                out = subprocess.run(
                    ["sysctl", "-n", "machdep.cpu.brand_string"],
                    capture_output=True,
                    text=True,
                    timeout=2,
                )
                if out.returncode == 0 and out.stdout.strip():
                    return out.stdout.strip()
            except (OSError, subprocess.SubprocessError):
                pass
        return platform.processor() or platform.machine() or None
    return None


def cpu_flags(root: Path = SYS_ROOT) -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (empty when not readable)."""
    text = read_sys(root, "proc/cpuinfo") or ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def hypervisor(root: Path = SYS_ROOT) -> str | None:
    """The hypervisor we run under ("kvm", "xen", ...; "unknown" when only the CPU flag says so).

    None when no sign of one is readable (bare metal, or simply not known).
    """
    kind = read_sys(root, "sys/hypervisor/type")
    if kind:
        return kind
    vendor = " ".join(
        read_sys(root, f"sys/class/dmi/id/{f}") or "" for f in ("sys_vendor", "product_name")
    ).lower()
    for needle, name in (
        ("kvm", "kvm"),
        ("qemu", "qemu"),
        ("vmware", "vmware"),
        ("virtualbox", "virtualbox"),
        ("xen", "xen"),
        ("amazon ec2", "amazon"),
        ("google compute engine", "google"),
        ("virtual machine", "microsoft"),
    ):
        if needle in vendor:
            return name
    if "hypervisor" in cpu_flags(root):
        return "unknown"
    return None


def governors(cpus: list[int] | None, root: Path = SYS_ROOT) -> dict[str, str] | None:
    """The cpufreq scaling governor of each CPU (all online CPUs when ``cpus`` is None)."""
    out: dict[str, str] = {}
    for cpu in cpus if cpus is not None else online_cpus(root):
        gov = read_sys(root, f"{CPU_DIR}/cpu{cpu}/cpufreq/scaling_governor")
        if gov:
            out[str(cpu)] = gov
    return out or None
