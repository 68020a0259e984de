"""Ingot's deploy ramdisk: build code (:mod:`.build`) and the agent's shell scripts.

``init.sh`` is the deploy agent (/init), ``lib.sh`` its helpers (shared with the
test OS's ``os-init.sh``), ``udhcpc.sh`` the DHCP event script. The agent's
contract with Ingot is documented in docs/ramdisk.md.
"""
from api.boot.ramdisk.build import MODULE_SETS, Ramdisk, RamdiskBuildError, build_ramdisk, cache_dir, fetch_kernel  # noqa: F401
