"""Database triggers that make consent records append-only, whatever code (or person) writes to them.

- charcha_consentrecord: the columns that say who consented to what, when and how never change;
  withdrawn_at, end_reason and erased_at may each be set once; event_count never goes down.
- charcha_consentevent and charcha_evidenceview (the audit log): rows are never updated.

A later migration that adds a column to these tables must recreate the triggers. Deletes are not
refused here: Django's test flush on SQLite deletes rows; the records' PROTECT foreign keys and
the hash chain's head pointer (a removed event breaks consent_verify) cover them.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

RECORD_IMMUTABLE = ("id", "user_id", "notice_version", "notice_sha256", "purpose", "granted_at", "challenge_id",
                    "challenge_steps", "evidence", "ip", "user_agent", "retention_until")
WRITE_ONCE_NULL = ("withdrawn_at", "erased_at")
MESSAGE = "charcha: consent records and their events are append-only"


def _record_violation(distinct: str) -> str:
    changed = [f"NEW.{c} {distinct} OLD.{c}" for c in RECORD_IMMUTABLE]
    changed += [f"(OLD.{c} IS NOT NULL AND NEW.{c} {distinct} OLD.{c})" for c in WRITE_ONCE_NULL]
    changed.append(f"(OLD.end_reason <> '' AND NEW.end_reason {distinct} OLD.end_reason)")
    changed.append("NEW.event_count < OLD.event_count")
    return " OR ".join(changed)


SQLITE_CREATE = [
    f"""CREATE TRIGGER charcha_consentrecord_guard BEFORE UPDATE ON charcha_consentrecord
        FOR EACH ROW WHEN {_record_violation("IS NOT")}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER charcha_consentevent_guard BEFORE UPDATE ON charcha_consentevent
        FOR EACH ROW BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER charcha_evidenceview_guard BEFORE UPDATE ON charcha_evidenceview
        FOR EACH ROW BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS charcha_consentrecord_guard;",
    "DROP TRIGGER IF EXISTS charcha_consentevent_guard;",
    "DROP TRIGGER IF EXISTS charcha_evidenceview_guard;",
]

# ERRCODE 23000 (integrity_constraint_violation) surfaces as django.db.IntegrityError, as on SQLite.
POSTGRES_CREATE = [
    f"""CREATE OR REPLACE FUNCTION charcha_consentrecord_guard() RETURNS trigger AS $$
        BEGIN
          IF {_record_violation("IS DISTINCT FROM")} THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '23000';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql;""",
    f"""CREATE OR REPLACE FUNCTION charcha_refuse_update() RETURNS trigger AS $$
        BEGIN
          RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '23000';
        END $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER charcha_consentrecord_guard BEFORE UPDATE ON charcha_consentrecord
        FOR EACH ROW EXECUTE FUNCTION charcha_consentrecord_guard();""",
    """CREATE TRIGGER charcha_consentevent_guard BEFORE UPDATE ON charcha_consentevent
        FOR EACH ROW EXECUTE FUNCTION charcha_refuse_update();""",
    """CREATE TRIGGER charcha_evidenceview_guard BEFORE UPDATE ON charcha_evidenceview
        FOR EACH ROW EXECUTE FUNCTION charcha_refuse_update();""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS charcha_consentrecord_guard ON charcha_consentrecord;",
    "DROP TRIGGER IF EXISTS charcha_consentevent_guard ON charcha_consentevent;",
    "DROP TRIGGER IF EXISTS charcha_evidenceview_guard ON charcha_evidenceview;",
    "DROP FUNCTION IF EXISTS charcha_consentrecord_guard();",
    "DROP FUNCTION IF EXISTS charcha_refuse_update();",
]


def _run(schema_editor: Any, statements: dict[str, list[str]]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in statements:
        raise RuntimeError(f"charcha's append-only triggers are written for SQLite and PostgreSQL, not {vendor}")
    for sql in statements[vendor]:
        schema_editor.execute(sql)


def create(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE})


def drop(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP})


class Migration(migrations.Migration):
    dependencies = [("charcha", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
