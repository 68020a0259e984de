"""A device's ``network_ports`` as Equinix shows them: ``bond0`` (a ``NetworkBondPort`` in
``layer3``, bonded) and its member ports, one per NIC of the device's machine.

Clients derive a device's network type from these (``bond0`` in ``layer3`` with bonded members is
``layer3``). The ports come from the machine's NICs until switch ports are modelled; this function
is the one place that renders them."""
from __future__ import annotations

import uuid

# bond0's id is derived from its device, so it is stable across reads
_BOND_NAMESPACE = uuid.UUID("5b0e8a44-8f1f-4d38-9d8c-4f1c0d1a13a0")


def network_ports(device) -> list[dict]:
    """``bond0`` and its members (``eth0``, ``eth1``… from the machine's NICs); none without a machine."""
    nics = list(device.machine.nics) if device.machine is not None else []
    if not nics:
        return []
    bond_id = str(uuid.uuid5(_BOND_NAMESPACE, device.id))
    bond = {"id": bond_id, "name": "bond0"}
    ports = [{"id": bond_id, "name": "bond0", "type": "NetworkBondPort", "network_type": "layer3",
              "data": {"bonded": True, "mac": nics[0].mac}, "native_virtual_network": None,
              "virtual_networks": [], "disbond_operation_supported": False}]
    for i, nic in enumerate(nics):
        ports.append({"id": nic.id, "name": nic.name or f"eth{i}", "type": "NetworkPort", "bond": bond,
                      "data": {"bonded": True, "mac": nic.mac}, "native_virtual_network": None,
                      "virtual_networks": [], "disbond_operation_supported": False})
    return ports
