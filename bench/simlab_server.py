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

from werkzeug.serving import make_server  # noqa: E402

from api.bmc.simlab import SimLab, create_lab_app  # noqa: E402


def serve(host: str, port: int, ingot_url: str, delay: float) -> None:
    lab = SimLab(ingot_url=ingot_url, delay=delay)
    lab.http.mount("http://", __import__("requests").adapters.HTTPAdapter(pool_connections=4, pool_maxsize=256))
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
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    serve(args.host, args.port, args.ingot_url, args.delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
