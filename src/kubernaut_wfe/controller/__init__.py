"""The controller process around the reconcile path (`kubernaut_wfe.reconcile`): kopf wiring,
leader election, health (probes, liveness, metrics endpoint), logs and the CRD check.

`controller.kopf_setup` wires kopf (credentials, watch settings, handlers) to
`reconcile.intake`, which turns watch events into cache updates and queued work. Leader election
lives in `controller.leader`, the probes and what they judge in `controller.health`. For the
sandbox: `Controller` (`controller.operator`) is built from a `ControllerConfig` and a
`KubeConnection`, exposes `registry`/`settings` for `kopf.operator`, and `start()`/`stop()` for
everything that is not kopf's (workers, audit delivery, HTTP servers).
"""
