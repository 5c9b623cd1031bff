"""Idempotency-Key on batch and import requests (the IETF httpapi draft, as Stripe does it)."""
