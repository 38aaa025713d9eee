"""Validate untrusted media in a child process with a memory ceiling.

A few kilobytes can declare a 16000x16000 picture; FFmpeg allocates frames at the declared size
while it probes and decodes, long before any limit on width and height can be checked. So the web
process never decodes an upload itself: a child process does, under RLIMIT_AS, and a file that
needs more memory than allowed is refused (``media_too_complex``) while the parent stays small.

    python -m mediakit.isolate   # the child: reads one JSON request on stdin, writes one answer
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from mediakit.errors import MediaError
from mediakit.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo

TOO_COMPLEX = ("This file needs more memory to read than we allow: its pictures are declared larger "
               "than any we accept.")


def validate_isolated(path: str | os.PathLike[str], *, kind: str, limits: Any, memory_mb: int = 768,
                      timeout_s: float = 300.0) -> MediaInfo:
    """``mediakit.validate.validate_media`` run in a child process that may use at most ``memory_mb``
    more than a freshly started interpreter with the media libraries loaded."""
    request = {"path": str(Path(path).resolve()), "kind": kind, "memory_mb": memory_mb,
               "limits": {k: sorted(v) if isinstance(v, frozenset) else v
                          for k, v in dataclasses.asdict(limits).items()}}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    try:
        done = subprocess.run([sys.executable, "-m", "mediakit.isolate"], input=json.dumps(request), text=True,
                              capture_output=True, timeout=timeout_s, env=env, check=False,
                              cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired as exc:
        raise MediaError("Reading this file took too long.", code="media_too_complex") from exc
    answer: dict[str, Any] = {}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            answer = json.loads(line)
            break
    if "info" in answer:
        return _info_from_json(answer["info"])
    if "error" in answer:
        raise MediaError(answer["error"]["message"], code=answer["error"]["code"])
    if "crash" in answer:
        raise RuntimeError(f"media validation failed in the child process: {answer['crash']}")
    # Killed by the ceiling (or crashed inside a decoder): either way the file is not safe to read.
    raise MediaError(TOO_COMPLEX, code="media_too_complex")


def _info_from_json(data: dict[str, Any]) -> MediaInfo:
    audio = AudioStreamInfo(**data["audio"]) if data.get("audio") else None
    video = VideoStreamInfo(**data["video"]) if data.get("video") else None
    return MediaInfo(**{**data, "audio": audio, "video": video})


def _vm_size_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _child() -> None:
    request = json.loads(sys.stdin.read())
    import importlib
    import pkgutil

    import av

    from mediakit.validate import MediaLimits, validate_media  # loads av, numpy, soundfile first

    # PyAV loads some of its modules on first use; under the ceiling that load itself would fail.
    for module in pkgutil.walk_packages(av.__path__, "av."):
        importlib.import_module(module.name)

    ceiling = _vm_size_bytes() + int(request["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    raw = request["limits"]
    limits = MediaLimits(**{**raw, "containers": frozenset(raw["containers"]), "codecs": frozenset(raw["codecs"])})
    try:
        info = validate_media(request["path"], kind=request["kind"], limits=limits)
        answer: dict[str, Any] = {"info": dataclasses.asdict(info)}
    except MediaError as exc:
        answer = {"error": {"code": exc.code, "message": exc.message}}
    except MemoryError:
        answer = {"error": {"code": "media_too_complex", "message": TOO_COMPLEX}}
    except Exception as exc:  # a bug, not a verdict on the file: the parent raises it as one
        answer = {"crash": repr(exc)[:500]}
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    _child()
