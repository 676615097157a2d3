"""``benchgate doctor``: check the measurement environment before trusting numbers."""

from __future__ import annotations

import json

import click

from benchgate.cli.common import get_config
from benchgate.cli.options import format_option
from benchgate.machine import doctor as checks_mod
from benchgate.machine.cpus import parse_cpus


@click.command()
@click.option(
    "--cpus",
    default=None,
    help="CPUs the benches will be pinned to: 0-3, 2,4 or auto (default: cpus in config).",
)
@format_option(("text", "json"))
@click.option(
    "--load-limit",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Share of the CPUs other processes may take before WARN (default: "
    "disturbed_share in config, 0.25).",
)
@click.option(
    "--sample",
    "sample_s",
    type=click.FloatRange(min=0, max=10),
    default=0.5,
    show_default=True,
    help="Seconds to watch the background load (0: only the load average).",
)
@click.pass_context
def doctor(
    ctx: click.Context, cpus: str | None, fmt: str, load_limit: float | None, sample_s: float
) -> None:
    """Check this machine for what makes benchmark numbers unstable.

    One check per line, OK / WARN / INFO, and for each WARN the command that fixes it:
    scaling governor, turbo/boost, clock speed, hyperthread siblings among the CPUs,
    isolated CPUs, background load (with the top consumers), thermal throttling,
    hypervisor, memory and swap, PYTHONHASHSEED and NUMBA_DISABLE_JIT as the benches
    will see them, and installed versions against the project's lock file.

    Exit code 0 when nothing warns, 1 otherwise (checks that cannot read their file say
    INFO, never fail).

    \b
    Examples:
      benchgate doctor
      benchgate doctor --cpus auto
      benchgate doctor --cpus 2-3 --format json
    """
    config = get_config(ctx)
    cpu_list = parse_cpus(cpus if cpus is not None else config.cpus)
    checks = checks_mod.run_doctor(config, cpus=cpu_list, load_limit=load_limit, sample_s=sample_s)
    summary = checks_mod.doctor_summary(checks)
    if fmt == "json":
        payload = {"checks": [c.to_dict() for c in checks], "summary": summary}
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(checks_mod.render_text(checks))
    ctx.exit(1 if summary["warn"] else 0)
