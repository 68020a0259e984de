"""The ``ingot`` commands for tenants and operators: clients of the HTTP API that import nothing of the
server (a laptop with the wheel, an endpoint and a token is all they need)."""
