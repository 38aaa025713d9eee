"""``python manage.py verify_media FILE``: is this file Encore's, from which job, and is it intact?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mediakit.errors import EncoreError
from mediakit.progress import TqdmProgress
from musicvideo.verification import jobs_with_watermark_id, media_verify


class Command(BaseCommand):
    help = "Read back a file's signed C2PA manifest and invisible watermark and report both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            if options["json"]:
                report = media_verify(path=path)
            else:
                with TqdmProgress(f"Verifying {path.name}") as bar:
                    report = media_verify(path=path, progress=bar)
                    bar.close()
        except EncoreError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        wm = report["watermark"]
        if wm and wm["found"]:
            job = jobs_with_watermark_id(prefix_hex=wm["job_id_prefix"]).first()
            report["job"] = ({"id": str(job.pk), "kind": job.kind, "status": job.status,
                              "user": job.user.get_username() if job.user else None} if job else None)
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(summary(report))


def summary(report: dict[str, Any]) -> str:
    m = report["manifest"]
    lines = []
    if not m["present"]:
        lines.append("Manifest: none")
    else:
        lines.append(f"Manifest: {m['validation_state']}" + (f" (failures: {', '.join(m['failures'])})"
                                                              if m["failures"] else ""))
        lines.append(f"  generator: {m['generator']} {m['generator_version'] or ''}".rstrip())
        lines.append(f"  source type: {m['digital_source_type']} (AI-generated: {'yes' if m['ai_generated'] else 'no'})")
        lines.append(f"  job: {m['job_id']}   consent record: {m['consent_record_id']}")
        lines.append(f"  signed by: {m['signer']} at {m['signed_at']}")
    wm = report["watermark"]
    if wm is None:
        lines.append("Watermark: not applicable (no video stream)")
    elif not wm["found"]:
        lines.append(f"Watermark: not found ({wm['frames_read']} frames read, {wm['frames_voting']} looked marked)")
    else:
        lines.append(f"Watermark: job {wm['job_id_prefix']} (confidence {wm['confidence']:.2f}, "
                     f"{wm['frames_voting']}/{wm['frames_read']} frames voting, {wm['corrected_bits']} bits corrected)")
        job = report.get("job")
        lines.append(f"  job here: {job['id']} ({job['kind']}, {job['status']}, user {job['user']})" if job
                     else "  job here: not in this database")
    if report.get("consistent") is not None:
        lines.append(f"Manifest and watermark agree: {'yes' if report['consistent'] else 'NO'}")
    return "\n".join(lines)
