"""The controller: kopf watches feed a keyed work queue; the reconciler runs the core's
decisions against the API; metrics, probes and logs around them.

`controller.kopf_setup` wires kopf (credentials, watch settings, handlers) to
`controller.intake`, which turns watch events into cache updates and queued work. Leader
election lives in `controller.leader`, the probes' verdicts in `controller.health` and
`controller.liveness`. For the sandbox: `Controller` (`controller.operator`) is built
from a `ControllerConfig` and a `KubeConfig`, exposes `registry`/`settings` for `kopf.operator`,
and `start()`/`stop()` for everything that is not kopf's (workers, audit delivery, HTTP servers).
"""
