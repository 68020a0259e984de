"""The fake systems the BMC tests share (one per concern, so tests stay independent)."""
from tests.support.peers.redfish import fake_system

# Systems of the shared Redfish emulator, one per concern so tests stay independent.
INSPECT = fake_system(0, power_state="Off", nics=2, name="inspect-me", disks=[
    {"name": "sda", "size_bytes": 480_103_981_056, "protocol": "SATA"},
    {"name": "nvme0n1", "size_bytes": 1_920_383_410_176, "protocol": "NVMe"},
])
POWER_ON = fake_system(1, power_state="Off", name="power-on")
POWER_OFF = fake_system(2, power_state="On", name="power-off")
RESET = fake_system(3, power_state="On", name="reset")
SOFT_OFF = fake_system(4, power_state="On", name="soft-off")
BOOT = fake_system(5, power_state="Off", name="boot")
VMEDIA = fake_system(6, power_state="Off", name="vmedia")
QUIRKS = fake_system(7, power_state="On", name="quirks")  # behind a rewriting tap only
SHARED_SYSTEMS = [INSPECT, POWER_ON, POWER_OFF, RESET, SOFT_OFF, BOOT, VMEDIA, QUIRKS]

# the fake driver applies power changes 1-11 s after the request (more on a busy machine)
POWER_DEADLINE = 90.0
