from django.contrib import admin
from django.urls import path

from config import health

admin.site.site_header = "Dispatch exception desk"
admin.site.site_title = "Dispatch admin"
admin.site.index_title = "Administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
