from django.urls import path

from charcha import views

app_name = "charcha"
urlpatterns = [
    path("", views.home, name="home"),
    path("capture/", views.capture, name="capture"),
    path("notice/v<int:version>/", views.notice, name="notice"),
    path("records/<uuid:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("pictures/", views.pictures, name="pictures"),
    path("pictures/<int:index>.jpg", views.picture, name="picture"),
    path("pictures/<int:index>/delete/", views.picture_delete, name="picture_delete"),
]
