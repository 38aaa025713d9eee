from django.urls import path

from personalize import views

app_name = "personalize"
urlpatterns = [path("", views.home, name="home")]
