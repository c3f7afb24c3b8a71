"""The operator dashboard's pages, and its login and logout."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.fleet_view, name="fleet"),
    path("chargers/<str:charge_point_id>/", views.charger_view, name="charger"),
    path("chargers/<str:charge_point_id>/commands/", views.command_create_view, name="command-create"),
    path("chargers/<str:charge_point_id>/registration/", views.registration_view, name="registration"),
    path("sessions/", views.sessions_view, name="sessions"),
    path("sessions/<int:pk>/", views.session_view, name="session"),
    path("pending/", views.pending_view, name="pending"),
    path("pending/accept/", views.pending_accept_view, name="pending-accept"),
    path("id-tags/", views.id_tags_view, name="id-tags"),
    path("id-tags/<str:id_tag>/", views.id_tag_action_view, name="id-tag-action"),
    path("favicon.ico", views.favicon_view, name="favicon"),
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
