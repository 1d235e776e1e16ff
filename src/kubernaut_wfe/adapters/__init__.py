"""Adapters: the I/O edges of the controller (Kubernetes API, audit delivery)."""
