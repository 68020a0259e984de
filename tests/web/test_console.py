"""The web console in Debian's Chromium against a real Ingot server with the simulated lab:
the issue's list, step by step. Waits are Playwright's expect with generous timeouts."""
from __future__ import annotations

import re

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from playwright.sync_api import expect
from sqlalchemy import update

from api.models import Device
from tests.support.browser import WAIT
from tests.support.clients import make_user

HOSTILE = "<img src=x onerror=alert(1)>"


def _api(server, token: str, method: str, path: str, **kw):
    return requests.request(method, f"{server.url}/metal/v1{path}", headers={"X-Auth-Token": token}, timeout=30, **kw)


def _device(server, hostname: str, **extra) -> dict:
    spec = {"hostname": hostname, "plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04", **extra}
    r = _api(server, server.token, "POST", f"/projects/{server.project_id}/devices", json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def _machine_of(server, device_id: str) -> dict:
    machines = _api(server, server.operator_token, "GET", "/machines?per_page=1000").json()["machines"]
    return next(m for m in machines if (m.get("device") or {}).get("id") == device_id)


def test_member_creates_powers_and_deletes_a_device_then_the_operator_sees_its_machine_freed(console, server):
    page = console.page()
    console.sign_in_member(page)  # email and password, as the demo prints them
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    console.shot(page, "devices-empty")

    # create from the form: plans show their capacity; the list follows the engine without a reload
    page.get_by_role("link", name="New device").click()
    small = page.get_by_role("radio", name=re.compile(r"sim\.small"))
    expect(small).to_be_enabled()
    expect(page.locator(".plan-choice", has=small)).to_contain_text("available")
    small.check()
    page.get_by_label("Hostname(s)").fill("web-1")
    page.get_by_label("Tags").fill("frontend, prod")
    page.get_by_label("User data").fill("#cloud-config\npackages: [nginx]")
    console.shot(page, "device-create")
    page.get_by_role("button", name="Create device").click()
    expect(page).to_have_url(re.compile(r"/projects/[^/]+/devices"))
    page.evaluate("window.__sameDocument = true")  # a reload would forget it
    row = page.locator("tr[data-hostname='web-1']")
    expect(row).to_have_attribute("data-state", "active", timeout=WAIT)
    assert page.evaluate("window.__sameDocument === true"), "the list reloaded the page"
    device_id = row.get_attribute("data-device")
    for name in ("db-1", "db-2"):
        _device(server, name, tags=["db"])
    for name in ("db-1", "db-2"):
        expect(page.locator(f"tr[data-hostname='{name}']")).to_have_attribute("data-state", "active", timeout=WAIT)
    console.shot(page, "devices")

    # the device page: power off and on, its events
    row.get_by_role("link", name="web-1").click()
    expect(page.get_by_role("heading", name="web-1")).to_be_visible()
    state = page.locator(".status-line [data-state]")
    expect(state).to_have_attribute("data-state", "active")
    page.get_by_role("button", name="Power off").click()
    expect(state).to_have_attribute("data-state", "inactive", timeout=WAIT)
    page.get_by_role("button", name="Power on").click()
    expect(state).to_have_attribute("data-state", "active", timeout=WAIT)
    timeline = page.get_by_role("list", name="Events")
    expect(timeline.locator("li[data-type='device.created']")).to_be_visible()
    expect(timeline.locator("li[data-type='device.power_off.succeeded']")).to_be_visible(timeout=WAIT)
    expect(timeline.locator("li[data-type='device.power_on.succeeded']")).to_be_visible(timeout=WAIT)
    # the device's story in the order it happened: its creation first
    expect(timeline.locator("li").first).to_have_attribute("data-type", "device.created")
    expect(page.get_by_text("frontend")).to_be_visible()
    console.shot(page, "device")

    # delete, with confirmation
    machine = _machine_of(server, device_id)
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete web-1").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    expect(page.locator("tr[data-hostname='web-1']")).to_have_count(0, timeout=WAIT)

    # the operator sees the machine freed on the fleet page and puts it in maintenance
    ops = console.page()
    console.sign_in_operator(ops)
    ops.goto("/fleet")
    tile = ops.locator(f"a.tile[data-hostname='{machine['hostname']}']")
    expect(tile).to_have_attribute("data-state", "available", timeout=WAIT)
    expect(ops.locator("a.tile[data-state='active']")).to_have_count(2, timeout=WAIT)  # db-1, db-2
    console.shot(ops, "fleet")
    tile.click()
    expect(ops.get_by_role("heading", name=machine["hostname"])).to_be_visible()
    expect(ops.get_by_text("set (never shown)")).to_be_visible()
    ops.get_by_role("button", name="Maintenance on…").click()
    ops.get_by_role("dialog").get_by_label("Reason").fill("fan noise")
    ops.get_by_role("dialog").get_by_role("button", name="Maintenance on").click()
    expect(ops.locator(".status-line [data-state]")).to_have_attribute("data-state", "maintenance", timeout=WAIT)
    expect(ops.get_by_text("In maintenance: fan noise")).to_be_visible()
    expect(ops.get_by_role("list", name="Events").locator("li[data-type='machine.maintenance_on']")).to_be_visible(
        timeout=WAIT)
    console.shot(ops, "machine")
    assert "sim-password" not in ops.content()

    for path, heading, name in (("/fleet/charts", "Charts", "charts"), ("/fleet/catalogue", "Catalogue", "catalogue"),
                                ("/fleet/people", "Projects & users", "people")):
        ops.goto(path)
        expect(ops.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(ops.locator(".busy")).to_have_count(0, timeout=WAIT)
        console.shot(ops, name)
    expect(ops.get_by_role("table", name="Users")).to_contain_text("demo@ingot.local")
    assert console.dialogs == []


def test_a_hostile_hostname_shows_as_text(console, server):
    page = console.page()
    console.sign_in_member(page)
    # typed into the form: the API refuses it, and its message is shown as text
    page.goto(f"/projects/{server.project_id}/devices/new")
    page.get_by_label("Hostname(s)").fill(HOSTILE)  # spaces split it into three names: three devices
    page.get_by_role("button", name=re.compile(r"^Create")).click()
    expect(page.get_by_role("alert")).to_contain_text("hostname")
    # stored by any other path (description, tags, and a hostname written straight into the database)
    d = _device(server, "evil-1", description=HOSTILE, tags=[HOSTILE])
    with server.database.transaction() as s:
        s.execute(update(Device).where(Device.id == d["id"]).values(hostname=HOSTILE))
    page.goto(f"/projects/{server.project_id}/devices")
    row = page.locator(f"tr[data-device='{d['id']}']")
    expect(row.get_by_role("link", name=HOSTILE)).to_be_visible(timeout=WAIT)
    expect(row).to_contain_text(HOSTILE)
    page.goto(f"/devices/{d['id']}")
    expect(page.get_by_role("heading", name=HOSTILE)).to_be_visible()
    expect(page.locator("main")).to_contain_text(HOSTILE)
    assert page.locator("main img").count() == 0
    console.shot(page, "hostile")
    assert console.dialogs == [], console.dialogs


def test_a_state_changing_request_without_the_csrf_token_is_refused(console, server):
    page = console.page()
    console.sign_in_member(page)
    call = """async ({path, body, csrf}) => {
        const headers = {"Content-Type": "application/json"};
        if (csrf) headers["X-CSRF-Token"] = (await (await fetch("/web/session")).json()).csrf_token;
        const r = await fetch(path, {method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin"});
        return {status: r.status, body: await r.json()};
    }"""
    refused = page.evaluate(call, {"path": "/metal/v1/projects", "body": {"name": "csrf-less"}, "csrf": False})
    assert refused["status"] == 403
    assert refused["body"]["errors"][0].startswith("csrf:")
    allowed = page.evaluate(call, {"path": "/metal/v1/projects", "body": {"name": "with-csrf"}, "csrf": True})
    assert allowed["status"] == 201, allowed
    names = [p["name"] for p in _api(server, server.operator_token, "GET", "/projects?per_page=100").json()["projects"]]
    assert "with-csrf" in names and "csrf-less" not in names
    # the cookie alone reads (GET needs no token), and an X-Auth-Token caller needs no CSRF token
    assert page.evaluate("async () => (await fetch('/metal/v1/user')).status") == 200
    assert _api(server, server.token, "POST", "/projects", json={"name": "by-token"}).status_code == 201


def test_a_member_cannot_open_the_fleet_or_another_projects_device(console, server):
    mallory = make_user(None, server.database, email="mallory@example.com", project_name="mallory")
    raw, other_project = mallory.token, mallory.project_id
    r = _api(server, raw, "POST", f"/projects/{other_project}/devices",
             json={"hostname": "secret-1", "plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"})
    assert r.status_code == 201, r.text
    page = console.page()
    console.sign_in_member(page)
    expect(page.get_by_role("link", name="Fleet")).to_have_count(0)  # no operator menu
    page.goto("/fleet")
    expect(page.get_by_role("alert")).to_contain_text("403")
    expect(page.get_by_role("alert")).to_contain_text("this endpoint is for operators")
    page.goto(f"/devices/{r.json()['id']}")
    expect(page.get_by_role("alert")).to_contain_text("404")
    expect(page.get_by_role("alert")).to_contain_text("Device not found")
    expect(page.get_by_text("secret-1")).to_have_count(0)
    console.shot(page, "member-403")


def test_the_console_works_at_a_narrow_width_and_with_the_keyboard(console, server):
    _device(server, "phone-1")
    page = console.page(width=390, height=800)
    page.goto("/")
    page.keyboard.press("Tab")  # the skip link or the first field: everything is reachable by Tab
    page.get_by_label("Email").focus()
    page.keyboard.type(server.demo_tokens["member_email"])
    page.keyboard.press("Tab")
    page.keyboard.type(server.demo_tokens["member_password"])
    page.keyboard.press("Enter")
    expect(page.locator("tr[data-hostname='phone-1']")).to_be_visible(timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # tables scroll inside their box
    console.shot(page, "devices-narrow")


def test_the_operator_enrols_one_machine_by_form_and_many_from_a_file(console, server, tmp_path):
    # each with its MAC: the devices below may land on these machines (the oldest-updated free one is
    # claimed, and the power sync's re-reads reorder them), so they must be able to boot
    rows = "\n".join(f"  - {{hostname: rack-{i:03d}, plan: sim.{'large' if i % 5 == 0 else 'small'}, "
                     f"nics: [{{mac: '52:54:00:10:{i // 256:02x}:{i % 256:02x}', name: eth0}}], "
                     f"bmc: {{address: rack-{i:03d}, options: {{mac: '52:54:00:10:{i // 256:02x}:{i % 256:02x}', "
                     f"cpus: {16 if i % 5 == 0 else 4}}}}}}}"
                     for i in range(1, 161))
    inventory = tmp_path / "rack.yaml"
    inventory.write_text("defaults:\n  metro: lab\n  bmc: {driver: sim, username: admin, password: s3cret}\n"
                         f"machines:\n{rows}\n  - {{hostname: 'not a hostname', bmc: {{address: x}}}}\n")
    page = console.page()
    console.sign_in_operator(page)
    page.get_by_role("link", name="Enrol machines").first.click()
    form = page.get_by_role("form", name="Enrol one machine")
    form.get_by_label("Hostname").fill("spare-1")
    form.locator("select[name=plan]").select_option("sim.small")
    form.locator("select[name=driver]").select_option("sim")
    form.get_by_label("BMC address").fill("spare-1")
    form.get_by_label("BMC password").fill("s3cret")
    form.get_by_label("BMC options (JSON)").fill('{"mac": "52:54:00:10:ff:01"}')
    form.get_by_label("NIC MACs").fill("52:54:00:10:ff:01")
    form.get_by_role("button", name="Enrol").click()
    expect(form.get_by_role("status")).to_contain_text("Enrolled spare-1 (available)", timeout=WAIT)

    upload = page.get_by_role("form", name="Enrol from a file")
    upload.get_by_label("Inventory file").set_input_files(str(inventory))
    upload.get_by_role("button", name="Upload and enrol").click()
    result = upload.get_by_role("status")
    expect(result).to_contain_text("160 enrolled, 0 already enrolled, 1 failed", timeout=WAIT)
    expect(upload.get_by_role("table", name="Enrolment outcomes")).to_contain_text("not a hostname")
    console.shot(page, "enroll")

    # the fleet grid: 169 machines on one screen; a few go into maintenance together
    page.goto("/fleet")
    expect(page.locator("a.tile")).to_have_count(169, timeout=WAIT)
    page.get_by_label("Select for actions").check()
    for name in ("rack-011", "rack-012", "rack-013"):
        page.locator(f"a.tile[data-hostname='{name}']").click()
    page.get_by_role("button", name="Maintenance on…").click()
    page.get_by_role("dialog").get_by_label("Reason").fill("rack 1 PDU swap")
    page.get_by_role("dialog").get_by_role("button", name="Maintenance on").click()
    expect(page.get_by_role("status").filter(has_text="Done: 3 of 3")).to_be_visible(timeout=WAIT)
    for name in ("rack-011", "rack-012", "rack-013"):
        expect(page.locator(f"a.tile[data-hostname='{name}']")).to_have_attribute("data-state", "maintenance",
                                                                                  timeout=WAIT)
    page.get_by_label("Select for actions").uncheck()
    for hostname in ("db-1", "db-2", "db-3"):
        _device(server, hostname)
    expect(page.locator("a.tile[data-state='active']")).to_have_count(3, timeout=WAIT)
    console.shot(page, "fleet-many")
    assert console.dialogs == []


def test_a_failed_device_shows_the_event_that_says_why(console, server):
    for i in range(1, 7):  # every sim.small machine's installer fails
        r = requests.put(f"{server.simlab_url}/hosts/sim-{i:02d}", json={"fail": "installer_fails"}, timeout=30)
        assert r.status_code < 400, r.text
    d = _device(server, "doomed-1")
    page = console.page()
    console.sign_in_member(page)
    row = page.locator(f"tr[data-device='{d['id']}']")
    expect(row).to_have_attribute("data-state", "failed", timeout=WAIT)
    expect(row.locator(".reason")).to_contain_text("install", timeout=WAIT)
    row.get_by_role("link", name="doomed-1").click()
    expect(page.get_by_role("alert").filter(has_text="Why it failed")).to_contain_text("install", timeout=WAIT)
    expect(page.get_by_role("list", name="Events").locator("li[data-type='device.provision.failed']")).to_be_visible()
    console.shot(page, "device-failed")


def test_ssh_keys_api_keys_ips_and_the_password_pages(console, server):
    public_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " alice@laptop"
    page = console.page()
    console.sign_in_member(page)
    pid = server.project_id

    page.get_by_role("link", name="SSH keys").click()
    expect(page.get_by_text("No SSH keys yet")).to_be_visible()
    page.get_by_label("Label").fill("laptop")
    page.get_by_label("Public key").fill(public_key)
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("table", name="SSH keys")).to_contain_text("laptop")
    page.get_by_label("Public key").fill("ssh-rsa not-base64!")
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("alert")).to_contain_text("key:")  # the API's own message

    # a device created with every key unticked gets none (empty key lists would mean the default keys: all)
    page.get_by_role("link", name="Devices").click()
    page.get_by_role("link", name="New device").click()
    page.get_by_role("radio", name=re.compile(r"sim\.small")).check()
    page.get_by_label("Hostname(s)").fill("keyless-1")
    page.get_by_role("checkbox", name=re.compile("laptop")).uncheck()
    page.get_by_role("button", name="Create device").click()
    expect(page.locator("tr[data-hostname='keyless-1']")).to_be_visible()
    listed = _api(server, server.token, "GET", f"/projects/{pid}/devices?hostname=keyless-1").json()["devices"]
    assert [d["ssh_keys"] for d in listed] == [[]]

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Description").fill("ci")
    page.get_by_label("Read-only").check()
    page.get_by_role("button", name="Create key").click()
    token = page.locator(".secret .token").inner_text()
    assert len(token) > 20
    assert _api(server, token, "GET", f"/projects/{pid}").status_code == 200
    expect(page.get_by_role("table", name="API keys")).to_contain_text("read-only")
    page.get_by_role("button", name="I have saved it").click()
    page.reload()
    expect(page.get_by_role("table", name="API keys")).to_contain_text(token[:6])
    assert token not in page.content()  # shown once

    page.get_by_role("link", name="IP addresses").click()
    form = page.get_by_role("form", name="Reserve a block")
    form.get_by_label("Details").fill("vip")
    form.get_by_role("button", name="Reserve").click()
    expect(page.get_by_role("table", name="Reserved blocks")).to_contain_text("vip")
    console.shot(page, "ips")

    page.get_by_role("link", name="Account").click()
    page.get_by_label("Current password").fill(server.demo_tokens["member_password"])
    page.locator("input[name=new_password]").fill("a new long password")
    page.locator("input[name=new_password_again]").fill("a new long password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").filter(has_text="Password changed")).to_be_visible()
    page.get_by_role("button", name="Sign out").first.click()
    expect(page.get_by_role("heading", name="Sign in to Ingot")).to_be_visible()
    console.sign_in(page, server.demo_tokens["member_email"], "a new long password")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
