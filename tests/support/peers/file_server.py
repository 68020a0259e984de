"""A plain HTTP file server on 127.0.0.1 (images, ISOs): what a real image server does."""
from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ._util import Stoppable


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass


class FileServer(Stoppable):
    """Serves the files of ``directory``; ``url`` is its base URL, ``port`` its port. ``stop()`` ends it."""

    def __init__(self, directory: str | Path):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, name="file-server", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

