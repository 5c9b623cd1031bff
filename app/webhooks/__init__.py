"""Signed webhooks from Discourse, Slack, GitHub and any other sender (a generic signed JSON)."""
