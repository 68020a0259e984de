"""Real protocol peers for tests: emulators and servers started on 127.0.0.1 and stopped again.

Every helper here starts a real process or server (``sushy-emulator``, ``ipmi_sim``,
an HTTP tap, a black hole, ...), waits until it answers, and returns a handle whose
``stop()`` always cleans up (thawing a process a test froze).  Nothing is mocked.
Each handle also works as a context manager, so any test folder (or a benchmark)
can use it::

    from tests.support.peers.redfish import start_sushy_emulator, fake_system

    with start_sushy_emulator([fake_system(0)]) as bmc:
        print(bmc.url, bmc.system_ids)

A missing binary fails loudly with the Debian/PyPI package to install.
"""
