from django.urls import path

from soundtrack import views

app_name = "soundtrack"
urlpatterns = [
    path("", views.home, name="home"),
    path("videos/<int:video_id>/", views.video_detail, name="video"),
    path("videos/<int:video_id>/file/", views.video_file, name="video_file"),
]
