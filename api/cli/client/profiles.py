"""The CLI's profiles (endpoint, token, project) in one file only its owner can read, and the
environment variables that override them: ``INGOT_ENDPOINT``, ``INGOT_AUTH_TOKEN`` (or Equinix's
``METAL_AUTH_TOKEN``), ``INGOT_PROJECT_ID`` (or ``METAL_PROJECT_ID``), ``INGOT_PROFILE`` and
``INGOT_CONFIG`` (the file). These are the client's variables, not the server's settings."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import yaml

DEFAULT_PROFILE = "default"
ENV_ENDPOINT = "INGOT_ENDPOINT"
ENV_TOKENS = ("INGOT_AUTH_TOKEN", "METAL_AUTH_TOKEN")
ENV_PROJECTS = ("INGOT_PROJECT_ID", "METAL_PROJECT_ID")
ENV_PROFILE = "INGOT_PROFILE"
ENV_CONFIG = "INGOT_CONFIG"


def config_path() -> Path:
    """``$INGOT_CONFIG``, else ``$XDG_CONFIG_HOME/ingot/config.yaml`` (``~/.config/ingot/config.yaml``)."""
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ingot" / "config.yaml"


@dataclasses.dataclass
class Profile:
    name: str
    endpoint: str = ""
    token: str = ""
    project: str = ""

    def stored(self) -> dict:
        return {k: v for k, v in (("endpoint", self.endpoint), ("token", self.token), ("project", self.project))
                if v}


class ConfigFile:
    """The profiles file: ``{"current": name, "profiles": {name: {endpoint, token, project}}}``."""

    def __init__(self, path: Path | None = None):
        self.path = path or config_path()
        data = {}
        if self.path.exists():
            try:
                data = yaml.safe_load(self.path.read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ValueError(f"cannot read {self.path}: {exc}") from None
        self.current = str(data.get("current") or DEFAULT_PROFILE)
        self.profiles = {str(k): Profile(str(k), **{f: str(v.get(f) or "") for f in ("endpoint", "token", "project")})
                         for k, v in (data.get("profiles") or {}).items() if isinstance(v, dict)}

    def get(self, name: str | None) -> Profile:
        name = name or self.current
        return self.profiles.get(name) or Profile(name)

    def put(self, profile: Profile, make_current: bool = True) -> None:
        self.profiles[profile.name] = profile
        if make_current:
            self.current = profile.name

    def save(self) -> None:
        """Write the file with mode 600 (its folder 700): it holds API tokens."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = yaml.safe_dump({"current": self.current,
                               "profiles": {n: p.stored() for n, p in sorted(self.profiles.items())}},
                              sort_keys=False)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)  # an older file of another mode left behind
        os.replace(tmp, self.path)


def first_env(names: tuple[str, ...]) -> str:
    return next((os.environ[n] for n in names if os.environ.get(n)), "")


def effective(profile: Profile) -> Profile:
    """``profile`` with the environment's endpoint, token and project taking precedence."""
    return Profile(profile.name, endpoint=os.environ.get(ENV_ENDPOINT) or profile.endpoint,
                   token=first_env(ENV_TOKENS) or profile.token, project=first_env(ENV_PROJECTS) or profile.project)
