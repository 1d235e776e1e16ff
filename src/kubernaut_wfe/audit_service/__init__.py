"""A small DataStorage-compatible audit service: the audit routes of the platform's DataStorage,
validated against the project's spec file, stored in SQLite or PostgreSQL.

`create_app(store, clock=...)` builds the aiohttp application; `serve(host, port, database_url)`
runs it; `kubernaut-wfe audit-server` is the command.
"""

from __future__ import annotations

from kubernaut_wfe.audit_service.app import create_app
from kubernaut_wfe.audit_service.server import serve
from kubernaut_wfe.audit_service.store import AuditStore, store_for_url

__all__ = ["AuditStore", "create_app", "serve", "store_for_url"]
