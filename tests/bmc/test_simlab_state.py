"""The simulated lab's own bookkeeping: what a host's JSON (and so the lab's state file) holds, and a host's log
bounded however long the lab runs."""
from __future__ import annotations

import dataclasses
import json

from api.bmc.simlab import LOG_KEPT, LOG_SHOWN, SimHost, SimLab


def test_a_hosts_log_stays_bounded_and_its_json_shows_the_newest_lines():
    lab = SimLab("http://127.0.0.1:1")
    h = SimHost(name="h1", mac="52:54:00:00:00:01")
    lab.hosts[h.name] = h
    notes = LOG_KEPT * 3
    for i in range(notes):
        lab._note(h, f"event {i}")
    assert len(h.log) <= LOG_KEPT
    shown = h.public()["log"]
    assert len(shown) == LOG_SHOWN
    assert shown[0].endswith(f"event {notes - LOG_SHOWN}") and shown[-1].endswith(f"event {notes - 1}")


def test_a_hosts_json_is_every_field_and_a_copy():
    h = SimHost(name="h1", mac="52:54:00:00:00:01", disks=[{"size_gb": 10}], sensors={"psu": "ok"})
    shown = h.public()
    assert set(shown) == {f.name for f in dataclasses.fields(SimHost)}
    assert shown["name"] == "h1" and shown["disks"] == [{"size_gb": 10}] and shown["sensors"] == {"psu": "ok"}
    h.sensors["psu"] = "failed"  # the lab changes the host afterwards: what was shown stays as it was
    h.disks.append({"size_gb": 20})
    assert shown["sensors"] == {"psu": "ok"} and shown["disks"] == [{"size_gb": 10}]


def test_the_state_file_follows_every_change_of_a_host(tmp_path):
    lab = SimLab("http://127.0.0.1:1", state_file=tmp_path / "lab.json")
    try:
        lab.host("h1", {"mac": "52:54:00:00:00:01"})
        lab.host("h2", {"mac": "52:54:00:00:00:02"})
        lab.save()
        lab.set_boot("h2", "pxe", persistent=False)  # a field assigned
        lab.host("h2", {"sensors": {"psu": "failed"}})
        lab._note(lab.hosts["h1"], "a line of its log")  # the log appended to, in place
        lab.save()
        saved = json.loads((tmp_path / "lab.json").read_text())
        assert saved == {"hosts": [h.public() for h in lab.hosts.values()]}
        h1, h2 = saved["hosts"]
        assert h2["boot_once"] == "pxe" and h1["log"][-1].endswith("a line of its log")
        assert h2["sensors"]["psu"] == "failed"
    finally:
        lab.stop()
