from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from dispatch.driver_app import driver_app, driver_app_manifest, driver_app_worker
from exceptions.analytics.api import MetricsCsvView, MetricsView
from exceptions.urls import api_urlpatterns as board_api_urlpatterns
from exceptions.urls import page_urlpatterns as desk_page_urlpatterns
from exceptions.views import DeskLoginView, ThrottledAdminAuthenticationForm
from outreach.pages import recipient_page

admin.site.site_header = "Dispatch exception desk"
admin.site.site_title = "Dispatch admin"
admin.site.index_title = "Administration"
# The same accounts sign in there: the same cap on failed attempts.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", RedirectView.as_view(url="/board/", permanent=False), name="home"),
    path("accounts/login/", DeskLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    *desk_page_urlpatterns,
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    re_path(r"^api/(?P<version>v1)/metrics\.csv$", MetricsCsvView.as_view(), name="metrics-csv"),
    re_path(r"^api/(?P<version>v1)/metrics$", MetricsView.as_view(), name="metrics"),
    re_path(r"^api/(?P<version>v1)/board/", include(board_api_urlpatterns)),
    re_path(r"^api/(?P<version>v1)/", include("dispatch.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("outreach/", include("outreach.urls")),
    # The driver app (a web app on the driver API) and what makes it installable and work offline.
    path("driver/", driver_app, name="driver-app"),
    path("driver/sw.js", driver_app_worker, name="driver-app-worker"),
    path("driver/manifest.webmanifest", driver_app_manifest, name="driver-app-manifest"),
    # The recipient's self-service page: short, since it goes in every text.
    path("r/<str:token>", recipient_page, name="recipient-page"),
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
