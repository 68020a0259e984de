"""The demo lab: a metro (and a facility in it), plans, operating systems,
simulated machines, IP pools and a project, seeded once into an empty database."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import events
from api.core.secrets import SecretBox, new_token
from api.models import Facility, IpPool, Machine, Membership, Metro, Nic, OperatingSystem, Plan, Project, User
from api.services import auth, passwords

SMALL = {"cpus": [{"count": 1, "type": "Simulated 4-core"}], "memory": {"total": "8GB"},
         "drives": [{"count": 1, "size": "240GB", "type": "SSD"}], "nics": [{"count": 1, "type": "1Gbps"}]}
LARGE = {"cpus": [{"count": 2, "type": "Simulated 8-core"}], "memory": {"total": "64GB"},
         "drives": [{"count": 2, "size": "960GB", "type": "SSD"}], "nics": [{"count": 2, "type": "10Gbps"}]}

UBUNTU_CMDLINE = ("ip=dhcp url=http://releases.ubuntu.com/24.04/ubuntu-24.04.1-live-server-amd64.iso "
                  "autoinstall ds=nocloud-net;s={{ metadata_url }}/autoinstall/ cloud-config-url=/dev/null")
DEBIAN_CMDLINE = ("auto=true priority=critical url={{ metadata_url }}/preseed.cfg hostname={{ hostname }} "
                  "domain=localdomain interface=auto")

OPERATING_SYSTEMS = [
    dict(slug="ubuntu_24_04", name="Ubuntu 24.04 LTS", distro="ubuntu", version="24.04",
         install_method="ipxe_recipe", install_kind="autoinstall",
         kernel_url="http://releases.ubuntu.com/24.04/netboot/amd64/linux",
         initrd_url="http://releases.ubuntu.com/24.04/netboot/amd64/initrd",
         cmdline_template=UBUNTU_CMDLINE, default_user="root"),
    dict(slug="debian_12", name="Debian 12", distro="debian", version="12",
         install_method="ipxe_recipe", install_kind="preseed",
         kernel_url="http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/"
                    "netboot/debian-installer/amd64/linux",
         initrd_url="http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/"
                    "netboot/debian-installer/amd64/initrd.gz",
         cmdline_template=DEBIAN_CMDLINE, default_user="root"),
    dict(slug="custom_ipxe", name="Custom iPXE", distro="custom_ipxe", version="",
         install_method="custom_ipxe"),
]

POOLS = [("public_ipv4", "203.0.113.0/24", "203.0.113.1"),
         ("private_ipv4", "10.66.0.0/24", "10.66.0.1"),
         ("public_ipv6", "2001:db8:66::/64", "2001:db8:66::1")]


def sim_machines(count_small: int = 6, count_large: int = 2) -> list[dict]:
    out = []
    for i in range(1, count_small + count_large + 1):
        large = i > count_small
        mac = f"52:54:00:00:{i // 256:02x}:{i % 256:02x}"
        out.append({"hostname": f"sim-{i:02d}", "plan": "sim.large" if large else "sim.small", "mac": mac,
                    "options": {"mac": mac, "cpus": 16 if large else 4, "memory_mib": 65536 if large else 8192,
                                "disks": [{"name": f"sd{c}", "size_gb": 960 if large else 240, "type": "SSD"}
                                          for c in ("ab" if large else "a")]}})
    return out


def seed(session: Session, box: SecretBox, data_dir: str, machines: int = 8) -> dict | None:
    """Seed the demo once. Returns the tokens when it seeded, None if the
    demo was there already (tokens are then read from ``data_dir``)."""
    if session.scalar(select(Metro).where(Metro.code == "lab")):
        _ensure_passwords(session, data_dir)  # a demo seeded before the web console had none
        return None
    metro = Metro(code="lab", name="Ingot demo lab", country="ZZ")
    small = Plan(slug="sim.small", name="Simulated small", plan_class="sim.small", specs=SMALL,
                 match={"cpus": {"max": 8}}, price_hour=0.1)
    large = Plan(slug="sim.large", name="Simulated large", plan_class="sim.large", specs=LARGE,
                 match={"cpus": {"min": 9}}, price_hour=0.5)
    session.add_all([metro, small, large] + [OperatingSystem(**o) for o in OPERATING_SYSTEMS])
    session.flush()
    session.add(Facility(code="lab1", name="Ingot demo lab, room 1", metro_id=metro.id))
    for kind, cidr, gw in POOLS:
        session.add(IpPool(metro_id=metro.id, kind=kind, cidr=cidr, gateway=gw, description="demo lab"))
    plans = {"sim.small": small, "sim.large": large}
    n_large = max(0, min(2, machines - 1)) if machines < 8 else 2
    for spec in sim_machines(machines - n_large, n_large):
        m = Machine(hostname=spec["hostname"], metro=metro, plan=plans[spec["plan"]], state="available",
                    bmc_driver="sim", bmc_address=spec["hostname"], bmc_options=spec["options"],
                    bmc_password_enc=box.encrypt("sim-password"), bmc_username="admin",
                    boot_token=new_token(), power_state="off", power_expected="off")
        m.nics = [Nic(mac=spec["mac"], name="eth0")]
        session.add(m)
    project = Project(name="demo")
    user = User(email="demo@ingot.local", full_name="Demo User")
    session.add_all([project, user])
    session.flush()
    session.add(Membership(user_id=user.id, project_id=project.id, role="owner"))
    _, member_token = auth.issue_token(session, user=user, description="demo member")
    tokens = {"member_token": member_token, "project_id": project.id}
    tokens.update(_console_password(user, "member"))
    if not session.scalar(select(User.id).where(User.is_operator.is_(True))):
        op = User(email="operator@ingot.local", full_name="Demo Operator", is_operator=True)
        session.add(op)
        session.flush()
        _, tokens["operator_token"] = auth.issue_token(session, user=op, description="demo operator")
        tokens.update(_console_password(op, "operator"))
    events.record(session, "demo.seeded", f"demo lab with {machines} simulated machines", project_id=project.id,
                  target_type="project", target_id=project.id)
    session.commit()
    _save(data_dir, tokens)
    return tokens


def _console_password(user: User, role: str) -> dict:
    """Give a demo user a random web-console password; returns what demo-tokens keeps of it."""
    password = new_token()[:16]
    passwords.assign(user, password)
    return {f"{role}_email": user.email, f"{role}_password": password}


def _ensure_passwords(session: Session, data_dir: str) -> None:
    tokens = saved_tokens(data_dir)
    changed = False
    for role, email in (("member", "demo@ingot.local"), ("operator", "operator@ingot.local")):
        user = session.scalar(select(User).where(User.email == email))
        if user is not None and not user.password_hash:
            tokens.update(_console_password(user, role))
            changed = True
    if changed:
        session.commit()
        _save(data_dir, tokens)


def _save(data_dir: str, tokens: dict) -> None:
    path = Path(data_dir) / "demo-tokens"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("".join(f"{k}={v}\n" for k, v in tokens.items()))


def saved_tokens(data_dir: str) -> dict:
    path = Path(data_dir) / "demo-tokens"
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
