"""The one helper package of the test suite and of bench/: what more than one
test folder (or a benchmark) needs, each helper once.

* ``waiting``  -- ``wait_for`` (poll with a generous deadline, never sleep to synchronise), ``LOAD_SLACK``
* ``ports``    -- ``free_port``
* ``settings`` -- the tests' ``Settings`` (``make_settings``, ``short_waits``) and ``TEST_DB``
* ``postgres`` -- a throwaway PostgreSQL cluster
* ``clients``  -- HTTP clients: ``Tenant`` (in process), ``Cloud`` and ``Fleet`` (a real server), ``make_user``
* ``server``   -- ``start_server``: Ingot on a real HTTP server with the simulated lab
* ``production`` -- gunicorn and ``ingot worker`` processes started the way production does
* ``cli``      -- ``Laptop``: the ``ingot`` command as a separate process, with a home of its own
* ``keys``     -- ``ssh_public_key``
* ``tls``      -- ``make_test_pki``: a test CA and a server certificate it signs
* ``equinix_sdk`` -- the official Equinix Metal SDK as the oracle of the wire contract (``Client``,
  ``decode``, ``undeclared``, ``EXTENSIONS``, ``sdk_operations``)
* ``stats``    -- ``percentile``
* ``openapi_examples`` -- the OpenAPI document's examples, made by running them against a demo
  (``python -m tests.support.openapi_examples`` rewrites ``api/routes/examples.json``)
* ``dnsmasq``  -- ``dnsmasq_test``: ``dnsmasq --test`` on a rendered configuration
* ``netboot``  -- a machine's netboot driven in process (``at_step``, ``lookup``, ``boot_credential``,
  ``metadata_secret``) and ``raw_http`` (bytes on a socket, for what the HTTP servers answer themselves)
* ``world``    -- the security suite's populated world of objects
* ``terraform``, ``qemu`` -- runners and waits for those folders
* ``workers``  -- ``WorkerProcess``: ``ingot worker`` in a process of its own (to kill)
* ``netlab``, ``labvm``, ``netcloud`` -- the network lab (namespaces with a switch, hosts, FRR, BIRD,
  lldpd; in a small VM when this kernel lacks VLAN filtering) and Ingot set up to drive it
* ``peers``    -- real protocol peers: sushy-emulator, ipmi_sim, an HTTP tap, a black hole, the
  netboot bridge, a stand-in Ingot for the QEMU component tests

Test modules and bench/ import from here; conftest.py files only declare fixtures.
"""
