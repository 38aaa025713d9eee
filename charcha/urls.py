from django.urls import path

from charcha import views

app_name = "charcha"
urlpatterns = [path("", views.home, name="home")]
