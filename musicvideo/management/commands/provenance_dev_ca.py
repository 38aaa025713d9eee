"""``python manage.py provenance_dev_ca``: make the local development CA now (``make demo``/``make test``).

Signing makes it on first use anyway; making it at set-up keeps the first render from paying for
it and prints where the trust anchor is. With a production certificate configured it only checks
that the configured files load.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mediakit.errors import EncoreError
from musicvideo.verification import provenance_config


class Command(BaseCommand):
    help = "Create the local development signing CA (root -> intermediate -> leaf) if none is configured."

    def handle(self, *args: Any, **options: Any) -> None:
        config = provenance_config()
        try:
            config.identity()
        except EncoreError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        if config.cert_chain_path and config.private_key_path:
            self.stdout.write(f"Signing with the configured certificate {config.cert_chain_path}")
        else:
            self.stdout.write(f"Development signing CA ready in {config.dev_ca_dir} (trust anchor: root.pem)")
