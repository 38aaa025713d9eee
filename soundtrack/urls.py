from django.urls import path

from soundtrack import views

app_name = "soundtrack"
urlpatterns = [
    path("", views.home, name="home"),
    path("videos/<int:video_id>/", views.video_detail, name="video"),
    path("videos/<int:video_id>/file/", views.video_file, name="video_file"),
    path("videos/<int:video_id>/soundtracks/", views.soundtrack_new, name="new"),
    path("tracks/<int:soundtrack_id>/", views.soundtrack_detail, name="detail"),
    path("tracks/<int:soundtrack_id>/another-take/", views.soundtrack_take, name="another_take"),
    path("tracks/<int:soundtrack_id>/<str:kind>/", views.soundtrack_download, name="download"),
]
