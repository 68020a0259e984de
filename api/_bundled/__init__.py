"""Data folders shipped inside the package (provider-schema/, migrations/, deploy/); imports nothing of Ingot's.

The top-level folders of the checkout are the source of truth: building the wheel
(setup.py) copies them here, so an installed Ingot finds them with importlib.resources.
In a checkout or an editable install they are not copied and the checkout's own are used.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

PROVIDER_SCHEMA = "provider-schema"
MIGRATIONS = "migrations"
DEPLOY = "deploy"  # gunicorn.conf.py, for `ingot serve --production` from a wheel
NAMES = (PROVIDER_SCHEMA, MIGRATIONS, DEPLOY)

CHECKOUT = Path(__file__).resolve().parents[2]


def locate(name: str) -> Path:
    """The folder `name` (one of NAMES): the package's copy first, the checkout's second.

    Raises FileNotFoundError when neither exists."""
    bundled = resources.files(__name__).joinpath(name)
    # an installed wheel is unpacked on disk: its Traversable is a real directory Alembic can use
    if isinstance(bundled, Path) and bundled.is_dir():
        return bundled
    if (CHECKOUT / name).is_dir():
        return CHECKOUT / name
    raise FileNotFoundError(f"{name}/ is neither in the installed package ({bundled}) nor in a checkout ({CHECKOUT})")
