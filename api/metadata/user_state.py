"""The user-state reporter Ingot adds to every device's cloud-init (its NoCloud vendor-data).

cloud-init runs the vendor-data's script part in its final stage (``scripts-vendor``, which the
tenant's user data cannot replace): it posts ``running`` to the device's ``user_state_url`` and
starts ``ingot-user-state.service``, ordered after ``cloud-final.service``. When cloud-init has
finished (the tenant's scripts included), that unit reads ``/run/cloud-init/result.json`` and
posts ``succeeded``, or ``failed`` with cloud-init's errors. A tenant's own user data may post to
the same URL (``/metadata`` -> ``user_state_url``); cloud-config ``vendor_data: {enabled: false}``
turns the reporter off.
"""
from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import yaml

REPORTER = "/usr/local/sbin/ingot-user-state"
UNIT = "/etc/systemd/system/ingot-user-state.service"

_REPORTER = '''#!/usr/bin/python3
"""Ingot: tell the device's user_state_url how cloud-init's set-up went (argument: a state to post)."""
import json
import sys
import time
import urllib.request

URL = {url!r}
if len(sys.argv) > 1:
    body = {{"state": sys.argv[1], "code": 2000, "message": "cloud-init is running the user data"}}
else:
    try:
        with open("/run/cloud-init/result.json") as fh:
            errors = json.load(fh)["v1"].get("errors") or []
    except (OSError, ValueError, KeyError) as exc:
        errors = ["cloud-init left no result: %s" % exc]
    body = {{"state": "failed" if errors else "succeeded", "code": 2002 if errors else 2001,
            "message": "; ".join(map(str, errors))[:4000] if errors else "cloud-init finished"}}
request = urllib.request.Request(URL, json.dumps(body).encode(), {{"Content-Type": "application/json"}})
for attempt in range(12):
    try:
        urllib.request.urlopen(request, timeout=10).close()
        break
    except OSError:
        time.sleep(5)
'''

_UNIT = f"""[Unit]
Description=Tell Ingot how cloud-init's set-up ended (the device's user_state)
After=cloud-final.service

[Service]
Type=oneshot
ExecStart={REPORTER}
"""

_START = f"""#!/bin/sh
# Ingot: the system is setting itself up; ingot-user-state.service reports how it ends
{REPORTER} running || true
systemctl daemon-reload && systemctl start --no-block ingot-user-state.service || true
"""


def vendor_data(cloud_config: dict, user_state_url: str) -> str:
    """``cloud_config`` plus the reporter, as cloud-init's multipart vendor-data."""
    doc = {**cloud_config, "write_files": [
        {"path": REPORTER, "permissions": "0700", "owner": "root:root",
         "content": _REPORTER.format(url=user_state_url)},
        {"path": UNIT, "permissions": "0644", "owner": "root:root", "content": _UNIT}]}
    message = MIMEMultipart()
    message.attach(MIMEText("#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False), "cloud-config"))
    message.attach(MIMEText(_START, "x-shellscript"))
    return message.as_string()
