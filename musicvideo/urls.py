from django.urls import path

from musicvideo import video_views, views

app_name = "musicvideo"
urlpatterns = [
    path("", views.home, name="home"),
    path("<int:song_id>/", views.song_detail, name="song"),
    path("<int:song_id>/file/", views.song_file, name="song_file"),
    path("<int:song_id>/analyse/", views.song_analyse, name="song_analyse"),
    path("<int:song_id>/lyrics/", views.song_lyrics, name="song_lyrics"),
    path("<int:song_id>/rhythm/", views.song_rhythm, name="song_rhythm"),
    path("<int:song_id>/storyboard/", views.song_storyboard, name="song_storyboard"),
    # music videos (issue 11)
    path("<int:song_id>/video/new/", video_views.video_new, name="video_new"),
    path("videos/<int:video_id>/", video_views.video_detail, name="video"),
    path("videos/<int:video_id>/file/", video_views.video_file, name="video_file"),
    path("videos/<int:video_id>/preview/", video_views.video_preview, name="video_preview"),
    path("videos/<int:video_id>/scenes/<int:index>.jpg", video_views.video_scene, name="video_scene"),
    path("videos/<int:video_id>/delete/", video_views.video_delete, name="video_delete"),
]
