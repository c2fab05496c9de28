"""Web pages of the public host (the base domain): landing page, login, city portal,
platform operator's county list."""

from django.urls import path

from duban.web import views_auth, views_public

urlpatterns = [
    path("", views_public.public_home, name="home"),
    path("login/", views_auth.login_view, name="login"),
    path("login/otp/", views_auth.otp_verify_view, name="login_otp"),
    path("logout/", views_auth.logout_view, name="logout"),
    path("account/otp/", views_auth.otp_setup_view, name="account_otp"),
    path("city/", views_public.city_portal, name="city_portal"),
    path("city/reference-pack/", views_public.city_reference_pack, name="city_reference_pack"),
    path("platform/", views_public.platform_counties, name="platform_counties"),
]
