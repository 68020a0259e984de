"""``python -m api.cli``: the ``ingot`` command."""
from api.cli import main

main(prog_name="ingot")
