from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health

admin.site.site_header = "Dispatch exception desk"
admin.site.site_title = "Dispatch admin"
admin.site.index_title = "Administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    re_path(r"^api/(?P<version>v1)/", include("dispatch.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("outreach/", include("outreach.urls")),
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
