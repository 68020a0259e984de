"""Which folders of tests/ carry a mark, and which part of ``make test`` runs each mark."""
from __future__ import annotations

import re
from pathlib import Path

# a folder's tests get its mark (tests/conftest.py); the Makefile's parts select by these marks
FOLDER_MARKS = {"qemu": "qemu", "terraform": "terraform", "bmc": "bmc", "fleet": "fleet", "lab": "lab",
                "network": "network", "cli": "client", "web": "client", "production": "production"}


def makefile_marks(makefile: Path) -> dict[str, set[str]]:
    """The marks named by NOT_DATABASE and by each part's ``$(call PYTEST,"…")``, keyed by variable or target."""
    text = makefile.read_text()
    out = {"NOT_DATABASE": set(re.search(r"^NOT_DATABASE := (.+)$", text, re.M).group(1).split(" or "))}
    for target, expr in re.findall(r'^(test-[a-z]+):.*\n(?:\t.*\n)*?\t.*\$\(call PYTEST,"([^"]+)"\)', text, re.M):
        if "NOT_DATABASE" not in expr:
            out[target] = set(expr.split(" or "))
    return out
