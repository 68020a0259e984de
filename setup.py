"""Build hook: copy the top-level provider-schema/, migrations/ and deploy/ into the package.

Everything else is declared in pyproject.toml. The folders stay where they are (the
source of truth, edited there); a built wheel carries copies in api/_bundled/, which
api._bundled.locate() finds before falling back to a checkout.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# api._bundled.NAMES (not imported: the build must not import api)
BUNDLED = ("provider-schema", "migrations", "deploy")


class build_py_with_data(build_py):
    """build_py that also copies BUNDLED into <build>/api/_bundled/."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders directly
        target = Path(self.build_lib) / "api" / "_bundled"
        for name in BUNDLED:
            source = HERE / name
            if not source.is_dir():
                raise FileNotFoundError(f"{source} is missing: build from a checkout or an sdist that has it")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": build_py_with_data})
