"""Write docs/equinix-compatibility.md: every operation of the Equinix Metal spec, the SDK method that
calls it, and what Ingot does with it (implemented, implemented with a difference, or a JSON 501
and why), from the spec's operation table, the SDK's API classes and Ingot's OpenAPI document.

    python -m tests.contract.matrix            # write the file
    python -m tests.contract.matrix --check    # exit 1 when the file is not current (a test runs this)
"""
from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from api.app import create_app
from api.core.config import Settings
from api.core.urls import API_PREFIX
from api.routes.unimplemented import normalized, spec_operations
from tests.support.equinix_sdk import EXTENSIONS, SPEC_TYPES, sdk_operations

DOC = Path(__file__).resolve().parents[2] / "docs" / "equinix-compatibility.md"
TOTAL_IN_README = "operations of the Equinix Metal API"  # the README line that carries the counts

# Why Ingot answers 501, by the spec's tag (per operation below, where one differs).
WHY_NOT = {
    "BGP": "networking comes in a later issue (BGP sessions filtered by the metro's router)",
    "Interconnections": "Ingot has no interconnection fabric to other networks",
    "MetalGateways": "networking comes in a later issue (gateways and elastic IPs on the metro's router)",
    "Ports": "networking comes in a later issue (switch ports, bonding, layer 2)",
    "VLANs": "networking comes in a later issue (virtual networks per metro)",
    "VRFs": "Ingot has no VRFs",
    "SpotMarket": "Ingot has no spot market: devices are on demand",
    "Licenses": "Ingot sells no licensed software",
    "Emails": "operators manage users and their emails (`ingot admin user create`)",
    "PasswordResetTokens": "operators set passwords (`ingot admin user set-password`)",
    "UserVerificationTokens": "operators create users; there is nothing to verify",
    "TwoFactorAuth": "Ingot has no two-factor sign-in",
    "PaymentMethods": "Ingot bills nothing",
    "Invoices": "Ingot bills nothing",
    "Usages": "Ingot meters no usage",
    "SelfServiceReservations": "hardware reservations are made by operators (`POST /hardware-reservations`)",
    "TransferRequests": "projects do not move between organizations",
    "Incidents": "Ingot publishes no incident feed",
    "SupportRequest": "Ingot has no support desk",
    "FirmwareSets": "Ingot manages no firmware",
    "ConsoleLogDetails": "no console screenshots (the serial console comes in a later issue)",
}
WHY_NOT_OPERATION = {
    "createUser": "operators create users (`ingot admin user create`)",
    "findInstanceBandwidth": "Ingot meters no traffic",
    "findTraffic": "Ingot meters no traffic",
    "findDeviceUsages": "Ingot meters no usage",
    "getBgpNeighborData": "networking comes in a later issue (BGP)",
    "findBgpSessions": "networking comes in a later issue (BGP)",
    "createBgpSession": "networking comes in a later issue (BGP)",
    "findProjectBgpSessions": "networking comes in a later issue (BGP)",
    "findBgpConfigByProject": "networking comes in a later issue (BGP)",
    "requestBgpConfig": "networking comes in a later issue (BGP)",
    "findGlobalBgpRanges": "networking comes in a later issue (BGP)",
    "activateHardwareReservation": "hardware reservations are active when an operator makes them",
    "moveHardwareReservation": "operators move a reservation (`PUT /hardware-reservations/{id}` with project_id)",
    "findIPAvailabilities": "not yet: list the block's addresses from its network and cidr",
    "findOrganizationPaymentMethods": "Ingot bills nothing",
    "createPaymentMethod": "Ingot bills nothing",
    "findOrganizationTransfers": "projects do not move between organizations",
    "findOrganizationInvoices": "Ingot bills nothing",
    "createTransferRequest": "projects do not move between organizations",
    "findProjectUsage": "Ingot meters no usage",
    "findVirtualNetworks": "networking comes in a later issue (virtual networks per metro)",
    "createVirtualNetwork": "networking comes in a later issue (virtual networks per metro)",
    "findVrfRouteEvents": "Ingot has no VRFs",
    "findInterconnectionEvents": "Ingot has no interconnection fabric",
    "findInterconnectionPortEvents": "Ingot has no interconnection fabric",
    "findVirtualCircuitEvents": "Ingot has no interconnection fabric",
}
# How an implemented operation differs from Equinix Metal's (the rest behave as the spec says).
DIFFERS = {
    "createDevice": "`storage` also takes Equinix's documented `wipe_table` and `mount.create.options` (answers "
                    "use the spec's `wipeTable`, `mount.options`), a JSON string of the layout (Terraform's form), "
                    "and formats ext2/3/4, vfat and swap; `spot_instance`, `spot_price_max`, a required feature "
                    "(`features` as a list of names or an object of name: `required`/`preferred`; a preferred one "
                    "is served by any machine) and `network_frozen` are refused with a 422 naming them; `facility` "
                    "places the device in that facility's metro",
    "findDeviceById": "Ingot's `?wait_for=user_state:succeeded&timeout=…` (or `state:…`) holds the answer until "
                      "the device gets there (header `Ingot-Wait`)",
    "performAction": "`reinstall` with `preserve_data` needs a storage layout with data filesystems (a 422 says "
                     "why) and rewrites only the OS's filesystems; Ingot's `storage` gives a new layout",
    "getDeviceHealthRollup": "from the machine's last BMC health read; `warning` when it was never read or its BMC "
                             "gives no health",
    "createDeviceBatch": "each batch is made whole or not at all; a failed one is stored with its reasons",
    "updateDevice": "`spot_instance`, `network_frozen` and `firmware_set_id` are refused with a 422",
    "findDeviceUserdataByID": "to the device's project's members only (operators who are not get a 403)",
    "findDeviceCustomdata": "to the device's project's members only (operators who are not get a 403)",
    "findDeviceMetadataByID": "to the device's project's members only; no per-device secret in it",
    "findPlans": "`deployment_types` is `on_demand` only; a plan is `available_in` the metros that have "
                 "machines of it (and their facilities)",
    "createProject": "a `payment_method_id` is refused with a 422 (Ingot bills nothing)",
    "updateProject": "`payment_method_id` and `backend_transfer_enabled: true` are refused with a 422",
    "findOrganizations": "the installation's default organization and those of the caller's projects",
    "createOrganization": "operators only",
    "updateOrganization": "operators only",
    "deleteOrganization": "operators only; never the default organization, nor one with projects",
    "createOrganizationInvitation": "`projects_ids` is required: an organization's members are its projects' members",
    "updateMembership": "roles owner, admin, collaborator, limited_collaborator act as members; billing has no rights",
    "acceptInvitation": "the invitee (by email) only",
    "requestIPReservation": "granted at once when the metro's pools have room (no approval); "
                            "`global_ipv4` is refused with a 422",
    "findCapacityForFacility": "a facility offers what its metro has",
    "findCapacityForMetro": "levels from free, unreserved, available machines: unavailable (0), limited (1-2), "
                            "normal (3-9), available (10 or more)",
    "validateUserdata": "checks the cloud-init header and that a #cloud-config is a YAML mapping",
    "deleteUserAPIKey": "the caller's own user keys",
}


def served_operations() -> set[tuple[str, str]]:
    """(METHOD, normalized path) of every operation of Ingot's OpenAPI document."""
    app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="ingot-matrix-"), secret_key="matrix"))
    doc = app.test_client().get(API_PREFIX + "/openapi.json").get_json()
    return {(method.upper(), normalized(path[len(API_PREFIX):])) for path, ops in doc["paths"].items()
            for method in ops if method in ("get", "post", "put", "patch", "delete")}


def rows() -> list[dict]:
    served = served_operations()
    by_key = {v: f"{api}.{method}" for (api, method), v in sdk_operations().items()}
    out = []
    for op in spec_operations():
        key = (op["method"], normalized(op["path"]))
        if key in served:
            note = DIFFERS.get(op["operation_id"], "")
            status = "differs" if note else "implemented"
        else:
            note = WHY_NOT_OPERATION.get(op["operation_id"]) or WHY_NOT.get(op["tag"], "not implemented")
            status = "501"
        out.append({**op, "sdk": by_key.get(key, "—"), "status": status, "note": note})
    return out


def counts_sentence(table: list[dict]) -> str:
    """``<n> of the <total> operations of the Equinix Metal API``, as the README says it too."""
    implemented = sum(r["status"] != "501" for r in table)
    return f"{implemented} of the {len(table)} {TOTAL_IN_README}"


def render(table: list[dict] | None = None) -> str:
    table = table if table is not None else rows()
    counts = Counter(r["status"] for r in table)
    spec_keys = {(op["method"], normalized(op["path"])) for op in spec_operations()}
    sdk_only = sorted(f"{api}.{m}" for (api, m), key in sdk_operations().items() if key not in spec_keys)
    lines = [
        "# Equinix Metal API compatibility",
        "",
        "<!-- generated by `python -m tests.contract.matrix`; tests/contract/test_matrix.py checks it is current -->",
        "",
        f"Ingot implements **{counts_sentence(table)}** "
        f"({counts['implemented']} as the spec has them, {counts['differs']} with a difference said below); "
        f"the other **{counts['501']}** answer `501` with "
        "`{\"errors\": [\"<operationId> is not implemented by Ingot\"]}`.",
        "",
        "The reference is the Equinix Metal OpenAPI spec (equinix/equinix-sdk-go at commit "
        "06c3ecf563d91b0d713ec06098c08134cf65c3e5, `spec/services/metalv1/oas3.patched/`). Every implemented "
        "operation is called by the conformance suite (tests/contract/test_conformance.py) through the official "
        "Python SDK (`equinix==0.19.0`), whose models decode each answer; an answer may carry no field the SDK's "
        "model does not declare, but for Ingot's extensions below. A script of the legacy Packet client "
        "(`packet-python==1.44.3`, which sends `features: {}`, `tags: {}`, empty SSH key lists and nulls for what "
        "its caller left out) runs unchanged too (tests/contract/test_packet_python.py), and so do a script of "
        "Apache Libcloud's Equinix Metal driver (`apache-libcloud==3.9.1`, which sends most writes' fields in the "
        "query string; tests/contract/test_libcloud.py) and a playbook of Ansible's Packet modules "
        "(`community.general.packet_*` of `ansible==9.13.0`, on packet-python; tests/contract/test_ansible_packet.py).",
        "",
        "| status | meaning |",
        "| --- | --- |",
        "| implemented | as the spec describes it |",
        "| differs | implemented; how Ingot differs is in the last column |",
        "| 501 | a JSON `501`; the last column says why |",
        "",
        "## Ingot's extensions",
        "",
        "Fields Ingot adds to Equinix objects (the only fields an answer carries beyond the SDK's models):",
        "",
        "| object | field | meaning |",
        "| --- | --- | --- |",
    ]
    for obj, fields in EXTENSIONS.items():
        for name, meaning in fields.items():
            lines.append(f"| {obj} | `{name}` | {meaning} |")
    lines += ["", "Where the spec Ingot follows types a field otherwise than SDK 0.19.0:", "",
              "| object | field | Ingot answers |", "| --- | --- | --- |"]
    for (obj, name), (_, why) in SPEC_TYPES.items():
        lines.append(f"| {obj} | `{name}` | {why} |")
    lines += ["", "Every request accepts `include` and `exclude` and answers the same shapes either way (related "
              "objects the spec embeds are embedded; the others are `{\"href\": …}` links that resolve).", ""]
    for tag in sorted({r["tag"] for r in table}):
        group = [r for r in table if r["tag"] == tag]
        done = sum(r["status"] != "501" for r in group)
        lines += [f"## {tag} ({done} of {len(group)})", "", "| operation | method and path | SDK (metalv1) | status | "
                  "notes |", "| --- | --- | --- | --- | --- |"]
        for r in group:
            lines.append(f"| `{r['operation_id']}` | `{r['method']} {r['path']}` | `{r['sdk']}` | {r['status']} | "
                         f"{r['note']} |")
        lines.append("")
    lines += ["## SDK methods outside the spec", "",
              "SDK 0.19.0 has these methods the spec (at the commit above) does not; Ingot answers them 404:", ""]
    lines += [f"- `{name}`" for name in sdk_only]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is not current: run python -m tests.contract.matrix", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    counts = Counter(r["status"] for r in rows())
    print(f"{DOC}: {counts['implemented'] + counts['differs']} implemented, {counts['501']} answer 501")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
