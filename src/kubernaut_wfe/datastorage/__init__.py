"""The DataStorage audit API: generated models, the typed async client, the audit event builder."""
