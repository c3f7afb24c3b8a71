from django.contrib import admin
from django.urls import include, path

from backoffice import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", views.metrics_view, name="metrics"),
    path("healthz", views.healthz_view, name="healthz"),
    path("gateway/", include("gateway.urls")),
    path("", include("dashboard.urls")),
]
