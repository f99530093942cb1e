"""Django admin for the dispatch app, one module per concern."""

from dispatch.admin import api, domain, plans, webhooks  # noqa: F401
