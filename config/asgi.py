"""ASGI entry point: HTTP through Django (on a fixed pool of request threads), websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from config.threads import RequestThreadPool  # noqa: E402
from config.websockets import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": RequestThreadPool(django_asgi_app, size=settings.WEB_REQUEST_THREADS),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
