"""A device lifecycle written with the official Equinix Metal SDK as a user of Equinix Metal would
write it, unchanged but for its host: over plain HTTP, and over HTTPS with a test CA and the client
verifying the certificate (``ingot serve --tls-cert/--tls-key``)."""
from __future__ import annotations

import time

from equinix.services import metalv1

from tests.support.keys import ssh_public_key

ACTIVE_TIMEOUT = 180  # seconds; the simulated lab images a machine in a few


def lifecycle(host: str, token: str, ca_file: str | None = None) -> dict:
    """The SDK's device lifecycle against ``host`` (``https://…/metal/v1``); returns what it saw."""
    config = metalv1.Configuration(host=host, ssl_ca_cert=ca_file)
    config.api_key["x_auth_token"] = token
    seen = {}
    with metalv1.ApiClient(config) as client:
        projects = metalv1.ProjectsApi(client)
        project = projects.create_project(metalv1.ProjectCreateFromRootInput(name="sdk-lifecycle"))
        seen["organization"] = project.organization.href
        keys = metalv1.SSHKeysApi(client)
        key = keys.create_project_ssh_key(project.id, metalv1.SSHKeyCreateInput(label="laptop", key=ssh_public_key()))

        plans = metalv1.PlansApi(client).find_plans().plans
        plan = next(p for p in plans if p.slug == "sim.small")
        assert plan.deployment_types == ["on_demand"]
        metro = next(m for m in metalv1.MetrosApi(client).find_metros().metros if m.code == "lab")
        oses = metalv1.OperatingSystemsApi(client).find_operating_systems().operating_systems
        os_slug = next(o.slug for o in oses if o.slug == "ubuntu_24_04")
        capacity = metalv1.CapacityApi(client).find_capacity_for_metro().capacity
        assert capacity[metro.code][plan.slug].level in ("limited", "normal", "available")

        devices = metalv1.DevicesApi(client)
        in_metro = devices.create_device(project.id, metalv1.CreateDeviceRequest(metalv1.DeviceCreateInMetroInput(
            metro=metalv1.MetroInputMetro(metro.code), plan=plan.slug, operating_system=os_slug, hostname="sdk-metro",
            project_ssh_keys=[key.id], tags=["sdk"])))
        # SDK 0.19.0 only builds metro requests; the facility input is the spec's other shape
        in_facility = devices.create_device(project.id, metalv1.CreateDeviceRequest.model_construct(
            actual_instance=metalv1.DeviceCreateInFacilityInput(
                facility=metalv1.FacilityInputFacility("lab1"), plan=plan.slug, operating_system=os_slug,
                hostname="sdk-facility")))
        assert in_facility.facility.code == "lab1" and in_facility.metro.code == "lab"

        for d in (in_metro, in_facility):
            deadline = time.monotonic() + ACTIVE_TIMEOUT
            while devices.find_device_by_id(d.id).state != "active":
                assert time.monotonic() < deadline, f"device {d.hostname} did not become active"
                time.sleep(0.5)
        listed = devices.find_project_devices_all_pages(project.id, per_page=1)
        assert sorted(d.hostname for d in listed.devices) == ["sdk-facility", "sdk-metro"]

        device = devices.find_device_by_id(in_metro.id)
        bond = next(p for p in device.network_ports if p.name == "bond0")
        assert (bond.type, bond.network_type, bond.data.bonded) == ("NetworkBondPort", "layer3", True)
        devices.perform_action(device.id, metalv1.DeviceActionInput(type="reboot"))
        updated = devices.update_device(device.id, metalv1.DeviceUpdateInput(description="by the SDK",
                                                                            tags=["sdk", "updated"]))
        assert updated.tags == ["sdk", "updated"]

        ips = metalv1.IPAddressesApi(client)
        block = ips.request_ip_reservation(project.id, metalv1.RequestIPReservationRequest(
            metalv1.IPReservationRequestInput(type="public_ipv4", metro=metro.code, quantity=2, details="sdk")))
        block = block.actual_instance
        assert block.details == "sdk" and block.cidr == 31
        assignment = devices.create_ip_assignment(device.id, metalv1.IPAssignmentInput(
            address=f"{block.address}/32"))
        assert assignment.parent_block.network == block.network and assignment.assigned_to.href == device.href
        seen["organizations"] = [o.name for o in metalv1.OrganizationsApi(client).find_organizations().organizations]

        ips.delete_ip_address(assignment.id)
        for d in (in_metro, in_facility):
            devices.delete_device(d.id)
        seen["devices"] = [in_metro.id, in_facility.id]
    return seen


def _run(server, ca_file=None):
    scheme = "https" if ca_file else "http"
    assert server.url.startswith(f"{scheme}://")
    seen = lifecycle(f"{server.url}/metal/v1", server.token, ca_file)
    assert seen["organizations"] and seen["organization"].startswith("/metal/v1/organizations/")


def test_sdk_lifecycle_over_http(server):
    _run(server)


def test_sdk_lifecycle_over_https_with_verification(https_server):
    _run(https_server, https_server.ca_file)
