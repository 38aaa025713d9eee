from django.urls import path

from personalize import views

app_name = "personalize"
urlpatterns = [
    path("", views.home, name="home"),
    path("train/", views.train, name="train"),
    path("<uuid:adapter_id>/", views.detail, name="detail"),
    path("<uuid:adapter_id>/delete/", views.delete, name="delete"),
    path("<uuid:adapter_id>/download/", views.download, name="download"),
    path("<uuid:adapter_id>/validation/<int:number>/", views.validation, name="validation"),
]
