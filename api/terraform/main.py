"""Entry point of the `terraform-provider-metal` console script."""
from __future__ import annotations

import sys

import tf.provider as tf_provider
from tf import runner

from .provider import MetalProvider
from .servicer import MetalServicer
from .spec import load


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] in ("--version", "version"):
        print(load().version)
        return
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(
            "terraform-provider-metal: the Ingot Terraform provider (plugin protocol 6).\n"
            "Terraform starts it; run `ingot terraform install` to make Terraform find it.\n"
            "Serves the resources and data sources declared in provider-schema/."
        )
        return

    provider = MetalProvider()
    _keep_serving_on_stop(runner)
    # tf's runner instantiates tf.provider.ProviderServicer; serve our generic servicer instead.
    tf_provider.ProviderServicer = MetalServicer  # type: ignore[misc]
    runner.run_provider(provider, argv)


def _keep_serving_on_stop(runner) -> None:
    """tf's runner kills the gRPC server as soon as Terraform sends StopProvider (on Ctrl-C).
    Terraform then still waits for in-flight applies; keep serving so they can return the
    objects they created (our StopProvider makes their waits end), and exit on the
    go-plugin Shutdown / process end as usual."""
    original = runner._ShutdownInterceptor.intercept_service

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method == "/tfplugin6.Provider/StopProvider":
            return continuation(handler_call_details)
        return original(self, continuation, handler_call_details)

    runner._ShutdownInterceptor.intercept_service = intercept_service


if __name__ == "__main__":
    main()
