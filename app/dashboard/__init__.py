"""The dashboard: server-rendered pages over the same services the API reads (issue 14)."""
