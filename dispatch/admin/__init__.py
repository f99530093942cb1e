"""Django admin for the dispatch app, one module per concern."""

from dispatch.admin import api, people, places, plans, runs, scans, webhooks  # noqa: F401
