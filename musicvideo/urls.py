from django.urls import path

from musicvideo import views

app_name = "musicvideo"
urlpatterns = [
    path("", views.home, name="home"),
    path("<int:song_id>/", views.song_detail, name="song"),
    path("<int:song_id>/file/", views.song_file, name="song_file"),
    path("<int:song_id>/analyse/", views.song_analyse, name="song_analyse"),
    path("<int:song_id>/lyrics/", views.song_lyrics, name="song_lyrics"),
    path("<int:song_id>/storyboard/", views.song_storyboard, name="song_storyboard"),
]
