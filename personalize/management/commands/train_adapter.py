"""``python manage.py train_adapter --user NAME``: train an adapter in this process, with a progress bar.

The same job as the page's (a Job row, checkpoints, encryption, validation); only the runner
differs: this process instead of a gpu worker, so an administrator can train on a GPU box by hand.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from charcha.models import ConsentRecord
from jobs.context import JobContext
from jobs.services import job_execute
from mediakit.errors import EncoreError
from mediakit.progress import TqdmProgress
from personalize.lora.families import FAMILIES
from personalize.models import Adapter
from personalize.services import adapter_train_run, adapter_train_start


class _BarContext(JobContext):
    """The run's own context (same job, reporter, work folder and output list), also drawing a bar."""

    def __init__(self, ctx: JobContext, bar: TqdmProgress) -> None:
        self.__dict__.update(ctx.__dict__)
        self._bar = bar

    def progress(self, stage: str, fraction: float, message: str = "") -> None:
        super().progress(stage, fraction, message)
        self._bar(stage, fraction, message)


class Command(BaseCommand):
    help = "Train a LoRA adapter from a user's active consent, in this process, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username whose consent to train from")
        parser.add_argument("--consent", help="consent record id (default: the user's active consent)")
        parser.add_argument("--family", choices=FAMILIES)
        parser.add_argument("--steps", type=int, help="training steps (default: the family's)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        consent = None
        if options["consent"]:
            consent = ConsentRecord.objects.filter(pk=options["consent"]).first()
            if consent is None:
                raise CommandError(f"No consent record {options['consent']}.")
        try:
            adapter = adapter_train_start(user=user, consent=consent, family=options["family"],
                                          overrides={"steps": options["steps"]} if options["steps"] else None,
                                          enqueue=False)
        except EncoreError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        assert adapter.job is not None
        # The bar goes to the command's own stderr stream (OutputWrapper would add a newline per redraw).
        with TqdmProgress(f"Training {adapter.trigger}", file=getattr(self.stderr, "_out", self.stderr)) as bar:

            def work(*, ctx: JobContext) -> dict[str, Any]:
                return adapter_train_run(ctx=_BarContext(ctx, bar))

            outcome, _ = job_execute(job_id=str(adapter.job.pk), work=work, eager=True)
            if outcome == "done":
                bar.close()
        adapter = Adapter.objects.select_related("job").get(pk=adapter.pk)
        job = adapter.job
        assert job is not None
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(f"Training {job.status}: {job.error_detail} ({job.error_code})")
        if options["json"]:
            self.stdout.write(json.dumps(job.result))
            return
        score = "—" if adapter.identity_score is None else f"{adapter.identity_score:.2f}"
        self.stdout.write(f"Adapter {adapter.pk} ready: trigger {adapter.trigger}, {adapter.family}, "
                          f"{adapter.steps_done} steps, final loss {job.result.get('final_loss')}, "
                          f"likeness {score} ({adapter.validation_faces}/{adapter.validation_count} renders with a face)")
