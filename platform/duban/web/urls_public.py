"""Web pages of the public host (the base domain): landing page, login, city portal, the
platform operator's console."""

from django.urls import path

from duban.web import views_auth, views_platform, views_public

urlpatterns = [
    path("", views_public.public_home, name="home"),
    path("login/", views_auth.login_view, name="login"),
    path("login/otp/", views_auth.otp_verify_view, name="login_otp"),
    path("logout/", views_auth.logout_view, name="logout"),
    path("account/otp/", views_auth.otp_setup_view, name="account_otp"),
    path("city/", views_public.city_portal, name="city_portal"),
    path("city/reference-pack/", views_public.city_reference_pack, name="city_reference_pack"),
    path("platform/", views_platform.console, name="platform_counties"),
    path("platform/counties/new/", views_platform.county_new, name="platform_county_new"),
    path("platform/counties/<slug:slug>/", views_platform.county_detail, name="platform_county"),
    path("platform/counties/<slug:slug>/suspend/", views_platform.county_suspend, name="platform_county_suspend"),
    path("platform/counties/<slug:slug>/resume/", views_platform.county_resume, name="platform_county_resume"),
    path("platform/counties/<slug:slug>/rulepack/", views_platform.county_rulepack, name="platform_county_rulepack"),
    path("platform/cities/", views_platform.cities, name="platform_cities"),
    path("platform/cities/<str:code>/", views_platform.city_detail, name="platform_city"),
    path("platform/cities/<str:code>/users/<str:username>/remove/", views_platform.city_user_remove,
         name="platform_city_user_remove"),
]
