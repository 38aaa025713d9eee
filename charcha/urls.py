from django.urls import path

from charcha import views

app_name = "charcha"
urlpatterns = [
    path("", views.home, name="home"),
    path("capture/", views.capture, name="capture"),
    path("notice/v<int:version>/", views.notice, name="notice"),
    path("records/<uuid:pk>/withdraw/", views.withdraw, name="withdraw"),
]
