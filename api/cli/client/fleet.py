"""``ingot machine …``: the operator's fleet, by its BMCs."""
from __future__ import annotations

import click

from api.cli.client.context import UUID_RE, CliContext, pass_cli
from api.cli.client.http import EXIT_NOT_FOUND, CliError
from api.cli.client.output import Column, output_option, show
from api.cli.client.resources import add_delete_command, changes, json_value

COLUMNS = [Column("id", "id"), Column("hostname", "hostname"), Column("state", "state"),
           Column("metro", "metro.code"), Column("plan", "plan.slug"), Column("power", "power_state"),
           Column("bmc", lambda m: " ".join(str((m.get("bmc") or {}).get(k, "")) for k in ("driver", "address"))),
           Column("device", "device.id"), Column("operation", lambda m: f"{m.get('operation')}/{m.get('step')}"
                                                 if m.get("operation") else "")]
DETAIL = [*COLUMNS, Column("nics", lambda m: [n.get("mac") for n in m.get("nics") or []]),
          Column("maintenance", "maintenance_reason"), Column("last error", "last_error"), Column("facts", "facts"),
          Column("created", "created_at")]
POWER = {"on": "power_on", "off": "power_off", "reboot": "reboot"}


def resolve(cli: CliContext, ref: str) -> str:
    """A machine's id from its id or hostname.

    Raises:
        CliError: no such machine (exit code 4).
    """
    if UUID_RE.match(ref):
        return ref
    found = [m["id"] for m in cli.api.all_pages("/machines", "machines") if m.get("hostname") == ref]
    if not found:
        raise CliError(f"no machine {ref!r}", EXIT_NOT_FOUND)
    return found[0]


def _nic(value: str) -> dict:
    mac, _, name = value.partition(",")
    return {"mac": mac.strip(), "name": name.strip()}


def _bmc(driver, address, username, password, options) -> dict | None:
    if not (driver or address or username or password or options):
        return None
    if not (driver and address):
        raise click.UsageError("a BMC needs --bmc-driver and --bmc-address")
    return {"driver": driver, "address": address, "username": username or "", "password": password or "",
            "options": json_value(options) if options else {}}


def bmc_options(f):
    for option in reversed((
            click.option("--bmc-driver", type=click.Choice(("redfish", "ipmi", "qemu", "sim")), default=None,
                         help="The BMC's driver."),
            click.option("--bmc-address", default=None, help="The BMC's address (docs/bmc-drivers.md)."),
            click.option("--bmc-username", default=None, help="The BMC's user."),
            click.option("--bmc-password", default=None, envvar="INGOT_BMC_PASSWORD",
                         help="The BMC's password [$INGOT_BMC_PASSWORD]; write-only."),
            click.option("--bmc-options", default=None, help="Driver options as a JSON object (or @file)."),
            click.option("--nic", "nics", multiple=True, metavar="MAC[,NAME]", help="A NIC (repeat)."))):
        f = option(f)
    return f


@click.group()
def machine():
    """Operator: the fleet of physical machines."""


@machine.command("list")
@click.option("--state", default=None, help="Only machines in this state.")
@click.option("-m", "--metro", default=None, help="Only this metro.")
@click.option("-P", "--plan", default=None, help="Only this plan.")
@output_option
@pass_cli
def machine_list(cli: CliContext, state, metro, plan, fmt):
    """List machines."""
    show(cli.api.all_pages("/machines", "machines", state=state, metro=metro, plan=plan), fmt, COLUMNS)


@machine.command("get")
@click.argument("ref", metavar="ID|HOSTNAME")
@output_option
@pass_cli
def machine_get(cli: CliContext, ref, fmt):
    """Show a machine."""
    show(cli.api.get(f"/machines/{resolve(cli, ref)}"), fmt, DETAIL)


@machine.command("enroll")
@click.option("-H", "--hostname", required=True, help="The machine's name.")
@click.option("-m", "--metro", required=True, help="Metro code.")
@click.option("-P", "--plan", default=None, help="Its plan (without one, it is inspected).")
@bmc_options
@click.option("--inspect/--no-inspect", default=None, help="Read its hardware from the BMC [when no plan].")
@output_option
@pass_cli
def machine_enroll(cli: CliContext, hostname, metro, plan, bmc_driver, bmc_address, bmc_username, bmc_password,
                   bmc_options, nics, inspect, fmt):
    """Enroll a machine by its BMC.

    Many at once, from an inventory file: `ingot admin machines enroll`.
    """
    bmc = _bmc(bmc_driver, bmc_address, bmc_username, bmc_password, bmc_options)
    if bmc is None:
        raise click.UsageError("give the BMC: --bmc-driver and --bmc-address")
    body = {"hostname": hostname, "metro": metro, "plan": plan, "bmc": bmc, "nics": [_nic(n) for n in nics],
            "inspect": inspect}
    show(cli.api.post("/machines", {k: v for k, v in body.items() if v is not None}), fmt, DETAIL)


@machine.command("update")
@click.argument("ref", metavar="ID|HOSTNAME")
@click.option("-H", "--hostname", default=None, help="A new name.")
@click.option("-P", "--plan", default=None, help="A new plan.")
@bmc_options
@output_option
@pass_cli
def machine_update(cli: CliContext, ref, hostname, plan, bmc_driver, bmc_address, bmc_username, bmc_password,
                   bmc_options, nics, fmt):
    """Change a machine's hostname, plan, BMC or NICs."""
    body = {"hostname": hostname, "plan": plan,
            "bmc": _bmc(bmc_driver, bmc_address, bmc_username, bmc_password, bmc_options),
            "nics": [_nic(n) for n in nics] or None}
    show(cli.api.put(f"/machines/{resolve(cli, ref)}", changes(body)), fmt, DETAIL)


@machine.command("maintenance")
@click.argument("ref", metavar="ID|HOSTNAME")
@click.option("--on/--off", "on", required=True, help="Take the machine out of the pool, or return it.")
@click.option("--reason", default="", help="Why (shown to operators).")
@output_option
@pass_cli
def machine_maintenance(cli: CliContext, ref, on, reason, fmt):
    """Take a machine out of the pool (--on), or return it (--off)."""
    path = f"/machines/{resolve(cli, ref)}/maintenance"
    show(cli.api.post(path, {"reason": reason}) if on else cli.api.delete(path), fmt, DETAIL)


@machine.command("power")
@click.argument("ref", metavar="ID|HOSTNAME")
@click.argument("action", type=click.Choice(tuple(POWER)))
@pass_cli
def machine_power(cli: CliContext, ref, action):
    """Power a machine on, off, or reboot it (not one that hosts a device)."""
    cli.api.post(f"/machines/{resolve(cli, ref)}/actions", {"type": POWER[action]})
    click.echo(f"power {action} of {ref} accepted", err=True)


@machine.command("inspect")
@click.argument("ref", metavar="ID|HOSTNAME")
@pass_cli
def machine_inspect(cli: CliContext, ref):
    """Read a machine's hardware again and match a plan."""
    cli.api.post(f"/machines/{resolve(cli, ref)}/actions", {"type": "inspect"})
    click.echo(f"inspection of {ref} accepted", err=True)


add_delete_command(machine, "Delete a machine that no device uses.", "ID|HOSTNAME",
                   lambda cli, ref: f"/machines/{resolve(cli, ref)}")


COMMANDS = (machine,)
