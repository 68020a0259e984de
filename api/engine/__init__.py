"""The reconciler: state machines, operations, steps, worker, power sync, BMC drivers; imports bmc, boot and below."""
