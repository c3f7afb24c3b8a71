from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", views.metrics_view, name="metrics"),
    path("healthz", views.healthz_view, name="healthz"),
    path("gateway/", include("gateway.urls")),
    path("api/v1/", include("chargers.api.urls")),
    path("api/v1/", include("gateway.api.urls")),
    path("api/v1/", include("transactions.api.urls")),
    path("api/v1/", include("mqtt_bridge.api.urls")),
    path("api/v1/", include("certificates.api.urls")),
    path("api/v1/", include("maintenance.api.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/", include("monitoring.api.urls")),
    path("api/v1/", include("smartcharging.api.urls")),
    path("api/v1/", include("displays.api.urls")),
    path("api/v1/", include("privacy.api.urls")),
    path("api/v1/", include("tariffs.api.urls")),
    path("api/v1/", include("eventstreams.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Past every API route: an unmatched /api/ path is the API's JSON 404, never the dashboard's HTML page.
    re_path(r"^api/(?P<path>.*)$", views.api_not_found_view),
    path("", include("dashboard.urls")),
]
