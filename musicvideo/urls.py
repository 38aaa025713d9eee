from django.urls import path

from musicvideo import views

app_name = "musicvideo"
urlpatterns = [
    path("", views.home, name="home"),
    path("<int:song_id>/", views.song_detail, name="song"),
    path("<int:song_id>/file/", views.song_file, name="song_file"),
]
