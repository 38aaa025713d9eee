from __future__ import annotations

from django.db.models import QuerySet
from django.urls import include, path
from rest_framework import mixins, viewsets
from rest_framework.routers import DefaultRouter

from jobs.models import Job
from jobs.selectors import jobs_visible_to
from jobs.serializers import JobSerializer


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's jobs: status, stage, progress and errors. Other users' jobs answer 404."""

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        return jobs_visible_to(user=self.request.user)


router = DefaultRouter()
router.register("", JobViewSet, basename="job")
app_name = "jobs-api"
urlpatterns = [path("", include(router.urls))]
