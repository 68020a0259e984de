"""Serve the simulated lab (api.bmc.simlab) on its own, for Ingot running as
separate processes (gunicorn API, ``ingot worker``):

    .venv/bin/python bench/simlab_server.py --port 18300 --ingot-url http://127.0.0.1:8080 --delay 0.2
    export INGOT_SIM_LAB_URL=http://127.0.0.1:18300     # for the workers

The lab's hosts call ``--ingot-url`` (the API) for their iPXE script,
metadata and phone-home; the workers' ``sim`` BMC driver calls the lab.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from requests.adapters import HTTPAdapter  # noqa: E402
from urllib3.util.retry import Retry  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from api.bmc import simlab  # noqa: E402
from api.bmc.simlab import SimLab, create_lab_app  # noqa: E402


def serve(host: str, port: int, ingot_url: str, delay: float, http_timeout: float = 60.0) -> None:
    # Real installers and cloud-init retry when the server is slow; the lab's
    # hosts give up on the first timeout. With hundreds of hosts booting at
    # once against a busy API, let them wait longer and retry (a benchmark of
    # the engine must not stall on the simulation's own impatience).
    simlab.HTTP_TIMEOUT = http_timeout
    lab = SimLab(ingot_url=ingot_url, delay=delay)
    retry = Retry(total=6, connect=6, read=3, status=0, backoff_factor=0.5, allowed_methods=None)
    lab.http.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=512, max_retries=retry))
    server = make_server(host, port, create_lab_app(lab), threaded=True)
    server.socket.listen(4096)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    print(f"simlab on http://{host}:{server.server_port} -> {ingot_url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="the simulated lab on its own HTTP server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18300)
    p.add_argument("--ingot-url", required=True)
    p.add_argument("--delay", type=float, default=0.5, help="seconds a host takes per boot stage")
    p.add_argument("--http-timeout", type=float, default=60.0, help="seconds a host waits for Ingot per call")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per BMC call
    serve(args.host, args.port, args.ingot_url, args.delay, args.http_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
