"""Login (with the county's single sign-on), logout, the one-time-password step and set-up, and
the role homes (county host)."""

from django.urls import path

from duban.web import views_auth, views_home, views_sso

urlpatterns = [
    path("", views_home.role_home, name="home"),
    path("login/", views_auth.login_view, name="login"),
    path("login/otp/", views_auth.otp_verify_view, name="login_otp"),
    path("login/sso/", views_sso.sso_start, name="login_sso"),
    path("login/sso/callback/", views_sso.sso_callback, name="login_sso_callback"),
    path("settings/sso/", views_sso.sso_settings, name="sso_settings"),
    path("logout/", views_auth.logout_view, name="logout"),
    path("account/otp/", views_auth.otp_setup_view, name="account_otp"),
    path("leader/", views_home.leader_home, name="home_leader"),
    path("office/", views_home.office_home, name="home_office"),
    path("unit/", views_home.unit_home, name="home_unit"),
]
