"""SQLAlchemy models, one module per aggregate. Import from here."""
from api.models.base import Base, as_utc, new_id, utcnow  # noqa: F401
from api.models.bgp import BgpConfig, BgpSession  # noqa: F401
from api.models.catalog import Metro, OperatingSystem, Plan  # noqa: F401
from api.models.device import Device, SSHKey, device_ssh_keys  # noqa: F401
from api.models.event import Event  # noqa: F401
from api.models.fabric import AsnRange, GlobalBgpRange, NetworkSync, Router, Switch, VlanRange  # noqa: F401
from api.models.identity import ApiToken, Membership, Project, User  # noqa: F401
from api.models.machine import Machine, Nic  # noqa: F401
from api.models.network import IpAssignment, IpPool, IpReservation  # noqa: F401
from api.models.ports import Port, PortBatch, PortVlanAssignment, VirtualNetwork  # noqa: F401
from api.models.reservation import HardwareReservation  # noqa: F401
from api.models.web import FleetSample, WebSession  # noqa: F401
