"""``ingot login``, ``project``, ``ssh-key`` and ``api-key``: who you are and what you own."""
from __future__ import annotations

import click

from api.cli.client.context import CliContext, pass_cli, project_option
from api.cli.client.http import EXIT_NOT_FOUND, ApiClient, CliError
from api.cli.client.output import Column, output_option, show
from api.cli.client.profiles import ENV_ENDPOINT, ENV_TOKENS, first_env
from api.cli.client.resources import add_delete_command, changes

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
PROJECT_COLUMNS = [Column("id", "id"), Column("name", "name"), Column("created", "created_at")]
KEY_COLUMNS = [Column("id", "id"), Column("label", "label"), Column("fingerprint", "fingerprint"),
               Column("created", "created_at")]
API_KEY_COLUMNS = [Column("id", "id"), Column("description", "description"), Column("read only", "read_only"),
                   Column("prefix", "token_prefix"), Column("last used", "last_used_at"),
                   Column("expires", "expires_at")]


@click.command()
@click.option("--endpoint", default=None, metavar="URL", help=f"The API's URL [${ENV_ENDPOINT}, {DEFAULT_ENDPOINT}].")
@click.option("--token", default=None, help="An API token (asked for when not given; $INGOT_AUTH_TOKEN).")
@click.option("--project", default=None, metavar="ID|NAME", help="The project commands act on by default.")
@pass_cli
def login(cli: CliContext, endpoint, token, project):
    """Sign in: check an endpoint and token, keep them in a profile.

    The profile file (mode 600) is ~/.config/ingot/config.yaml ($INGOT_CONFIG).
    """
    config = cli.config()
    profile = config.get(cli.profile_name)
    endpoint = endpoint or click.prompt("Endpoint", default=profile.endpoint or first_env((ENV_ENDPOINT,))
                                        or DEFAULT_ENDPOINT)
    token = token or first_env(ENV_TOKENS) or click.prompt("API token", hide_input=True)
    api = ApiClient(endpoint, token)
    user = api.get("/user")
    projects = api.all_pages("/projects", "projects")
    profile.endpoint, profile.token = endpoint, token
    if project:
        match = [p for p in projects if project in (p.get("id"), p.get("name"))]
        if not match:
            raise CliError(f"no project {project!r} among yours", EXIT_NOT_FOUND)
        profile.project = match[0]["id"]
    elif len(projects) == 1:
        profile.project = projects[0]["id"]
    config.put(profile)
    config.save()
    role = " (operator)" if user.get("is_operator") else ""
    click.echo(f"signed in to {api.base} as {user.get('email') or user.get('id')}{role}; "
               f"profile {profile.name!r} saved in {config.path}", err=True)
    if profile.project:
        click.echo(f"project: {profile.project}", err=True)


@click.command()
@pass_cli
def logout(cli: CliContext):
    """Forget the profile's token."""
    config = cli.config()
    profile = config.get(cli.profile_name)
    profile.token = ""
    config.put(profile, make_current=False)
    config.save()
    click.echo(f"profile {profile.name!r} signed out", err=True)


# --- projects -----------------------------------------------------------------------------

@click.group()
def project():
    """Projects: list, create, choose the current one."""


@project.command("list")
@output_option
@pass_cli
def project_list(cli: CliContext, fmt: str):
    """List your projects (all of them, for operators)."""
    current = cli.profile().project
    rows = cli.api.all_pages("/projects", "projects")
    show(rows, fmt, [Column("", lambda p: "*" if p.get("id") == current else ""), *PROJECT_COLUMNS])


@project.command("get")
@project_option
@output_option
@pass_cli
def project_get(cli: CliContext, project: str | None, fmt: str):
    """Show a project (default: the profile's)."""
    show(cli.api.get(f"/projects/{cli.project_id(project)}"), fmt, PROJECT_COLUMNS)


@project.command("create")
@click.argument("name")
@click.option("--use", is_flag=True, help="Make it the profile's project.")
@output_option
@pass_cli
def project_create(cli: CliContext, name: str, use: bool, fmt: str):
    """Create a project; you become its owner."""
    created = cli.api.post("/projects", {"name": name})
    if use:
        _use(cli, created["id"])
    show(created, fmt, PROJECT_COLUMNS)


@project.command("use")
@click.argument("ref", metavar="ID|NAME")
@pass_cli
def project_use(cli: CliContext, ref: str):
    """Make a project the one commands act on (kept in the profile)."""
    _use(cli, cli.project_id(ref))


def _use(cli: CliContext, project_id: str) -> None:
    config = cli.config()
    profile = config.get(cli.profile_name)
    profile.project = project_id
    config.put(profile, make_current=False)
    config.save()
    click.echo(f"profile {profile.name!r} now uses project {project_id}", err=True)


# --- SSH keys -----------------------------------------------------------------------------

@click.group("ssh-key")
def ssh_key():
    """SSH keys put on your devices."""


@ssh_key.command("list")
@click.option("-p", "--project", default=None, metavar="ID|NAME", help="Only this project's keys.")
@output_option
@pass_cli
def ssh_key_list(cli: CliContext, project: str | None, fmt: str):
    """List your keys and your projects' keys."""
    path = f"/projects/{cli.project_id(project)}/ssh-keys" if project else "/ssh-keys"
    show(cli.api.all_pages(path, "ssh_keys"), fmt, KEY_COLUMNS)


@ssh_key.command("get")
@click.argument("key_id", metavar="ID")
@output_option
@pass_cli
def ssh_key_get(cli: CliContext, key_id: str, fmt: str):
    """Show a key."""
    show(cli.api.get(f"/ssh-keys/{key_id}"), fmt, [*KEY_COLUMNS, Column("key", "key")])


def _key_text(key: str | None, key_file) -> str | None:
    if key and key_file:
        raise click.UsageError("give --key or --key-file, not both")
    return key_file.read().strip() if key_file else key


@ssh_key.command("create")
@click.option("--label", default="", help="A name for the key.")
@click.option("--key", default=None, help="The public key (ssh-ed25519 AAAA…).")
@click.option("--key-file", type=click.File(), default=None, help="A file holding the public key.")
@click.option("-p", "--project", default=None, metavar="ID|NAME", help="Add it to this project, not to you.")
@output_option
@pass_cli
def ssh_key_create(cli: CliContext, label, key, key_file, project, fmt):
    """Add a key to you (or to a project)."""
    text = _key_text(key, key_file)
    if not text:
        raise click.UsageError("give --key or --key-file")
    path = f"/projects/{cli.project_id(project)}/ssh-keys" if project else "/ssh-keys"
    show(cli.api.post(path, {"label": label, "key": text}), fmt, KEY_COLUMNS)


@ssh_key.command("update")
@click.argument("key_id", metavar="ID")
@click.option("--label", default=None, help="A new name.")
@click.option("--key", default=None, help="A new public key.")
@click.option("--key-file", type=click.File(), default=None, help="A file holding the new public key.")
@output_option
@pass_cli
def ssh_key_update(cli: CliContext, key_id, label, key, key_file, fmt):
    """Change a key's label or key."""
    body = changes({"label": label, "key": _key_text(key, key_file)})
    show(cli.api.put(f"/ssh-keys/{key_id}", body), fmt, KEY_COLUMNS)


add_delete_command(ssh_key, "Delete a key.", "ID", lambda cli, key_id: f"/ssh-keys/{key_id}")


# --- API keys -----------------------------------------------------------------------------

@click.group("api-key")
def api_key():
    """API keys: yours, or a project's.

    A project's key acts as a member of that project only.
    """


@api_key.command("list")
@click.option("-p", "--project", default=None, metavar="ID|NAME", help="This project's keys, not yours.")
@output_option
@pass_cli
def api_key_list(cli: CliContext, project: str | None, fmt: str):
    """List your API keys (or a project's with --project)."""
    path = f"/projects/{cli.project_id(project)}/api-keys" if project else "/user/api-keys"
    show(cli.api.all_pages(path, "api_keys"), fmt, API_KEY_COLUMNS)


@api_key.command("create")
@click.option("--description", default="", help="What the key is for.")
@click.option("--read-only", is_flag=True, help="The key may only read.")
@click.option("-p", "--project", default=None, metavar="ID|NAME", help="A key of this project, not yours.")
@output_option
@pass_cli
def api_key_create(cli: CliContext, description: str, read_only: bool, project: str | None, fmt: str):
    """Create an API key; its token is shown this once."""
    path = f"/projects/{cli.project_id(project)}/api-keys" if project else "/user/api-keys"
    show(cli.api.post(path, {"description": description, "read_only": read_only}), fmt,
         [*API_KEY_COLUMNS, Column("token", "token")])


add_delete_command(api_key, "Revoke an API key.", "ID", lambda cli, key_id: f"/api-keys/{key_id}", done="revoked")


COMMANDS = (login, logout, project, ssh_key, api_key)
