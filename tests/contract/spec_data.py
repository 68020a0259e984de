"""Write ``api/routes/equinix_operations.json``, the table of the Equinix Metal API's operations Ingot
answers (or refuses with a 501), from the spec's ``oas3.patched`` folder:

    python -m tests.contract.spec_data /path/to/equinix-sdk-go/spec/services/metalv1/oas3.patched

The reference is equinix/equinix-sdk-go at commit 06c3ecf563d91b0d713ec06098c08134cf65c3e5; the
table is committed, so neither the server nor the tests need the spec itself.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

from api.routes.unimplemented import OPERATIONS_FILE

METHODS = ("get", "post", "put", "patch", "delete")
SPEC_COMMIT = "06c3ecf563d91b0d713ec06098c08134cf65c3e5"


def operations(spec_dir: Path) -> list[dict]:
    """(operationId, method, path, tag, summary) of every operation of the spec, in its order."""
    root = yaml.safe_load((spec_dir / "openapi3.yaml").read_text())
    out = []
    for path, ref in root["paths"].items():
        item = yaml.safe_load((spec_dir / ref["$ref"]).read_text())
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            # one operation of the spec has no operationId: name it as the generated clients do
            op_id = op.get("operationId") or re.sub(r"\W+", "_", f"{path.strip('/')}_{method}").replace("__", "_")
            out.append({"operation_id": op_id, "method": method.upper(), "path": path,
                        "tag": (op.get("tags") or [""])[0], "summary": (op.get("summary") or "").strip()})
    return out


def main(argv: list[str]) -> int:
    spec_dir = Path(argv[0])
    ops = operations(spec_dir)
    OPERATIONS_FILE.write_text(json.dumps({"source": f"equinix/equinix-sdk-go@{SPEC_COMMIT}:"
                                                     "spec/services/metalv1/oas3.patched",
                                           "operations": ops}, indent=1) + "\n")
    print(f"{len(ops)} operations -> {OPERATIONS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
