from django.urls import path

from gateway import views

app_name = "gateway"

urlpatterns = [
    path("auth", views.auth_view, name="auth"),
]
