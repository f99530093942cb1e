"""The driver app: a web app for the driver's phone, served at /driver/, built only on the public driver API.

These views serve its shell (the page, its service worker and its manifest); everything the app shows and does
goes through ``/api/v1/driver/...`` with the token it signed in with, as any other client's would.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# What the phone keeps to open the app without a network (the API's answers are kept by the app itself).
SHELL_FILES = (
    "driver/app.js",
    "driver/api.js",
    "driver/i18n.js",
    "driver/outbox.js",
    "driver/live.js",
    "driver/camera.js",
    "driver/gps.js",
    "driver/awake.js",
    "driver/views.js",
    "driver/map.js",
    "driver/driver.css",
    "driver/icon.svg",
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/leaflet.css",
)


def _shell() -> tuple[list[str], str]:
    files = [static(name) for name in SHELL_FILES]
    # A new version of any file (hashed names in production) is a new cache: the old one is dropped.
    return files, hashlib.sha256("\n".join(files).encode()).hexdigest()[:12]


@require_GET
def driver_app(request: HttpRequest) -> HttpResponse:
    _, version = _shell()
    context = {
        "tile_url": settings.BOARD_TILE_URL,
        "tile_attribution": settings.BOARD_TILE_ATTRIBUTION,
        "version": version,
    }
    return render(request, "driver/app.html", context)


@require_GET
@cache_control(no_cache=True)
def driver_app_worker(request: HttpRequest) -> HttpResponse:
    files, version = _shell()
    return render(
        request,
        "driver/sw.js",
        {"files": [request.path.replace("sw.js", ""), *files], "version": version},
        content_type="text/javascript",
    )


@require_GET
def driver_app_manifest(request: HttpRequest) -> HttpResponse:
    return render(request, "driver/manifest.webmanifest", {}, content_type="application/manifest+json")
