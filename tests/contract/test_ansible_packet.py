"""A playbook written with Ansible's Packet modules (``community.general.packet_*``, the ``ansible`` 9.13.0 package
from PyPI, which run packet-python in a process of their own), as their users wrote them, run unchanged against
Ingot: ``ansible-playbook`` with the Packet token in ``PACKET_API_TOKEN`` and an HTTPS proxy that leads
``api.packet.net:443`` to Ingot (how a test reaches a client that calls a fixed public host from processes of its
own), whose certificate names that host and which the playbook's processes trust by ``REQUESTS_CA_BUNDLE``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.keys import ssh_public_key
from tests.support.peers.connect_proxy import start_connect_proxy
from tests.support.waiting import wait_for

ACCOUNT = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: an SSH key for the new machines
      community.general.packet_sshkey:
        label: ansible
        key: "{{ pubkey }}"

    - name: a project of its own
      community.general.packet_project:
        name: ansible-web
      register: project
"""

SITE = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    plan: sim.small
    facility: lab1
  tasks:
    - name: the web servers, up and with a public IPv4 address
      community.general.packet_device: &web
        project_id: "{{ project_id }}"
        hostnames: [web-1]
        plan: "{{ plan }}"
        facility: "{{ facility }}"
        operating_system: ubuntu_24_04
        tags: [web, ansible]
        user_data: |
          #cloud-config
          packages: [nginx]
        state: active
        wait_for_public_IPv: 4
        wait_timeout: 300
      register: created

    - name: the same again changes nothing
      community.general.packet_device: *web

    - name: powered off
      community.general.packet_device:
        project_id: "{{ project_id }}"
        hostnames: [web-1]
        state: inactive
      register: stopped

    - name: an elastic address on it
      community.general.packet_ip_subnet:
        project_id: "{{ project_id }}"
        hostname: web-1
        cidr: "{{ elastic }}"
        state: present
      register: assigned

    - name: and off it again
      community.general.packet_ip_subnet:
        project_id: "{{ project_id }}"
        hostname: web-1
        cidr: "{{ elastic }}"
        state: absent
      register: unassigned
"""

TEARDOWN = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: the servers go
      community.general.packet_device:
        project_id: "{{ project_id }}"
        hostnames: [web-1]
        state: absent
      register: deleted

    - name: the key goes
      community.general.packet_sshkey:
        label: ansible
        key: "{{ pubkey }}"
        state: absent
      register: key_gone
"""


def _play(tmp: Path, name: str, text: str, env: dict, extra: dict) -> dict[str, dict]:
    """Run one playbook with ``extra`` vars; each task's result by task name (Ansible's json callback)."""
    book = tmp / f"{name}.yml"
    book.write_text(text)
    done = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,",
                           "-e", json.dumps(extra), str(book)],
                          env=env, cwd=tmp, capture_output=True, text=True, timeout=600)
    try:
        out = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook {name} (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    tasks = {t["task"]["name"]: t["hosts"]["localhost"] for play in out["plays"] for t in play["tasks"]}
    failed = {n: r.get("msg") or r.get("exception", "")[-1500:] for n, r in tasks.items() if r.get("failed")}
    assert done.returncode == 0 and not failed, failed or done.stderr[-3000:]
    return tasks


@pytest.fixture
def ansible_env(https_server, tmp_path):
    """The environment ``ansible-playbook`` runs in: the token, the proxy to Ingot, the test CA; Ansible's own
    files under the test's folder; the modules run by this interpreter (packet-python is installed here)."""
    port = int(https_server.url.rsplit(":", 1)[1])
    proxy = start_connect_proxy({"api.packet.net:443": ("127.0.0.1", port)})
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    home = tmp_path / "ansible"
    env.update(PACKET_API_TOKEN=https_server.token, HTTPS_PROXY=proxy.url, REQUESTS_CA_BUNDLE=https_server.ca_file,
               ANSIBLE_HOME=str(home), ANSIBLE_LOCAL_TEMP=str(home / "tmp"), ANSIBLE_REMOTE_TEMP=str(home / "remote"),
               ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_LOCALHOST_WARNING="0")
    yield env, proxy
    proxy.stop()


def test_an_ansible_packet_playbook_runs_unchanged(https_server, ansible_env, tmp_path):
    env, proxy = ansible_env
    api = f"{https_server.url}/metal/v1"
    headers = {"X-Auth-Token": https_server.token}
    pubkey = ssh_public_key("ansible")
    # the key is added beforehand, as in the portal: community.general 8's packet_sshkey never creates one on
    # Python 3 (it compares a filter object with []); it finds it, as its users' playbooks did
    r = requests.post(f"{api}/ssh-keys", headers=headers, json={"label": "ansible", "key": pubkey},
                      verify=https_server.ca_file, timeout=30)
    assert r.status_code == 201, r.text
    key_id = r.json()["id"]
    account = _play(tmp_path, "account", ACCOUNT, env, {"pubkey": pubkey})
    assert [k["id"] for k in account["an SSH key for the new machines"]["sshkeys"]] == [key_id]
    project = account["a project of its own"]
    assert project["changed"] and project["name"] == "ansible-web"
    assert set(proxy.connects) == {"api.packet.net:443"}  # every call went to Packet's host, led to Ingot

    # the elastic address the playbook puts on its server: reserved beforehand, as in the portal
    block = requests.post(f"{api}/projects/{project['id']}/ips", headers=headers, timeout=30,
                          json={"type": "public_ipv4", "quantity": 1, "metro": "lab"}, verify=https_server.ca_file)
    assert block.status_code == 201, block.text
    elastic = f"{block.json()['address']}/32"
    tasks = _play(tmp_path, "site", SITE, env, {"project_id": project["id"], "elastic": elastic})
    created = tasks["the web servers, up and with a public IPv4 address"]
    assert created["changed"]
    [web] = created["devices"]
    assert web["hostname"] == "web-1" and web["state"] == "active" and web["public_ipv4"]
    assert not tasks["the same again changes nothing"]["changed"]
    assert tasks["powered off"]["changed"]
    assert tasks["an elastic address on it"]["changed"] and tasks["and off it again"]["changed"]

    # what the playbook made, as the API shows it
    r = requests.get(f"{api}/devices/{web['id']}", headers=headers, verify=https_server.ca_file, timeout=30,
                     params={"include": "project"})
    device = r.json()
    assert r.status_code == 200 and device["project"]["id"] == project["id"]
    assert (device["plan"]["slug"], device["facility"]["code"], device["operating_system"]["slug"]) == (
        "sim.small", "lab1", "ubuntu_24_04")
    assert sorted(device["tags"]) == ["ansible", "web"]
    assert device["userdata"] == "#cloud-config\npackages: [nginx]\n"
    assert {"href": f"/metal/v1/ssh-keys/{key_id}"} in device["ssh_keys"]  # the account's key, as on Equinix
    # the module asks for the power-off and does not wait: it ends in a while
    assert wait_for(lambda: requests.get(f"{api}/devices/{web['id']}", headers=headers, timeout=30,
                                         verify=https_server.ca_file).json()["state"] == "inactive",
                    timeout=120, message="the device powered off")
    addresses = [a["address"] for a in device["ip_addresses"]]
    assert web["public_ipv4"] in addresses and elastic.split("/")[0] not in addresses
    events = requests.get(f"{api}/devices/{web['id']}/events", headers=headers, verify=https_server.ca_file,
                          timeout=30).json()["events"]
    assert "device.power_off.queued" in [e["type"] for e in events]

    tasks = _play(tmp_path, "teardown", TEARDOWN, env, {"pubkey": pubkey, "project_id": project["id"]})
    assert tasks["the servers go"]["changed"] and tasks["the key goes"]["changed"]
    gone = requests.get(f"{api}/devices/{web['id']}", headers=headers, verify=https_server.ca_file, timeout=30)
    assert gone.status_code == 404 or gone.json()["state"] == "deprovisioning"
    keys = requests.get(f"{api}/ssh-keys", headers=headers, verify=https_server.ca_file, timeout=30).json()
    assert key_id not in [k["id"] for k in keys["ssh_keys"]]
