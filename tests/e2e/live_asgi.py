"""The product's ASGI application with its static files served, as Django's live test servers do.

Production serves ``static/`` from ``collectstatic``'s output; the browser tests serve it straight
from the finders (the build step's ``static/vendor/`` included), like ``StaticLiveServerTestCase``.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from config.asgi import application as product

application = ASGIStaticFilesHandler(product)
