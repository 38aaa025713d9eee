from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platform_folder_is_not_a_python_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists(), (
        "platform/__init__.py makes platform/ a package that shadows the standard library's `platform` "
        "module (imported by uuid, Django, Celery, torch, numpy): everything then crashes with "
        "\"module 'platform' has no attribute 'system'\". Keep platform/ for deployment files only."
    )


def test_standard_platform_module_is_the_real_one() -> None:
    import platform

    assert callable(platform.system)
    assert Path(platform.__file__).parent != ROOT / "platform"


def test_production_settings_pass_check_deploy_without_warnings() -> None:
    # The browser tests allow sync ORM calls under Playwright's loop; production never does.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {**env, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x7#Qp2!vN9$kL4@mR8^tY1&wE6*uI3(oP5)aS0_dF-gH+jK=zX",
           "DJANGO_ALLOWED_HOSTS": "encore.example", "DATABASE_URL": "sqlite:///:memory:",
           # Production keeps the consent keys out of SECRET_KEY's reach (charcha's deploy checks).
           "CHARCHA_KEKS": "k1:" + base64.b64encode(bytes(range(7, 39))).decode(),
           "CHARCHA_AUDIT_SEAL_KEY": "Zq8#nW2$rT6^yU1&iO4*pA7(sD9)fG3_hJ5-kL0+xC"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_DEBUG"] = "0"
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_s3_storage_is_selected_by_environment() -> None:
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.STORAGES['default']['BACKEND'], settings.STORAGES['default']['OPTIONS']['bucket_name'])")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "ENCORE_S3_BUCKET": "media-bucket"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["storages.backends.s3.S3Storage", "media-bucket"], result.stderr


def test_embedded_defaults_are_sqlite_and_filesystem_broker() -> None:
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"], result.stderr


def _start(env_changes: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in drop and k != "PYTEST_VERSION"}
    env.update(env_changes)
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


STRONG = {"DJANGO_SECRET_KEY": "x7#Qp2!vN9$kL4@mR8^tY1&wE6*uI3(oP5)aS0_dF-gH+jK=zX",
          "DJANGO_ALLOWED_HOSTS": "encore.example",
          "CHARCHA_KEKS": "k1:" + base64.b64encode(bytes(range(7, 39))).decode(),
          "CHARCHA_AUDIT_SEAL_KEY": "Zq8#nW2$rT6^yU1&iO4*pA7(sD9)fG3_hJ5-kL0+xC"}


def test_debug_is_off_unless_asked_for() -> None:
    # Outside the test runner and the development commands, nothing turns DEBUG on.
    result = _start({}, drop=("DJANGO_DEBUG", "DJANGO_SECRET_KEY"))
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_production_refuses_to_start_without_the_consent_keys() -> None:
    keys = {k: v for k, v in STRONG.items() if not k.startswith("CHARCHA")}
    result = _start({**keys, "DJANGO_DEBUG": "0"}, drop=("CHARCHA_KEKS", "CHARCHA_AUDIT_SEAL_KEY"))
    assert result.returncode != 0 and "CHARCHA_KEKS and CHARCHA_AUDIT_SEAL_KEY must be set" in result.stderr
    assert _start({**STRONG, "DJANGO_DEBUG": "0"}).returncode == 0


def test_the_placeholders_of_env_example_are_refused() -> None:
    example = dict(line.split("=", 1) for line in (ROOT / "platform" / "env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for name in ("DJANGO_SECRET_KEY", "CHARCHA_KEKS", "CHARCHA_AUDIT_SEAL_KEY"):
        result = _start({**STRONG, "DJANGO_DEBUG": "0", name: example[name]})
        assert result.returncode != 0, name
        assert f"{name} is not " in result.stderr, result.stderr


def test_development_secrets_are_random_per_installation(tmp_path: Path) -> None:
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"

    def secret_of(var_dir: Path) -> str:
        env = {**{k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}, "DJANGO_DEBUG": "1",
               "ENCORE_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings"}
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    first, again, other = secret_of(tmp_path / "a"), secret_of(tmp_path / "a"), secret_of(tmp_path / "b")
    assert first == again != other and len(first) >= 50
    assert oct((tmp_path / "a" / "secrets" / "django-secret-key").stat().st_mode & 0o777) == "0o600"
