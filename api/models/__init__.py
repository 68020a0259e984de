"""SQLAlchemy models, one module per aggregate (import them from here); imports nothing of Ingot's."""
from api.models.base import Base, as_utc, new_id, utcnow  # noqa: F401
from api.models.bgp import BgpConfig, BgpSession  # noqa: F401
from api.models.catalog import Facility, Metro, OperatingSystem, Plan  # noqa: F401
from api.models.device import Batch, Device, SSHKey, device_ssh_keys  # noqa: F401
from api.models.discovery import BmcDiscovery, ProvisioningNetwork  # noqa: F401
from api.models.event import Event  # noqa: F401
from api.models.fabric import AsnRange, GlobalBgpRange, NetworkSync, Router, Switch, VlanRange  # noqa: F401
from api.models.idempotency import IdempotentRequest  # noqa: F401
from api.models.identity import (  # noqa: F401
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Project,
    User,
    invitation_projects,
)
from api.models.limits import RateCounter  # noqa: F401
from api.models.machine import IS_FREE, BootCredential, Machine, Nic  # noqa: F401
from api.models.network import DEVICE_PREFIX, IS_BLOCK, SHORT_PREFIX, IpAssignment, IpPool, IpReservation  # noqa: F401
from api.models.ports import Port, PortBatch, PortVlanAssignment, VirtualNetwork  # noqa: F401
from api.models.reservation import HardwareReservation  # noqa: F401
from api.models.web import FleetSample, WebSession  # noqa: F401
