# Issue 13: the secret schedule (light segments, reveal times), per-batch analysis and security events.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("charcha", "0002_append_only_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="challenge",
            name="light",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="challenge",
            name="reveals_ms",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="challenge",
            name="cue_count",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="CaptureBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveIntegerField()),
                ("first_index", models.PositiveIntegerField()),
                ("frame_count", models.PositiveIntegerField()),
                ("received_ms", models.IntegerField()),
                ("analysed_at", models.DateTimeField(blank=True, null=True)),
                ("analysis_ms", models.FloatField(blank=True, null=True)),
                ("unreadable", models.BooleanField(default=False)),
                ("obs_path", models.CharField(blank=True, max_length=300)),
                ("obs_size", models.PositiveIntegerField(default=0)),
                ("challenge", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="batches",
                                                to="charcha.challenge")),
            ],
            options={
                "ordering": ("challenge", "seq"),
                "constraints": [models.UniqueConstraint(fields=("challenge", "seq"), name="charcha_batch_seq_unique")],
            },
        ),
        migrations.CreateModel(
            name="SecurityEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("identity_mismatch",
                                                    "Face did not match the account's verified face")],
                                          max_length=40)),
                ("at", models.DateTimeField()),
                ("detail", models.JSONField(blank=True, default=dict)),
                ("challenge", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                related_name="+", to="charcha.challenge")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                           to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ("-at",),
                "indexes": [models.Index(fields=["kind", "-at"], name="charcha_secevent_kind_at")],
            },
        ),
    ]
