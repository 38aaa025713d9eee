"""C2PA provenance for every file Encore generates: sign a manifest into it, read it back.

The manifest says who made the file (the generator, Encore and its version), that the content is
AI-generated (IPTC digital source type ``trainedAlgorithmicMedia`` by default), and which consent
record and which job it came from. It is signed with ES256 by a certificate chain from settings;
when none is configured, :func:`dev_ca_ensure` makes a local development CA (root -> intermediate
-> leaf) once, under the var folder, and validation trusts that root. A self-signed leaf is not
enough: c2pa rejects it, hence the three-level chain.

The signature covers the file's bytes (a BMFF hash for MP4): any change, even one byte, makes
validation fail, and re-encoding drops the manifest altogether. The invisible watermark
(:mod:`mediakit.watermark`) is what survives re-encoding; :func:`provenance_apply` does both in the
right order (watermark the pixels first, then sign the final bytes) and :func:`inspect_media` reads
both back.

Public functions (used by assembly, the soundtrack job, ``verify_media`` and the API):

- :func:`dev_ca_ensure` / :func:`signing_identity_load` / :func:`config_from_settings`
- :func:`sign_file` (manifest only), :func:`read_manifest`
- :func:`provenance_apply` (watermark + sign, in place), :func:`inspect_media` (both read back)

No Django here: settings are read by attribute from any object (``django.conf.settings`` in the
apps, a ``SimpleNamespace`` in tests).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mediakit import watermark
from mediakit.errors import EncoreError
from mediakit.progress import ProgressFn, null_progress, scaled
from mediakit.watermark import DEFAULT_PARAMS, WatermarkParams

IPTC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# The IPTC terms we use: a diffusion or compositor render from a trained model, and a composite of
# the user's own footage with generated elements (the soundtrack's video).
TRAINED_ALGORITHMIC_MEDIA = "trainedAlgorithmicMedia"
COMPOSITE_SYNTHETIC = "compositeSynthetic"
ALGORITHMIC_MEDIA = "algorithmicMedia"
ENCORE_ASSERTION = "app.encore.generation"

_MIME_BY_SUFFIX = {".mp4": "video/mp4", ".m4a": "audio/mp4", ".mov": "video/quicktime", ".wav": "audio/wav",
                   ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
_VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v"}


class ProvenanceError(EncoreError):
    code = "provenance_failed"


# ---------------------------------------------------------------------------------------------
# Keys and certificates


@dataclass(frozen=True)
class SigningIdentity:
    """What signing needs: the chain (leaf first, then intermediates, no root) and the leaf's key."""

    cert_chain_pem: bytes
    private_key_pem: bytes
    trust_anchors_pem: bytes | None = None  # roots that validation should treat as trusted


@dataclass(frozen=True)
class ProvenanceConfig:
    """Where the signing identity comes from and how files are described and marked."""

    cert_chain_path: Path | None = None      # PEM chain, leaf first; None: the development CA
    private_key_path: Path | None = None     # PEM PKCS#8 key of the leaf
    trust_anchors_path: Path | None = None   # PEM roots to trust when verifying
    dev_ca_dir: Path | None = None           # where the development CA lives when none is configured
    generator: str = "Encore"
    generator_version: str = "0.0.0"
    watermark: bool = True                   # also embed the invisible watermark in videos

    def identity(self) -> SigningIdentity:
        """The configured identity, or the development CA (created on first use)."""
        if self.cert_chain_path and self.private_key_path:
            return signing_identity_load(self.cert_chain_path, self.private_key_path, self.trust_anchors_path)
        if self.dev_ca_dir is None:
            raise ProvenanceError("No signing certificate is configured and no folder for a development CA.",
                                  code="provenance_no_certificate")
        return dev_ca_ensure(self.dev_ca_dir)

    def trust_anchors(self) -> bytes | None:
        """The roots a verifier trusts: the configured ones, else the development CA's root if it exists."""
        if self.trust_anchors_path:
            return Path(self.trust_anchors_path).read_bytes()
        if not (self.cert_chain_path and self.private_key_path) and self.dev_ca_dir is not None:
            root = Path(self.dev_ca_dir) / "root.pem"
            return root.read_bytes() if root.is_file() else None
        return None


def config_from_settings(settings: Any) -> ProvenanceConfig:
    """Build the config from a settings object (attribute access only, so no Django import)."""

    def path_or_none(name: str) -> Path | None:
        value = getattr(settings, name, "") or ""
        return Path(value) if str(value) else None

    return ProvenanceConfig(
        cert_chain_path=path_or_none("PROVENANCE_CERT_CHAIN"),
        private_key_path=path_or_none("PROVENANCE_PRIVATE_KEY"),
        trust_anchors_path=path_or_none("PROVENANCE_TRUST_ANCHORS"),
        dev_ca_dir=path_or_none("PROVENANCE_DEV_CA_DIR"),
        generator=getattr(settings, "PROVENANCE_GENERATOR", "Encore"),
        generator_version=getattr(settings, "PROVENANCE_GENERATOR_VERSION", "0.0.0"),
        watermark=bool(getattr(settings, "PROVENANCE_WATERMARK", True)),
    )


def signing_identity_load(cert_chain_path: str | os.PathLike[str], private_key_path: str | os.PathLike[str],
                          trust_anchors_path: str | os.PathLike[str] | None = None) -> SigningIdentity:
    """Read a production identity; refuses files that are not a PEM chain and a PEM private key."""
    try:
        chain = Path(cert_chain_path).read_bytes()
        key = Path(private_key_path).read_bytes()
        anchors = Path(trust_anchors_path).read_bytes() if trust_anchors_path else None
    except OSError as exc:
        raise ProvenanceError(f"Cannot read the signing certificate or key: {exc}.",
                              code="provenance_no_certificate") from exc
    if b"BEGIN CERTIFICATE" not in chain or b"PRIVATE KEY" not in key:
        raise ProvenanceError("The signing certificate or key is not in PEM format.", code="provenance_no_certificate")
    return SigningIdentity(cert_chain_pem=chain, private_key_pem=key, trust_anchors_pem=anchors)


def dev_ca_ensure(directory: str | os.PathLike[str], *, organization: str = "Encore development") -> SigningIdentity:
    """Create (once) and load a local development CA: root -> intermediate -> ES256 leaf.

    Files: ``root.pem`` (the trust anchor), ``chain.pem`` (leaf + intermediate, what signing sends),
    ``leaf.key`` (mode 0600). Never commit this folder; production configures its own certificate.
    Safe to call from several processes at once: files are written to temporary names and renamed.
    """
    folder = Path(directory)
    root_path, chain_path, key_path = folder / "root.pem", folder / "chain.pem", folder / "leaf.key"
    if not (root_path.is_file() and chain_path.is_file() and key_path.is_file()):
        folder.parent.mkdir(parents=True, exist_ok=True)
        # The whole set is made in a private folder and renamed into place in one step: two workers
        # starting at once must not end up with one's key beside the other's certificate.
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            root_pem, chain_pem, key_pem = _make_dev_chain(organization)
            _write_atomic(staging / "leaf.key", key_pem, mode=0o600)
            _write_atomic(staging / "chain.pem", chain_pem)
            _write_atomic(staging / "root.pem", root_pem)
            os.chmod(staging, 0o755)
            try:
                os.rename(staging, folder)      # replaces an empty folder; fails if another set won
            except OSError:
                if not root_path.is_file():
                    raise
        finally:
            if staging.exists():
                for leftover in staging.iterdir():
                    leftover.unlink()
                staging.rmdir()
    return SigningIdentity(cert_chain_pem=chain_path.read_bytes(), private_key_pem=key_path.read_bytes(),
                           trust_anchors_pem=root_path.read_bytes())


def _write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _make_dev_chain(organization: str) -> tuple[bytes, bytes, bytes]:
    """PEMs of a root CA, of the leaf followed by its intermediate, and of the leaf's PKCS#8 key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                          x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def build(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
              *, ca: bool, path_length: int | None, days: int) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                  critical=False))
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                              encipher_only=False, decipher_only=False), critical=True)
        else:
            # C2PA accepts a signing leaf only with digitalSignature and one of its listed EKUs
            # (emailProtection here), and never with anyExtendedKeyUsage.
            builder = (builder
                       .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                    key_encipherment=False, data_encipherment=False,
                                                    key_agreement=False, key_cert_sign=False, crl_sign=False,
                                                    encipher_only=False, decipher_only=False), critical=True)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False))
        return builder.sign(issuer_key, hashes.SHA256())

    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = build("Encore Development Root CA", root_key, name("Encore Development Root CA"), root_key,
                 ca=True, path_length=1, days=3650)
    inter = build("Encore Development Intermediate CA", inter_key, root.subject, root_key,
                  ca=True, path_length=0, days=3650)
    leaf = build("Encore Development Signer", leaf_key, inter.subject, inter_key, ca=False, path_length=None,
                 days=825)
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return root.public_bytes(pem), leaf.public_bytes(pem) + inter.public_bytes(pem), key_pem


# ---------------------------------------------------------------------------------------------
# Signing


@dataclass(frozen=True)
class Claims:
    """What a manifest states about one generated file."""

    job_id: str
    consent_record_id: str | None = None
    digital_source_type: str = TRAINED_ALGORITHMIC_MEDIA
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)   # small JSON-able facts (renderer, style)


def _manifest_definition(claims: Claims, *, generator: str, version: str, mime: str) -> dict[str, Any]:
    source_type = IPTC_SOURCE_TYPE + claims.digital_source_type
    agent = {"name": generator, "version": version}
    return {
        "claim_generator_info": [agent],
        "title": claims.title or f"{generator} job {claims.job_id}",
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions.v2",
             "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source_type,
                                   "softwareAgent": agent}]}},
            {"label": ENCORE_ASSERTION,
             "data": {"job_id": str(claims.job_id), "consent_record_id": claims.consent_record_id,
                      "digital_source_type": source_type,
                      "signed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **claims.extra}},
        ],
    }


def sign_file(path: str | os.PathLike[str], *, claims: Claims, identity: SigningIdentity,
              generator: str = "Encore", generator_version: str = "0.0.0",
              dest: str | os.PathLike[str] | None = None) -> Path:
    """Embed a signed C2PA manifest into ``path`` (in place, or into ``dest``); returns the signed file.

    Call it last: any later change to the bytes invalidates the signature.
    """
    import c2pa

    source = Path(path)
    target = Path(dest) if dest is not None else source
    mime = _MIME_BY_SUFFIX.get(source.suffix.lower())
    if mime is None:
        raise ProvenanceError(f"Cannot sign a '{source.suffix}' file.", code="provenance_unsupported")
    definition = _manifest_definition(claims, generator=generator, version=generator_version, mime=mime)
    fd, tmp = tempfile.mkstemp(prefix=".signing-", suffix=source.suffix, dir=target.parent)
    os.close(fd)
    try:
        info = c2pa.C2paSignerInfo(alg=c2pa.C2paSigningAlg.ES256, sign_cert=identity.cert_chain_pem,
                                   private_key=identity.private_key_pem, ta_url=None)
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(definition) as builder, \
                open(source, "rb") as src, open(tmp, "w+b") as out:
            builder.sign(signer, mime, src, out)
        os.replace(tmp, target)
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"Signing the file failed: {exc}.") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


# ---------------------------------------------------------------------------------------------
# Reading back


@dataclass(frozen=True)
class ManifestReport:
    """What the embedded manifest says and whether it holds."""

    present: bool
    validation_state: str | None        # "Trusted" | "Valid" | "Invalid" | None when there is none
    valid: bool                          # signature and hashes intact (Valid or Trusted)
    trusted: bool                        # ... and the chain ends at a trusted root
    failures: tuple[str, ...] = ()       # c2pa status codes of what failed, e.g. assertion.bmffHash.mismatch
    generator: str | None = None
    generator_version: str | None = None
    digital_source_type: str | None = None
    ai_generated: bool = False
    job_id: str | None = None
    consent_record_id: str | None = None
    signer: str | None = None            # the leaf certificate's issuer organisation / common name
    signed_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_AI_SOURCE_TYPES = {TRAINED_ALGORITHMIC_MEDIA, COMPOSITE_SYNTHETIC, ALGORITHMIC_MEDIA,
                    "compositeWithTrainedAlgorithmicMedia"}


def read_manifest(path: str | os.PathLike[str], *, trust_anchors_pem: bytes | None = None) -> ManifestReport:
    """Read and validate the manifest of ``path``; with ``trust_anchors_pem`` a good chain reads Trusted."""
    import c2pa

    settings: dict[str, Any] = {"verify": {"verify_after_reading": True}}
    if trust_anchors_pem:
        settings["verify"]["verify_trust"] = True
        settings["trust"] = {"trust_anchors": trust_anchors_pem.decode("ascii")}
    mime = _MIME_BY_SUFFIX.get(Path(path).suffix.lower())
    try:
        with c2pa.Context(settings=c2pa.Settings.from_dict(settings)) as context, open(path, "rb") as stream, \
                c2pa.Reader(mime, stream, None, context) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "not found" in str(exc).lower():
            return ManifestReport(present=False, validation_state=None, valid=False, trusted=False)
        return ManifestReport(present=True, validation_state="Invalid", valid=False, trusted=False,
                              failures=(f"read_error: {exc}",))
    return _report_from_store(store)


def _report_from_store(store: dict[str, Any]) -> ManifestReport:
    state = store.get("validation_state")
    results = store.get("validation_results") or {}
    active = (results.get("activeManifest") or {}) if isinstance(results, dict) else {}
    failures = tuple(str(item.get("code")) for item in active.get("failure", []) or [])
    if not failures:
        failures = tuple(str(item.get("code")) for item in store.get("validation_status", []) or [])
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest") or "", {})
    generator_info = (manifest.get("claim_generator_info") or [{}])[0]
    source_type: str | None = None
    ours: dict[str, Any] = {}
    for assertion in manifest.get("assertions", []) or []:
        label = str(assertion.get("label", ""))
        data = assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions", []) or []:
                if action.get("action") == "c2pa.created" and action.get("digitalSourceType"):
                    source_type = str(action["digitalSourceType"])
        elif label == ENCORE_ASSERTION:
            ours = data
    signature = manifest.get("signature_info") or {}
    short_type = source_type.rsplit("/", 1)[-1] if source_type else None
    # "Valid": signature and hashes hold but the chain ends at no trusted root (failure code
    # signingCredential.untrusted); "Trusted": both. Anything else failed.
    valid = state in {"Valid", "Trusted"}
    return ManifestReport(
        present=bool(manifest), validation_state=state, valid=valid, trusted=valid and state == "Trusted",
        failures=failures, generator=generator_info.get("name"), generator_version=generator_info.get("version"),
        digital_source_type=short_type, ai_generated=short_type in _AI_SOURCE_TYPES,
        job_id=ours.get("job_id"), consent_record_id=ours.get("consent_record_id"),
        signer=signature.get("common_name") or signature.get("issuer"),
        # Without a timestamp authority the signature carries no trusted time; ours is the signer's clock.
        signed_at=signature.get("time") or ours.get("signed_at"))


# ---------------------------------------------------------------------------------------------
# Both at once: what assembly and the soundtrack job call, and what verification reads


@dataclass(frozen=True)
class ProvenanceResult:
    path: Path
    watermarked: bool
    watermark_id: str | None            # the 64-bit id written into the pixels, as 16 hex digits
    frames_marked: int
    signed: bool


def provenance_apply(paths: Sequence[str | os.PathLike[str]], *, job_id: str | uuid.UUID,
                     consent_record_id: str | None, config: ProvenanceConfig,
                     digital_source_type: str = TRAINED_ALGORITHMIC_MEDIA, extra: dict[str, Any] | None = None,
                     watermark_params: WatermarkParams | None = None,
                     progress: ProgressFn = null_progress) -> list[ProvenanceResult]:
    """Watermark (videos) and then sign every file in ``paths``, in place.

    Videos get the job's 64-bit watermark id in a subset of frames (re-encoding the video stream,
    copying the audio); every supported file then gets a signed manifest naming the generator,
    the AI source type, the consent record and the job. Files C2PA cannot carry (MIDI) are left
    alone and reported unsigned.
    """
    identity = config.identity()
    claims = Claims(job_id=str(job_id), consent_record_id=consent_record_id,
                    digital_source_type=digital_source_type, extra=dict(extra or {}))
    results: list[ProvenanceResult] = []
    for i, raw in enumerate(paths):
        path = Path(raw)
        step = scaled(progress, i / len(paths), (i + 1) / len(paths))
        marked, wm_id = 0, None
        if config.watermark and path.suffix.lower() in _VIDEO_SUFFIXES and _video_can_carry_mark(path):
            wm_id = watermark.job_watermark_id(job_id)
            marked = watermark.watermark_video(path, path, payload=wm_id, params=watermark_params or DEFAULT_PARAMS,
                                               progress=scaled(step, 0.0, 0.9)).frames_marked
        signed = path.suffix.lower() in _MIME_BY_SUFFIX
        if signed:
            sign_file(path, claims=claims, identity=identity, generator=config.generator,
                      generator_version=config.generator_version)
        step("provenance", 1.0, f"signed {path.name}" if signed else f"{path.name} cannot carry a manifest")
        results.append(ProvenanceResult(path=path, watermarked=marked > 0,
                                        watermark_id=f"{wm_id:016x}" if wm_id is not None else None,
                                        frames_marked=marked, signed=signed))
    return results


@dataclass(frozen=True)
class MediaReport:
    manifest: ManifestReport
    watermark: dict[str, Any] | None    # mediakit.watermark.WatermarkReading as a dict, None for non-video

    def as_dict(self) -> dict[str, Any]:
        return {"manifest": self.manifest.as_dict(), "watermark": self.watermark}


def inspect_media(path: str | os.PathLike[str], *, trust_anchors_pem: bytes | None,
                  watermark_params: WatermarkParams | None = None,
                  progress: ProgressFn = null_progress) -> MediaReport:
    """Read back a file's manifest (validity, claims) and, for videos, its watermark (id, confidence)."""
    manifest = read_manifest(path, trust_anchors_pem=trust_anchors_pem)
    progress("manifest", 0.1, manifest.validation_state or "no manifest")
    reading: dict[str, Any] | None = None
    if _has_video(path):
        reading = watermark.read_watermark(path, watermark_params or DEFAULT_PARAMS,
                                           progress=scaled(progress, 0.1, 1.0)).as_dict()
    return MediaReport(manifest=manifest, watermark=reading)


def _video_can_carry_mark(path: Path) -> bool:
    """A video stream large enough for the watermark (tiny previews are signed but not marked)."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.video:
            return False
        context = container.streams.video[0].codec_context
        return watermark.can_carry(context.width, context.height)


def _has_video(path: str | os.PathLike[str]) -> bool:
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return bool(container.streams.video)
    except av.FFmpegError:
        return False
