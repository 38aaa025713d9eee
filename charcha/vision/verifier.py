"""The liveness verdict for one challenge: load the models once, then call ``verify`` many times.

Order of the checks, cheapest first, each able to stop early:

1. capture times (no image work) -> ``timing_invalid`` / ``too_few_frames``;
2. per frame: the full-range face detector counts faces on every frame, the short-range one on
   every other frame as a second opinion for close faces (-> ``multiple_faces``, ``no_face``),
   and FaceMesh tracks the one face's 478 landmarks;
3. face size (-> ``face_too_small``), the neutral baseline from the frames before the first prompt,
   and the per-frame signals;
4. identity: dlib embeddings of a handful of frames -- the neutral reference and every frame that
   proves an action (an accomplice would have to appear exactly there) -- plus, when the
   appearance of the face jumps between two neighbouring frames (where a swap would be), both
   sides of that jump; all compared with the reference (-> ``identity_changed``);
5. the actions, each inside its own window and in order (-> ``wrong_order`` / ``action_missed``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from charcha.vision.actions import Thresholds, judge_actions
from charcha.vision.cadence import CadenceRules, check_cadence
from charcha.vision.faces import FaceBox, FaceCounter, merge_boxes
from charcha.vision.identity import IdentityBackend, load_identity_backend
from charcha.vision.landmarks import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS, FaceMeshRunner
from charcha.vision.signals import compute_signals, make_baseline
from charcha.vision.training import face_sharpness, select_training_frames
from charcha.vision.types import (
    ACTIONS,
    MESSAGES,
    CapturedFrame,
    ChallengeStep,
    LivenessInputError,
    StepResult,
    Verdict,
    missed_message,
)
from mediakit.progress import ProgressFn, null_progress

MIN_SIDE_PX, MAX_SIDE_PX = 64, 4096


@dataclass(frozen=True)
class FacePolicy:
    # A missed detection in a single frame happens (motion blur); a face absent for longer does not.
    max_missing_run: int = 2
    max_missing_fraction: float = 0.05
    # One frame with two faces could be a detector error; two frames are a second person.
    max_multi_face_frames: int = 1
    min_face_width_px: float = 56.0
    min_neutral_frames: int = 3
    # Above this appearance change between neighbouring frames both sides get an identity check.
    appearance_jump: float = 0.35
    # Face counting: full-range detector on every frame; short-range detector (a second opinion
    # for close faces) on every near_stride-th frame. Thresholds: the full-range default; for the
    # short-range, above the highest false second face seen in genuine attempts (0.51).
    far_confidence: float = 0.5
    near_confidence: float = 0.6
    near_stride: int = 2


class LivenessVerifier:
    """Loads FaceMesh, the face detector and the identity model once; ``verify`` per challenge.

    Not safe to share between threads mid-call (FaceMesh keeps tracking state): calls are
    serialised by a lock. One instance per worker process is the intended use.
    """

    def __init__(
        self,
        *,
        identity_backend: str = "auto",
        capture_fps: float | None = 15.0,
        thresholds: Thresholds | None = None,
        faces: FacePolicy | None = None,
        training_frames: int = 12,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.faces = faces or FacePolicy()
        self.cadence = CadenceRules(capture_fps=capture_fps)
        self.training_frames = training_frames
        self._identity: IdentityBackend = load_identity_backend(identity_backend)
        self._mesh = FaceMeshRunner(static=False)
        self._far = FaceCounter(full_range=True, min_confidence=self.faces.far_confidence)
        self._near = FaceCounter(full_range=False, min_confidence=self.faces.near_confidence)
        self._detector_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveness-faces")
        self._lock = threading.Lock()

    @property
    def identity_backend(self) -> str:
        return self._identity.name

    def close(self) -> None:
        self._detector_thread.shutdown(wait=True)
        self._mesh.close()
        self._far.close()
        self._near.close()

    def verify(
        self, frames: Sequence[CapturedFrame], steps: Sequence[ChallengeStep], *, progress: ProgressFn = null_progress
    ) -> Verdict:
        _validate(frames, steps)
        with self._lock:
            return _Run(self, frames, steps, progress).verdict()


class _Run:
    """The state of one verification (kept off the verifier so calls cannot leak into each other)."""

    def __init__(
        self, owner: LivenessVerifier, frames: Sequence[CapturedFrame], steps: Sequence[ChallengeStep], progress: ProgressFn
    ) -> None:
        self.v = owner
        self.frames = frames
        self.steps = sorted(steps, key=lambda s: s.start_s)
        self.progress = progress
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.step_results: tuple[StepResult, ...] = tuple(StepResult(s.action, False, None, 0.0) for s in self.steps)

    def _lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = now - since
        return now

    def fail(self, reason: str, detail: str, *, message: str | None = None, distance: float | None = None) -> Verdict:
        self.timings["total"] = time.perf_counter() - self.started
        self.progress("liveness", 1.0, "Checked.")
        return Verdict(
            passed=False,
            reason=reason,
            message=message or MESSAGES[reason],
            steps=self.step_results,
            training_frame_indices=(),
            embedding=None,
            frame_count=len(self.frames),
            detail=detail,
            identity_distance_max=distance,
            identity_backend=self.v.identity_backend,
            timings_s=dict(self.timings),
        )

    def verdict(self) -> Verdict:
        v = self.v
        t = time.perf_counter()
        times = np.array([f.t_s for f in self.frames], dtype=np.float64)
        problem = check_cadence(times, self.steps, v.cadence)
        t = self._lap("cadence", t)
        if problem is not None:
            return self.fail(problem.reason, problem.detail)

        # -- faces, frame by frame ---------------------------------------------------------------
        # Faces are counted by the full-range detector on every frame (on its own thread) and by
        # the short-range detector on every ``near_stride``-th frame (here): measured on the attack
        # suite, the full-range model misses a close second person in three-quarter view that the
        # short-range model finds at ~0.8. FaceMesh tracks the one face on this thread. All three
        # spend their time in mediapipe's C++ graphs with the GIL released, so on two cores the
        # two threads overlap.
        v._mesh.reset()  # no tracking state from the previous challenge
        n = len(self.frames)
        policy = v.faces
        far: list[list[FaceBox] | None] = [None] * n
        near: list[list[FaceBox]] = [[] for _ in range(n)]
        tracked: list[np.ndarray | None] = [None] * n
        # Per-frame image measures are taken here, on the FaceMesh thread, while the detector
        # thread (the longer of the two) is still counting faces: they cost nothing extra there.
        sharpness = np.zeros(n, dtype=np.float64)
        patches: list[np.ndarray | None] = [None] * n
        done = [False] * n
        # Each side stops early once the other has found a decisive problem, but never before the
        # frame where that problem was found, so the replay below sees both results up to there.
        detector_limit, mesh_limit = [n], [n]

        def count_faces() -> None:
            multi = 0
            for i, frame in enumerate(self.frames):
                if i >= detector_limit[0]:
                    return
                found = v._far.detect(np.ascontiguousarray(frame.image))
                far[i] = found
                multi += len(found) >= 2
                if multi > policy.max_multi_face_frames:
                    mesh_limit[0] = min(mesh_limit[0], i + 1)
                    return

        detector = v._detector_thread.submit(count_faces)
        run = near_multi = 0
        try:
            for i, frame in enumerate(self.frames):
                if i >= mesh_limit[0]:
                    break
                image = np.ascontiguousarray(frame.image)
                tracked[i] = lm = v._mesh.landmarks(image)
                if lm is not None:
                    sharpness[i] = face_sharpness(image, lm)
                    patches[i] = _aligned_patch(image, lm)
                if i % policy.near_stride == 0:
                    near[i] = v._near.detect(image)
                    near_multi += len(near[i]) >= 2
                done[i] = True
                run = run + 1 if tracked[i] is None else 0
                if run > policy.max_missing_run or near_multi > policy.max_multi_face_frames:
                    detector_limit[0] = min(detector_limit[0], i + 1)
                    break
                if i % 15 == 0:
                    self.progress("liveness", 0.7 * (i + 1) / n, "Looking at your face in each frame.")
        finally:
            detector_limit[0] = min(detector_limit[0], sum(done))
            detector.result()

        # Replay all results in frame order, so the first problem in time decides the reason.
        landmarks: list[np.ndarray | None] = [None] * n
        boxes: list[FaceBox | None] = [None] * n
        run = missing = multi = 0
        for i, frame in enumerate(self.frames):
            found, lm = far[i], tracked[i]
            if found is None or not done[i]:  # cannot happen: one side stops only after a decision
                return self.fail("no_face", f"frame {i} was not examined")
            faces = merge_boxes(found, near[i])
            if len(faces) >= 2:
                multi += 1
                if multi > policy.max_multi_face_frames:
                    self._lap("faces", t)
                    return self.fail("multiple_faces", f"{len(faces)} faces at {frame.t_s:.2f} s")
            main = None
            if lm is not None:
                # The detector's box around the face FaceMesh tracks (a nose in profile pokes out
                # of the box, the landmarks' centre does not).
                cx, cy = lm[:468, :2].mean(axis=0)
                main = next((b for b in faces if b.contains(cx, cy)), None)
            if main is None or lm is None:
                run += 1
                missing += 1
                if run > policy.max_missing_run:
                    self._lap("faces", t)
                    return self.fail("no_face", f"no face from {self.frames[i - run + 1].t_s:.2f} s for {run} frames")
                continue
            run = 0
            landmarks[i], boxes[i] = lm, main
        if missing > policy.max_missing_fraction * n:
            self._lap("faces", t)
            return self.fail("no_face", f"no face in {missing} of {n} frames")
        t = self._lap("faces", t)

        # -- signals -----------------------------------------------------------------------------
        face_idx = np.array([i for i in range(n) if landmarks[i] is not None], dtype=np.int64)
        pts = np.stack([landmarks[i] for i in face_idx])  # type: ignore[misc]
        ftimes = times[face_idx]
        widths = np.ptp(pts[:, :468, 0], axis=1)
        if float(np.median(widths)) < policy.min_face_width_px:
            return self.fail("face_too_small", f"face {np.median(widths):.0f} px wide")
        first_prompt = self.steps[0].start_s
        neutral = np.flatnonzero(ftimes < first_prompt)
        if len(neutral) < policy.min_neutral_frames:
            return self.fail("too_few_frames", f"{len(neutral)} frames with a face before the first prompt")
        baseline = make_baseline(pts[neutral])
        signals = compute_signals(pts, baseline)
        outcome = judge_actions(signals, ftimes, self.steps, v.thresholds)
        self.step_results = outcome.steps
        t = self._lap("signals", t)
        self.progress("liveness", 0.75, "Checking it is the same person throughout.")

        # -- identity ----------------------------------------------------------------------------
        sharp = sharpness[face_idx]
        reference = int(neutral[np.argmax(sharp[neutral])])
        anchors = [reference, *[e for e in outcome.evidence if e is not None]]
        change, at = _sharpest_change([patches[i] for i in face_idx])  # type: ignore[misc]
        if change >= policy.appearance_jump:
            anchors += [at, at + 1]
        anchors = list(dict.fromkeys(anchors))
        found_emb = v._identity.embed_many(
            [(np.ascontiguousarray(self.frames[face_idx[k]].image), boxes[face_idx[k]]) for k in anchors]  # type: ignore[misc]
        )
        embeddings = {k: e for k, e in zip(anchors, found_emb, strict=True) if e is not None}
        t = self._lap("identity", t)
        if reference not in embeddings or (len(embeddings) < 2 and len(anchors) >= 2):
            return self.fail("no_face", "the identity model found no face to compare")
        ref_emb = embeddings[reference]
        distances = {k: v._identity.distance(ref_emb, e) for k, e in embeddings.items()}
        worst = max(distances, key=lambda k: distances[k])
        if distances[worst] > v._identity.threshold:
            return self.fail(
                "identity_changed",
                f"frame at {ftimes[worst]:.2f} s is {distances[worst]:.2f} from the reference at {ftimes[reference]:.2f} s"
                f" (largest appearance jump {change:.2f} at {ftimes[at]:.2f} s)",
                distance=distances[worst],
            )

        # -- actions -----------------------------------------------------------------------------
        if outcome.reason != "passed":
            assert outcome.first_missed is not None
            missed = self.steps[outcome.first_missed]
            peaks = ", ".join(f"{r.action}={r.peak_signal:.2f}" for r in outcome.steps)
            detail = f"step {outcome.first_missed + 1} ({missed.action}) not seen in its window; peaks {peaks}"
            message = None if outcome.reason == "wrong_order" else missed_message(missed.action, too_late=outcome.too_late)
            return self.fail(outcome.reason, detail, message=message, distance=distances[worst])

        # -- training frames ---------------------------------------------------------------------
        positions = select_training_frames(range(len(face_idx)), sharp, signals, count=v.training_frames)
        self._lap("training", t)
        self.timings["total"] = time.perf_counter() - self.started
        self.progress("liveness", 1.0, "Checked.")
        return Verdict(
            passed=True,
            reason="passed",
            message=MESSAGES["passed"],
            steps=outcome.steps,
            training_frame_indices=tuple(int(face_idx[p]) for p in positions),
            embedding=np.mean(np.stack(list(embeddings.values())), axis=0),
            frame_count=n,
            detail=f"identity max distance {distances[worst]:.2f} over {len(embeddings)} frames",
            identity_distance_max=distances[worst],
            identity_backend=v.identity_backend,
            timings_s=dict(self.timings),
        )


def _aligned_patch(image: np.ndarray, pts: np.ndarray, size: int = 32) -> np.ndarray:
    """A small grey face patch aligned on the eyes and mouth, zero-mean and unit-norm."""
    right = (pts[RIGHT_EYE_CORNERS[0], :2] + pts[RIGHT_EYE_CORNERS[1], :2]) / 2
    left = (pts[LEFT_EYE_CORNERS[0], :2] + pts[LEFT_EYE_CORNERS[1], :2]) / 2
    mouth = (pts[61, :2] + pts[291, :2]) / 2
    src = np.array([right, left, mouth], dtype=np.float32)
    dst = np.array([[0.3 * size, 0.35 * size], [0.7 * size, 0.35 * size], [0.5 * size, 0.8 * size]], dtype=np.float32)
    patch = cv2.warpAffine(image, cv2.getAffineTransform(src, dst), (size, size), flags=cv2.INTER_AREA)
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray -= gray.mean()
    return gray / (np.linalg.norm(gray) + 1e-6)


def _sharpest_change(patches: Sequence[np.ndarray]) -> tuple[float, int]:
    """The biggest change of appearance between neighbouring face frames (their aligned patches),
    and where (k -> k+1).

    A person swapped in mid-challenge shows as a sudden change (1 - correlation of aligned grey
    face patches: ~0.9-1.2 on the swap attacks, at most ~0.2 in genuine attempts, whose fastest
    head turns and blinks change the patch gradually).
    """
    if len(patches) < 2:
        return 0.0, 0
    stack = np.stack(patches)
    change = 1.0 - np.sum(stack[1:] * stack[:-1], axis=(1, 2))
    k = int(np.argmax(change))
    return float(change[k]), k


def _validate(frames: Sequence[CapturedFrame], steps: Sequence[ChallengeStep]) -> None:
    if not isinstance(frames, Sequence) or len(frames) == 0:
        raise LivenessInputError("No camera frames were given to check.", code="frames_empty")
    if not isinstance(steps, Sequence) or len(steps) == 0:
        raise LivenessInputError("The challenge has no steps to check against.", code="steps_empty")
    shape = None
    for i, frame in enumerate(frames):
        if not isinstance(frame, CapturedFrame):
            raise LivenessInputError(f"Frame {i} is not a CapturedFrame.", code="frame_invalid")
        if isinstance(frame.t_s, bool) or not isinstance(frame.t_s, int | float):
            raise LivenessInputError(f"Frame {i} has no numeric capture time.", code="frame_invalid")
        image = frame.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise LivenessInputError(f"Frame {i} is not an HxWx3 uint8 RGB image.", code="frame_invalid")
        h, w = image.shape[:2]
        if not (MIN_SIDE_PX <= h <= MAX_SIDE_PX and MIN_SIDE_PX <= w <= MAX_SIDE_PX):
            raise LivenessInputError(f"Frame {i} is {w}x{h}; frames must be 64 to 4096 pixels a side.", code="frame_invalid")
        if shape is None:
            shape = image.shape
        elif image.shape != shape:
            raise LivenessInputError("All frames of a challenge must have the same size.", code="frame_invalid")
    previous_end = -math.inf
    for step in sorted(steps, key=lambda s: s.start_s):
        if not isinstance(step, ChallengeStep) or step.action not in ACTIONS:
            raise LivenessInputError(f"Unknown challenge step {step!r}.", code="steps_invalid")
        if not (math.isfinite(step.start_s) and math.isfinite(step.end_s) and step.start_s < step.end_s):
            raise LivenessInputError(f"Step {step.action} has an empty or invalid window.", code="steps_invalid")
        if step.start_s < previous_end:
            raise LivenessInputError("Challenge windows must not overlap.", code="steps_invalid")
        previous_end = step.end_s
