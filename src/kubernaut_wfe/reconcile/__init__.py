"""The reconcile path: watch events in (`intake`), the object cache (`cache`), the keyed work
queue (`workqueue`), one reconcile per WFE (`reconciler`, its steps and status writes), Kubernetes
Events (`events`), the hand-off to audit delivery (`audit_handoff`), what it remembers of each WFE
(`memory`) and the reconcile metrics."""
