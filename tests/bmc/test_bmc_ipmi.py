"""IPMIDriver against a real ipmi_sim (Debian openipmi) on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from pyghmi.ipmi.private import session as ipmi_session

from api.bmc import get_driver
from api.bmc import ipmi as ipmi_mod
from api.bmc.base import BMCAuthFailed, BMCError, BMCUnreachable, BMCUnsupported
from api.bmc.ipmi import asf_ping, parse_address
from tests.support.ports import free_port
from tests.support.waiting import LOAD_SLACK, wait_for

# a live ipmi_sim answers well within this on a busy machine; the timeout tests set their own
LIVE = 30.0


def driver_for(sim, *, password=None, username=None, timeout=LIVE, **options):
    return get_driver("ipmi", sim.address, username or sim.username,
                      sim.password if password is None else password,
                      options=options, timeout=timeout)


# -- power ------------------------------------------------------------------------------


def test_power_on_off(ipmi_bmc):
    d = driver_for(ipmi_bmc)
    d.set_power("off")
    assert d.power_state() == "off"
    d.set_power("on")
    assert d.power_state() == "on"
    assert ipmi_bmc.state()["power"] == 1
    d.set_power("off")
    assert d.power_state() == "off"
    assert ipmi_bmc.state()["power"] == 0


def test_reset_of_a_running_machine_is_a_hard_reset(ipmi_bmc):
    d = driver_for(ipmi_bmc)
    d.set_power("on")
    before = ipmi_bmc.state()["resets"]
    d.set_power("reset")
    assert ipmi_bmc.state()["resets"] == before + 1
    assert d.power_state() == "on"


def test_reset_of_an_off_machine_powers_it_on(ipmi_bmc):
    d = driver_for(ipmi_bmc)
    d.set_power("off")
    before = ipmi_bmc.state()["resets"]
    d.set_power("reset")
    assert d.power_state() == "on"
    assert ipmi_bmc.state()["resets"] == before


def test_soft_off_asks_for_a_graceful_shutdown(ipmi_bmc):
    d = driver_for(ipmi_bmc)
    d.set_power("on")
    before = ipmi_bmc.state()["shutdowns"]
    d.set_power("soft_off")
    assert ipmi_bmc.state()["shutdowns"] == before + 1
    assert d.power_state() == "off"


def test_unknown_power_action_is_unsupported(ipmi_bmc):
    with pytest.raises(BMCUnsupported):
        driver_for(ipmi_bmc).set_power("hibernate")


# -- boot device --------------------------------------------------------------------------


def test_one_time_pxe_boot_is_set_and_read_back(ipmi_bmc):
    d = driver_for(ipmi_bmc)
    d.set_boot_device("pxe")
    assert ipmi_bmc.state()["boot"] == "pxe"
    back = d.get_boot_device()
    assert back["device"] == "pxe"
    # ipmi_sim drops the valid/persistent bits of the boot flags, so it cannot tell
    assert back["persistent"] is None


def test_persistent_disk_boot_is_set_and_read_back(ipmi_bmc):
    d = driver_for(ipmi_bmc)
    d.set_boot_device("disk", persistent=True)
    assert ipmi_bmc.state()["boot"] == "default"  # IPMI "force boot from default hard-drive"
    assert d.get_boot_device()["device"] == "disk"
    d.set_boot_device("cdrom")
    assert ipmi_bmc.state()["boot"] == "cdrom"
    assert d.get_boot_device()["device"] == "cdrom"


def test_unknown_boot_device_is_unsupported(ipmi_bmc):
    with pytest.raises(BMCUnsupported):
        driver_for(ipmi_bmc).set_boot_device("floppy")


# -- inventory ------------------------------------------------------------------------------


def test_inventory_reads_the_fru(ipmi_bmc):
    inv = driver_for(ipmi_bmc).inventory()
    assert inv.serial == ipmi_bmc.fru["serial"]
    assert inv.vendor == ipmi_bmc.fru["manufacturer"]
    assert inv.model == ipmi_bmc.fru["product"]
    # plain IPMI has no standard CPU/memory/disk/NIC inventory
    assert (inv.cpus, inv.memory_mib, inv.disks, inv.nics) == (None, None, [], [])


# -- credentials and reachability ---------------------------------------------------------


def test_wrong_password_is_auth_failed_and_names_the_bmc(ipmi_bmc):
    with pytest.raises(BMCAuthFailed) as exc:
        driver_for(ipmi_bmc, password="not-it").power_state()
    assert ipmi_bmc.address in str(exc.value)


def test_unknown_user_is_auth_failed(ipmi_bmc):
    with pytest.raises(BMCAuthFailed, match=ipmi_bmc.address):
        driver_for(ipmi_bmc, username="nobody").power_state()


def test_dead_port_is_unreachable_within_the_timeout():
    address = f"127.0.0.1:{free_port(udp=True)}"
    d = get_driver("ipmi", address, "admin", "x", timeout=2.0)
    t0 = time.monotonic()
    with pytest.raises(BMCUnreachable, match=address):
        d.power_state()
    assert time.monotonic() - t0 < 2.0 + LOAD_SLACK


def test_a_dead_bmc_does_not_block_a_live_one(ipmi_bmc):
    """Live calls go on while a dead BMC's login is pending (pyghmi gives up on it after
    a few seconds): a live call held behind it would end only after it. How fast live
    calls are beside a dead BMC, against alone, is bench/power_sync.py's IPMI figure."""
    live = driver_for(ipmi_bmc)
    live.power_state()  # session up
    dead = get_driver("ipmi", f"127.0.0.1:{free_port(udp=True)}", "admin", "x", timeout=20.0)
    outcome: dict[str, object] = {}
    calling = threading.Event()

    def poll_dead():
        t0 = time.monotonic()
        calling.set()
        try:
            dead.power_state()
        except BMCError as exc:
            outcome["dead"] = exc
        outcome["dead_s"] = time.monotonic() - t0

    thread = threading.Thread(target=poll_dead)
    thread.start()
    assert calling.wait(30)
    t0 = time.monotonic()
    states, while_dead_waits = [], 0
    for _ in range(20):
        states.append(live.power_state())
        while_dead_waits += thread.is_alive()
    live_s = time.monotonic() - t0
    thread.join(20.0 + LOAD_SLACK)
    print(f"\n20 live IPMI calls beside a dead BMC: {live_s:.2f}s, {while_dead_waits} of them while it "
          f"waited {outcome.get('dead_s', 0):.1f}s")
    assert set(states) <= {"on", "off"}
    assert while_dead_waits >= 1, "no live call finished before the dead BMC gave up"
    assert isinstance(outcome["dead"], BMCUnreachable)
    assert outcome["dead_s"] < 20.0 + LOAD_SLACK


def test_an_io_thread_being_started_is_not_taken_for_dead(monkeypatch):
    """pyghmi assigns its I/O thread before it starts it. A call that looked in between took it for dead and
    reset pyghmi under the call that was starting it (which then failed with IndexError: cc15, a clean-clone
    run beside a CPU hog); only a thread that has run and ended is dead."""
    release = threading.Event()
    thread = threading.Thread(target=release.wait, daemon=True)
    monkeypatch.setattr(ipmi_session, "iothread", thread)
    assert ipmi_mod.pyghmi_alive()  # assigned, not started yet
    thread.start()
    assert ipmi_mod.pyghmi_alive()
    release.set()
    thread.join(30)
    assert not ipmi_mod.pyghmi_alive()  # it ran and ended


def test_concurrent_drivers_on_one_bmc_do_not_hang(ipmi_bmc):
    """pyghmi shares one session per BMC; concurrent commands on it used to hang."""
    driver_for(ipmi_bmc).power_state()  # an established, shared session
    errors: list[BaseException] = []

    def worker():
        try:
            d = driver_for(ipmi_bmc)
            for _ in range(5):
                d.power_state()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60  # 30 calls of a few ms each: a hang, not a busy machine, reaches it
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_frozen_bmc_is_unreachable_within_the_timeout_and_recovers(lone_ipmi_bmc):
    sim = lone_ipmi_bmc
    d = driver_for(sim, timeout=2.0)
    assert driver_for(sim).power_state() == "on"
    os.kill(sim.process.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(BMCUnreachable, match=sim.address):
            d.power_state()
        assert time.monotonic() - t0 < 2.0 + LOAD_SLACK  # its own timeout ended the call
    finally:
        os.kill(sim.process.pid, signal.SIGCONT)
    # the wedged session is dropped; a new one comes up once the BMC answers again
    assert wait_for(lambda: driver_for(sim).power_state(), ignore=(BMCUnreachable,),
                    message="a new session") == "on"


def test_stopped_bmc_is_unreachable(lone_ipmi_bmc):
    sim = lone_ipmi_bmc
    d = driver_for(sim, timeout=2.0)
    assert driver_for(sim).power_state() == "on"
    sim.stop()
    t0 = time.monotonic()
    with pytest.raises(BMCUnreachable):
        d.power_state()
    assert time.monotonic() - t0 < 2.0 + LOAD_SLACK


# -- addresses ----------------------------------------------------------------------------------


def test_address_forms():
    assert parse_address("10.0.0.7") == ("10.0.0.7", 623)
    assert parse_address("10.0.0.7:6230") == ("10.0.0.7", 6230)
    assert parse_address("10.0.0.7", 6231) == ("10.0.0.7", 6231)
    assert parse_address("[fd00::7]:6230") == ("fd00::7", 6230)
    assert parse_address("fd00::7") == ("fd00::7", 623)
    with pytest.raises(BMCError):
        parse_address("10.0.0.7:notaport")
    with pytest.raises(BMCError):
        parse_address("")


def test_port_option_is_used(ipmi_bmc):
    d = get_driver("ipmi", ipmi_bmc.host, ipmi_bmc.username, ipmi_bmc.password,
                   options={"port": ipmi_bmc.port}, timeout=LIVE)
    assert d.power_state() in ("on", "off")


def test_an_idle_session_is_replaced_by_a_fresh_login(ipmi_bmc, monkeypatch):
    """pyghmi wedges a session left idle past its keepalive time; the driver re-logs in."""
    monkeypatch.setattr(ipmi_mod, "IDLE_RELOGIN", 0.3)
    d = driver_for(ipmi_bmc)
    d.power_state()
    first = ipmi_mod._COMMANDS[d._key][0]
    time.sleep(0.5)  # idle longer than IDLE_RELOGIN (a busy machine only makes it longer)
    assert d.power_state() in ("on", "off")
    second = ipmi_mod._COMMANDS[d._key][0]
    assert second is not first
    assert first.ipmi_session.broken  # logged out, never reused
    monkeypatch.setattr(ipmi_mod, "IDLE_RELOGIN", 3600.0)  # however slow this machine is, not idle now
    assert d.power_state() in ("on", "off")
    assert ipmi_mod._COMMANDS[d._key][0] is second  # not idle: kept


# -- pyghmi's own state wedged ------------------------------------------------------------------


def test_a_dead_pyghmi_io_thread_is_replaced(ipmi_bmc):
    """pyghmi's one I/O thread dying used to hang every later call to every BMC in the process."""
    d = driver_for(ipmi_bmc)
    assert d.power_state() in ("on", "off")
    old = ipmi_session.iothread
    old.running = False  # what an exception inside it amounts to: it leaves its loop
    wake = ipmi_session.iosockets[0]  # a byte to its own socket wakes it up, so that it sees the flag
    wake.sendto(b"\x01", (ipmi_session.myself, wake.getsockname()[1]))
    threading.Thread.join(old, LIVE)  # pyghmi overrides join() without a timeout
    assert not old.is_alive()
    assert d.power_state() in ("on", "off")
    assert ipmi_session.iothread is not old and ipmi_session.iothread.is_alive()


@pytest.mark.parametrize("held", ["socketchecking", "KEEPALIVE_SESSIONS", "WAITING_SESSIONS"])
def test_a_wedged_pyghmi_is_reset_when_the_bmc_answers_a_ping(make_ipmi_bmc, held):
    """A call that hangs in pyghmi although the BMC answers is unreachable once, then recovers: here a
    thread stuck inside pyghmi holds one of its process-wide locks, as seen in a CI run."""
    sim = make_ipmi_bmc()
    assert asf_ping(sim.host, sim.port)
    driver_for(sim).power_state()  # pyghmi is set up
    owner = ipmi_session.Session if held == "socketchecking" else ipmi_session
    stuck = getattr(owner, held)
    stuck.acquire()  # every new session's login waits on it
    before = set(threading.enumerate())
    try:
        with pytest.raises(BMCUnreachable, match="no answer"):
            driver_for(sim, username="operator2", timeout=2.0).power_state()
        assert getattr(owner, held) is not stuck
    finally:
        stuck.release()
    # the abandoned login wakes up on pyghmi's old state and gives up within its retries; calls made
    # meanwhile run pyghmi's event loop over its session too (CI saw EBADF from a closed old socket)
    (abandoned,) = [t for t in set(threading.enumerate()) - before if t.name.startswith("ipmi-")]
    give_up = time.monotonic() + 120  # pyghmi's retries end in seconds; this only bounds a hang
    while abandoned.is_alive() and time.monotonic() < give_up:
        assert driver_for(sim).power_state() in ("on", "off")
        abandoned.join(0.05)
    assert not abandoned.is_alive()
    assert driver_for(sim).power_state() in ("on", "off")


@pytest.mark.parametrize("step", ["looking for a session to share", "first send"])
def test_a_login_giving_up_beside_a_fresh_one_does_not_take_the_bmc_from_it(make_ipmi_bmc, monkeypatch, step):
    """pyghmi's table of sessions (BMC address -> local port -> session) changes without a lock: a login giving
    up removes its port, and the BMC's address when that empties it, while a fresh login to the same BMC finds
    the address in the table and then reads it (looking for a session to share) or adds its port to it (its
    first send). CI: the login abandoned in a wedge gave up in between, beside the fresh login after the reset,
    which failed with KeyError on the BMC's address. Here it gives up at that very point, whatever the timing;
    the fresh login must go on."""
    sim = make_ipmi_bmc()
    # a login under way (pyghmi's asynchronous form: sent, not answered yet; nobody runs its event loop)
    pending = ipmi_session.Session(bmc=sim.host, userid=b"operator2", password=sim.password.encode(),
                                   port=sim.port, onlogon=lambda response: None)
    (address,) = pending.allsockaddrs
    assert pending.logging and address in ipmi_session.Session.bmc_handlers
    checks = {"looking for a session to share": 1, "first send": 2}[step]
    seen: list[str] = []

    class GivesUpInBetween(type(ipmi_session.Session.bmc_handlers)):
        def __contains__(self, key):
            found = super().__contains__(key)
            # the fresh login's look-ups run in the driver's worker; the I/O thread's and the logout's do not count
            if key == address and threading.current_thread().name.startswith("ipmi-") and len(seen) < checks:
                seen.append(threading.current_thread().name)
                if len(seen) == checks:
                    pending._mark_broken("retries exhausted")  # what pyghmi does when a login gives up
            return found

    monkeypatch.setattr(ipmi_session.Session, "bmc_handlers", GivesUpInBetween(ipmi_session.Session.bmc_handlers))
    assert driver_for(sim).power_state() in ("on", "off")
    assert len(seen) == checks and pending.broken  # it did give up there


def test_a_login_giving_up_on_a_shared_socket_leaves_the_fresh_session_its_answers(make_ipmi_bmc, monkeypatch):
    """Two logins to one BMC started at once can get one pyghmi socket (pyghmi keeps a session off another's
    socket only once that one has sent), so one entry in its table: the later to send takes it, and its logout
    removed it, and the other's answers went nowhere until it logged in again (seconds; the wedged tests above:
    the abandoned login and the fresh one after the reset). Here the abandoned login has its socket and waits
    while the fresh one logs in; then it goes on, is rejected and logs out."""
    sim = make_ipmi_bmc()
    ipmi_mod.reset_pyghmi("test: no socket yet, so the two logins below get the same one")
    abandoned: list = []
    socket_chosen, go = threading.Event(), threading.Event()
    login = ipmi_session.Session.login

    def held_login(session):  # called once the session has its socket, before it sends anything
        if session.userid == b"operator2":
            abandoned.append(session)
            socket_chosen.set()
            go.wait(LIVE)
        return login(session)

    monkeypatch.setattr(ipmi_session.Session, "login", held_login)
    outcome: list[BaseException] = []

    def rejected_login():
        try:
            driver_for(sim, username="operator2", timeout=2 * LIVE).power_state()
        except BMCError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=rejected_login)
    thread.start()
    try:
        assert socket_chosen.wait(LIVE)
        fresh = driver_for(sim)
        assert fresh.power_state() in ("on", "off")
    finally:
        go.set()
    thread.join(2 * LIVE + LOAD_SLACK)
    assert [type(exc) for exc in outcome] == [BMCAuthFailed]
    live = ipmi_mod._COMMANDS[fresh._key][0].ipmi_session
    assert abandoned[0].socket is live.socket and abandoned[0].broken  # they did share it, and it logged out
    # answers on that socket from that BMC go to the live session again, and it answers at once
    route = ipmi_session.Session.bmc_handlers.get(live.sockaddr, {})
    assert route.get(live.socket.getsockname()[1]) is live
    assert fresh.power_state() in ("on", "off")


def test_a_retransmit_to_a_dead_bmc_does_not_deadlock_a_send_to_a_live_one(ipmi_bmc, monkeypatch):
    """pyghmi retransmits holding WAITING_SESSIONS and wanting KEEPALIVE_SESSIONS, and sends holding
    KEEPALIVE_SESSIONS and wanting WAITING_SESSIONS: a dead BMC's retries and a live BMC's read that met
    there hung for ever (CI: test_port_option_is_used beside the stopped BMC's abandoned retries, "no
    answer within 30s" from a BMC that answered a ping). The two steps are held here at that meeting
    point, whatever the machine's speed; the live read must still answer, without a reset."""
    live = driver_for(ipmi_bmc)
    assert live.power_state() in ("on", "off")  # logged in before the meeting is armed
    dead_port = free_port(udp=True)
    dead_retrying, live_sending = threading.Event(), threading.Event()
    timed_out, xmit = ipmi_session.Session._timedout, ipmi_session.Session._xmit_packet

    def held_retransmit(session):  # runs under WAITING_SESSIONS
        if session.port == dead_port and session.lastpayload and not dead_retrying.is_set():
            dead_retrying.set()
            live_sending.wait(2.0)  # a fixed pyghmi never lets the live send start meanwhile
        return timed_out(session)

    def held_send(session, *args, **kwargs):  # runs under KEEPALIVE_SESSIONS
        if session.port != dead_port and dead_retrying.is_set() and not live_sending.is_set():
            live_sending.set()
            dead_retrying.wait(2.0)
        return xmit(session, *args, **kwargs)

    monkeypatch.setattr(ipmi_session.Session, "_timedout", held_retransmit)
    monkeypatch.setattr(ipmi_session.Session, "_xmit_packet", held_send)
    resets: list[str] = []
    real_reset = ipmi_mod.reset_pyghmi
    monkeypatch.setattr(ipmi_mod, "reset_pyghmi", lambda reason: (resets.append(reason), real_reset(reason)))
    dead = get_driver("ipmi", f"127.0.0.1:{dead_port}", "admin", "x", timeout=20.0)
    outcome: list[BaseException] = []

    def poll_dead():
        try:
            dead.power_state()
        except BMCError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=poll_dead)
    thread.start()
    assert dead_retrying.wait(LIVE), "the dead BMC's login was never retransmitted"
    assert live.power_state() in ("on", "off")
    assert live_sending.is_set()  # the live read did meet the retransmit
    assert resets == []
    thread.join(20.0 + LOAD_SLACK)
    assert not thread.is_alive()
    assert [type(exc) for exc in outcome] == [BMCUnreachable]


def test_a_read_whose_turn_comes_late_is_busy_and_resets_nothing(lone_ipmi_bmc, monkeypatch):
    """One exchange at a time per BMC: a read that waited most of its time for its turn behind a slow exchange
    and then ran out of time talking says the BMC is busy. It does not reset pyghmi (the BMC answers a ping:
    before, that read reset pyghmi, cutting off whatever exchange was being answered), and both reads end."""
    sim = lone_ipmi_bmc
    slow = driver_for(sim)
    assert slow.power_state() in ("on", "off")  # logged in before the holds are armed
    limit = 4.0
    first_sender: list[int] = []
    first_held, first_go, late_go = threading.Event(), threading.Event(), threading.Event()
    xmit = ipmi_session.Session._xmit_packet

    def held_send(session, *args, **kwargs):  # the drivers' sends wait: the first read's, then the late one's
        me = threading.get_ident()
        if threading.current_thread().name.startswith("ipmi-"):  # a driver's worker, not pyghmi's I/O thread
            if not first_sender:
                first_sender.append(me)
            if me == first_sender[0]:
                first_held.set()
                first_go.wait(LIVE)
            else:
                late_go.wait(LIVE)
        return xmit(session, *args, **kwargs)

    monkeypatch.setattr(ipmi_session.Session, "_xmit_packet", held_send)
    resets: list[str] = []
    real_reset = ipmi_mod.reset_pyghmi
    monkeypatch.setattr(ipmi_mod, "reset_pyghmi", lambda reason: (resets.append(reason), real_reset(reason)))
    answers: list[object] = []

    def read(driver) -> None:
        try:
            answers.append(driver.power_state())
        except BMCError as exc:
            answers.append(exc)

    first = threading.Thread(target=read, args=(slow,))
    first.start()
    try:
        assert first_held.wait(LIVE), "the first read never sent"
        late = threading.Thread(target=read, args=(driver_for(sim, timeout=limit),))
        late.start()
        time.sleep(limit * 0.75)  # its turn comes with a quarter of its time left (later, under load: the same)
        first_go.set()
        late.join(limit + LOAD_SLACK)
    finally:
        first_go.set()
        late_go.set()
    first.join(LIVE + LOAD_SLACK)
    assert len(answers) == 2
    late_answer = next(a for a in answers if isinstance(a, BMCError))
    assert isinstance(late_answer, BMCUnreachable) and "BMC busy with an earlier request" in str(late_answer)
    assert [a for a in answers if not isinstance(a, BMCError)][0] in ("on", "off")
    assert resets == []
