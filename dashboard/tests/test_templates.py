"""The project-wide templates (templates/): the layout, the login page, the error pages, the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.urls("dashboard.tests.error_urls")
@pytest.mark.parametrize(
    ("url", "status", "title"),
    [
        ("/fail/400/", 400, "Bad request"),
        ("/fail/403/", 403, "Forbidden"),
        ("/no/such/page/", 404, "Not found"),
        ("/chargers/NOPE/", 404, "Not found"),
        ("/fail/500/", 500, "Server error"),
    ],
)
def test_error_pages_are_ours_and_never_show_the_exception(
    operator_client: Client, url: str, status: int, title: str
) -> None:
    operator_client.raise_request_exception = False
    response = operator_client.get(url)
    html = response.content.decode()
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in html
    assert "secret-detail" not in html and "Traceback" not in html and "No such charger" not in html


def test_error_pages_use_the_project_layout(operator_client: Client) -> None:
    html = operator_client.get("/no/such/page/").content.decode()
    assert 'class="brand"' in html and "Log out" in html  # templates/base.html, logged in


def test_login_page_renders_from_the_project_templates(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["registration/login.html", "base.html"]


def test_dashboard_pages_extend_the_project_layout(operator_client: Client) -> None:
    response = operator_client.get("/")
    assert response.status_code == 200 and "base.html" in [t.name for t in response.templates]


def test_admin_still_renders(client: Client) -> None:
    admin = User.objects.create_superuser(username="root", password="root-password-1", email="r@example.com")
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/chargers/chargepoint/").status_code == 200
