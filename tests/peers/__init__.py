"""Real protocol peers for tests: emulators started on 127.0.0.1 and stopped again.

Every helper here starts a real process (``sushy-emulator``, ``ipmi_sim``),
waits until it answers, and returns a handle whose ``stop()`` always cleans
up.  Nothing is mocked.  Each helper is a plain function that also works as a
context manager, so any test folder (or a benchmark) can use it::

    from tests.peers.redfish import start_sushy_emulator, fake_system

    with start_sushy_emulator([fake_system(0)]) as bmc:
        print(bmc.url, bmc.system_ids)

A missing binary fails loudly with the Debian/PyPI package to install.
"""
from ._util import PeerError, free_tcp_port, free_udp_port, wait_until  # noqa: F401
