from __future__ import annotations

import stat
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from mediakit.audio import write_wav
from mediakit.encode import encode_mp4
from mediakit.provenance import (
    COMPOSITE_SYNTHETIC,
    Claims,
    ProvenanceConfig,
    ProvenanceError,
    config_from_settings,
    dev_ca_ensure,
    inspect_media,
    provenance_apply,
    read_manifest,
    sign_file,
)
from mediakit.watermark import WatermarkParams
from musicvideo.testing.footage import compositor_like

JOB = uuid.UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427")


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ca")
    dev_ca_ensure(folder)
    return folder


def small_video(path: Path, n: int = 12) -> Path:
    frames = [np.full((64, 96, 3), (i * 20, 80, 200 - i * 10), np.uint8) for i in range(n)]
    t = np.arange(int(44100 * n / 12)) / 44100
    return encode_mp4(path, frames, fps=12, audio=(0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


def test_dev_ca_is_a_three_level_chain_made_once(tmp_path: Path) -> None:
    identity = dev_ca_ensure(tmp_path / "ca")
    chain = x509.load_pem_x509_certificates(identity.cert_chain_pem)
    root = x509.load_pem_x509_certificate(identity.trust_anchors_pem or b"")
    leaf, intermediate = chain
    assert len(chain) == 2                               # leaf + intermediate; the root is not sent
    assert leaf.issuer == intermediate.subject and intermediate.issuer == root.subject
    assert root.issuer == root.subject
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert stat.S_IMODE((tmp_path / "ca" / "leaf.key").stat().st_mode) == 0o600
    # A second call loads what is there instead of making a new CA (signed files stay trusted).
    again = dev_ca_ensure(tmp_path / "ca")
    assert again == identity


def test_signed_video_is_trusted_and_states_its_claims(tmp_path: Path, ca: Path) -> None:
    video = small_video(tmp_path / "v.mp4")
    identity = dev_ca_ensure(ca)
    sign_file(video, claims=Claims(job_id=str(JOB), consent_record_id="17"), identity=identity,
              generator="Encore", generator_version="0.1.0")

    report = read_manifest(video, trust_anchors_pem=identity.trust_anchors_pem)
    assert report.validation_state == "Trusted"
    assert report.valid and report.trusted and report.failures == ()
    assert (report.generator, report.generator_version) == ("Encore", "0.1.0")
    assert report.digital_source_type == "trainedAlgorithmicMedia"
    assert report.ai_generated
    assert report.job_id == str(JOB)
    assert report.consent_record_id == "17"
    assert report.signer == "Encore Development Signer"


def test_without_the_root_as_anchor_the_signature_is_valid_but_not_trusted(tmp_path: Path, ca: Path) -> None:
    video = small_video(tmp_path / "v.mp4")
    sign_file(video, claims=Claims(job_id=str(JOB)), identity=dev_ca_ensure(ca))
    other_root = dev_ca_ensure(tmp_path / "other").trust_anchors_pem

    for anchors in (None, other_root):
        report = read_manifest(video, trust_anchors_pem=anchors)
        assert report.validation_state == "Valid"
        assert report.valid and not report.trusted
        assert "signingCredential.untrusted" in report.failures


def test_one_changed_byte_makes_validation_fail(tmp_path: Path, ca: Path) -> None:
    video = small_video(tmp_path / "v.mp4")
    identity = dev_ca_ensure(ca)
    sign_file(video, claims=Claims(job_id=str(JOB)), identity=identity)
    data = bytearray(video.read_bytes())
    position = data.index(b"mdat") + 64        # inside the coded pictures
    data[position] ^= 0x01
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))

    report = read_manifest(tampered, trust_anchors_pem=identity.trust_anchors_pem)
    assert report.validation_state == "Invalid"
    assert not report.valid and not report.trusted
    assert "assertion.bmffHash.mismatch" in report.failures
    # The untouched file still validates.
    assert read_manifest(video, trust_anchors_pem=identity.trust_anchors_pem).trusted


def test_unsigned_file_has_no_manifest(tmp_path: Path) -> None:
    report = read_manifest(small_video(tmp_path / "plain.mp4"))
    assert not report.present and report.validation_state is None and not report.valid


def test_wav_is_signed_too(tmp_path: Path, ca: Path) -> None:
    wav = write_wav(tmp_path / "music.wav", (0.1 * np.sin(np.linspace(0, 900, 22050))).astype(np.float32), 22050)
    identity = dev_ca_ensure(ca)
    sign_file(wav, claims=Claims(job_id=str(JOB), digital_source_type=COMPOSITE_SYNTHETIC), identity=identity)
    report = read_manifest(wav, trust_anchors_pem=identity.trust_anchors_pem)
    assert report.trusted
    assert report.digital_source_type == "compositeSynthetic" and report.ai_generated


def test_unsupported_file_is_refused(tmp_path: Path, ca: Path) -> None:
    midi = tmp_path / "music.mid"
    midi.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60")
    with pytest.raises(ProvenanceError) as info:
        sign_file(midi, claims=Claims(job_id="x"), identity=dev_ca_ensure(ca))
    assert info.value.code == "provenance_unsupported"


def test_configured_certificate_is_used_and_missing_one_is_an_error(tmp_path: Path, ca: Path) -> None:
    settings = SimpleNamespace(PROVENANCE_CERT_CHAIN=str(ca / "chain.pem"), PROVENANCE_PRIVATE_KEY=str(ca / "leaf.key"),
                               PROVENANCE_TRUST_ANCHORS=str(ca / "root.pem"), PROVENANCE_DEV_CA_DIR=str(tmp_path / "dev"),
                               PROVENANCE_GENERATOR="Encore", PROVENANCE_GENERATOR_VERSION="9.9", PROVENANCE_WATERMARK=False)
    config = config_from_settings(settings)
    assert config.identity().cert_chain_pem == (ca / "chain.pem").read_bytes()
    assert config.trust_anchors() == (ca / "root.pem").read_bytes()
    assert not (tmp_path / "dev").exists()        # a configured certificate makes no dev CA

    missing = ProvenanceConfig(cert_chain_path=tmp_path / "nope.pem", private_key_path=tmp_path / "nope.key")
    with pytest.raises(ProvenanceError) as info:
        missing.identity()
    assert info.value.code == "provenance_no_certificate"

    # Unconfigured: the development CA is made on first use, and its root is what verification trusts.
    dev = ProvenanceConfig(dev_ca_dir=tmp_path / "dev")
    assert dev.trust_anchors() is None
    identity = dev.identity()
    assert dev.trust_anchors() == identity.trust_anchors_pem


def test_apply_watermarks_then_signs_and_inspect_reads_both(tmp_path: Path, ca: Path) -> None:
    video = encode_mp4(tmp_path / "render.mp4", compositor_like(24, width=640, height=360), fps=30)
    wav = write_wav(tmp_path / "music.wav", np.zeros(22050, np.float32), 22050)
    params = WatermarkParams(period=4, run=2, offset=0, max_frames=12)
    config = ProvenanceConfig(dev_ca_dir=ca, generator_version="0.1.0")

    results = provenance_apply([video, wav], job_id=JOB, consent_record_id="17", config=config,
                               watermark_params=params)

    assert [r.signed for r in results] == [True, True]
    assert results[0].watermarked and results[0].frames_marked == 12
    assert results[0].watermark_id == JOB.hex[:16]
    assert not results[1].watermarked
    report = inspect_media(video, trust_anchors_pem=config.trust_anchors(), watermark_params=params).as_dict()
    assert report["manifest"]["validation_state"] == "Trusted"
    assert report["manifest"]["job_id"] == str(JOB)
    assert report["watermark"]["found"] and report["watermark"]["job_id_prefix"] == JOB.hex[:16]
    assert report["watermark"]["confidence"] > 0.9
    audio = inspect_media(wav, trust_anchors_pem=config.trust_anchors()).as_dict()
    assert audio["manifest"]["trusted"] and audio["watermark"] is None


def test_a_video_too_small_for_the_mark_is_signed_but_not_marked(tmp_path: Path, ca: Path) -> None:
    video = small_video(tmp_path / "preview.mp4")           # 96x64: under the watermark's 256x256
    before = video.read_bytes()
    [result] = provenance_apply([video], job_id=JOB, consent_record_id=None, config=ProvenanceConfig(dev_ca_dir=ca))
    assert result.signed and not result.watermarked and result.frames_marked == 0
    assert read_manifest(video, trust_anchors_pem=(ca / "root.pem").read_bytes()).trusted
    assert video.read_bytes() != before
