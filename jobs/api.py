from __future__ import annotations

from django.db.models import QuerySet
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from jobs.models import Job
from jobs.selectors import jobs_visible_to
from jobs.serializers import JobSerializer
from jobs.services import job_cancel


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's jobs: status, stage, progress and errors. Other users' jobs answer 404."""

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        return jobs_visible_to(user=self.request.user)

    @extend_schema(request=None, responses={200: JobSerializer},
                   description="Ask the job to stop: a queued job ends at once, a running one at its next "
                               "progress report, with its partial files removed (409 job_finished once ended).")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = job_cancel(job=self.get_object(), by=request.user)  # type: ignore[arg-type]
        return Response(JobSerializer(job).data)


router = DefaultRouter()
router.register("", JobViewSet, basename="job")
app_name = "jobs-api"
urlpatterns = [path("", include(router.urls))]
