from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from accounts.views import api_schema, favicon, home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("jobs/", include("jobs.urls")),
    path("consent/", include("charcha.urls")),
    path("songs/", include("musicvideo.urls")),
    path("soundtrack/", include("soundtrack.urls")),
    path("adapters/", include("personalize.urls")),
    path("api/jobs/", include("jobs.api")),
    path("api/consent/", include("charcha.api")),
    path("api/songs/", include("musicvideo.api")),
    path("api/soundtrack/", include("soundtrack.api")),
    path("api/adapters/", include("personalize.api")),
    path("api/schema/", api_schema, name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon),
]

handler404 = "config.api.api_not_found"
