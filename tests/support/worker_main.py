"""Stand-in for ``ingot worker`` on SQLite, where the CLI refuses to start a
separate worker process (a production rule). Same Worker class, same
settings from the environment, same signals; used only by
tests/engine/test_worker_kill.py (``python -m tests.support.worker_main``)."""
from __future__ import annotations

import argparse

from api.cli.admin import StopFlag, run_until_stopped
from api.core.config import Settings
from api.core.secrets import SecretBox
from api.embedded import prepare_database
from api.engine.worker import Worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    settings = Settings.from_env()
    w = Worker(prepare_database(settings), settings, SecretBox(settings.secret_key), name=args.name,
               threads=args.threads)
    flag = StopFlag().install()
    print(f"worker {w.name} on {settings.resolved_database_url}", flush=True)
    run_until_stopped(w, flag)


if __name__ == "__main__":
    main()
