"""The liveness verdict for one challenge, streamed: analyse each batch of frames as it arrives,
then decide from the observations alone once the last batch is in.

``analyse_batch`` (per batch, a pure function of the batch: FaceMesh tracking restarts at every
batch, so any worker may analyse any batch in any order):

- faces counted by the full-range face detector on every frame (on its own thread), the
  short-range one on every ``near_stride``-th frame as a second opinion for close faces, and the
  small-face search on every ``small_stride``-th frame for faces down to 20 px tall;
- FaceMesh's 478 landmarks, the face's sharpness, an aligned grey patch (the appearance
  descriptor that finds a swap between two frames), the light regions' colours;
- identity embeddings of every ``embed_stride``-th face frame and of both sides of every
  appearance jump inside the batch.

``decide`` (after the last frame; numpy only, except for an identity embedding or two when an
appearance jump straddles two batches):

1. capture times -> ``timing_invalid`` / ``too_few_frames``;
2. faces -> ``multiple_faces``, ``no_face``; face size -> ``face_too_small``;
3. the neutral baseline from the frames before the first prompt, the per-frame signals;
4. identity: every embedded frame against the sharpest neutral one (-> ``identity_changed``),
   the challenge's face against the account's verified face (-> ``identity_mismatch``);
5. the actions, each inside its own window and in order (-> ``wrong_order`` / ``action_missed``),
   then moves nobody asked for (-> ``unrequested_action``);
6. the light: the face's colour follows the screen's sequence and is shaped like a face
   (-> ``light_mismatch`` / ``light_flat``), when the challenge had a light phase.
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from charcha.vision.actions import Thresholds, find_unrequested, judge_actions
from charcha.vision.cadence import CadenceRules, check_cadence
from charcha.vision.faces import FaceBox, FaceCounter, SmallFaceSearch, merge_boxes
from charcha.vision.identity import IdentityBackend, load_identity_backend
from charcha.vision.landmarks import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS, FaceMeshRunner
from charcha.vision.signals import compute_signals, make_baseline
from charcha.vision.stream import FrameObservation
from charcha.vision.training import face_sharpness, select_training_frames
from charcha.vision.types import (
    ACTION_PHRASES,
    ACTIONS,
    MESSAGES,
    CapturedFrame,
    ChallengeStep,
    LightSegment,
    LivenessInputError,
    StepResult,
    Verdict,
    missed_message,
)
from mediakit.progress import ProgressFn, null_progress, scaled

MIN_SIDE_PX, MAX_SIDE_PX = 64, 4096
BATCH_SIZE = 10  # frames per batch in verify(), as the page uploads them

LoadImages = Callable[[Sequence[int]], list[np.ndarray]]


@dataclass(frozen=True)
class FacePolicy:
    # A missed detection in a single frame happens (motion blur); a face absent for longer does not.
    max_missing_run: int = 2
    max_missing_fraction: float = 0.05
    # One frame with two faces could be a detector error; two frames are a second person.
    max_multi_face_frames: int = 1
    # The face's width against the frame's: 56 px in a 320 px frame, where FaceMesh's eyelids
    # and lips are still a few pixels apart.
    min_face_width_frac: float = 56 / 320
    min_neutral_frames: int = 3
    # Above this appearance change between neighbouring frames both sides get an identity check.
    appearance_jump: float = 0.35
    # Face counting: full-range detector on every frame; short-range detector (a second opinion
    # for close faces) on every near_stride-th frame. Thresholds: the full-range default; for the
    # short-range, above the highest false second face seen in genuine attempts (0.51).
    far_confidence: float = 0.5
    near_confidence: float = 0.6
    near_stride: int = 2
    # Any face but the user's counts from this score on: the full-range detector scored an
    # astronaut's suit collar 0.51-0.57 in a 640x480 genuine attempt; people score higher.
    second_face_confidence: float = 0.6
    # The small-face search (faces down to 20 px tall) on every small_stride-th frame: see faces.py.
    small_stride: int = 3
    # Identity embeddings on every embed_stride-th face frame: a person swapped in for one prompt
    # (>= 1.7 s, ~25 frames) is embedded ~5 times; a swap is also embedded at its jump.
    embed_stride: int = 5


class LivenessVerifier:
    """Loads FaceMesh, the face detectors and the identity model once; then ``analyse_batch`` per
    batch and ``decide`` per challenge (or ``verify`` for a whole recording).

    Not safe to share between threads mid-call (mediapipe graphs keep state): calls are
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
        self._small = SmallFaceSearch()
        self._detector_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveness-faces")
        self._lock = threading.Lock()
        self._light = _light_module()

    @property
    def identity_backend(self) -> str:
        return self._identity.name

    def close(self) -> None:
        self._detector_thread.shutdown(wait=True)
        self._mesh.close()
        self._far.close()
        self._near.close()
        self._small.close()

    # -- the streaming API ------------------------------------------------------------------------

    def analyse_batch(self, frames: Sequence[CapturedFrame], *, first_index: int) -> list[FrameObservation]:
        """One observation per frame of this batch; ``first_index`` is the first frame's position
        in the whole challenge (strides and the order of the observations follow it)."""
        _validate_frames(frames)
        if isinstance(first_index, bool) or not isinstance(first_index, int) or first_index < 0:
            raise LivenessInputError("The batch's first frame index must be a whole number >= 0.", code="frame_invalid")
        with self._lock:
            return self._analyse(frames, first_index)

    def decide(
        self,
        observations: Sequence[FrameObservation],
        steps: Sequence[ChallengeStep],
        *,
        light: Sequence[LightSegment] = (),
        reference_embedding: np.ndarray | None = None,
        load_images: LoadImages | None = None,
        progress: ProgressFn = null_progress,
    ) -> Verdict:
        """The verdict from every frame's observation (any order).

        ``load_images(indices)`` returns those frames' RGB images (as analysed); it is called only
        when an appearance jump falls between two batches and a side of it has no embedding.
        ``reference_embedding`` is the account's verified face, when it has one.
        """
        _validate_steps(steps)
        obs = sorted(observations, key=lambda o: o.index)
        if not obs:
            raise LivenessInputError("No camera frames were given to check.", code="frames_empty")
        if len({o.index for o in obs}) != len(obs):
            raise LivenessInputError("A frame was analysed twice.", code="observations_invalid")
        if len({(o.width, o.height) for o in obs}) != 1:
            raise LivenessInputError("All frames of a challenge must have the same size.", code="frame_invalid")
        return _Decision(self, obs, steps, light, reference_embedding, load_images, progress).verdict()

    def verify(
        self,
        frames: Sequence[CapturedFrame],
        steps: Sequence[ChallengeStep],
        *,
        light: Sequence[LightSegment] = (),
        reference_embedding: np.ndarray | None = None,
        progress: ProgressFn = null_progress,
    ) -> Verdict:
        """A whole recording: analysed in batches of ten, then decided (benches and tests)."""
        _validate_frames(frames)
        _validate_steps(steps)
        started = time.perf_counter()
        problem = check_cadence([f.t_s for f in frames], steps, self.cadence)
        if problem is not None:  # no image work for a recording whose timing is already wrong
            return _failed(self, len(frames), sorted(steps, key=lambda s: s.start_s), problem.reason, problem.detail,
                           timings={"total": time.perf_counter() - started}, progress=progress)
        observations: list[FrameObservation] = []
        for start in range(0, len(frames), BATCH_SIZE):
            observations += self.analyse_batch(frames[start : start + BATCH_SIZE], first_index=start)
            progress("liveness", 0.7 * len(observations) / len(frames), "Looking at your face in each frame.")
        analysed = time.perf_counter()
        verdict = self.decide(
            observations, steps, light=light, reference_embedding=reference_embedding,
            load_images=lambda indices: [frames[i].image for i in indices], progress=scaled(progress, 0.72, 1.0),
        )
        verdict.timings_s["analyse"] = analysed - started
        verdict.timings_s["total"] = time.perf_counter() - started
        return verdict

    # -- per batch --------------------------------------------------------------------------------

    def _analyse(self, frames: Sequence[CapturedFrame], first_index: int) -> list[FrameObservation]:
        policy = self.faces
        images = [np.ascontiguousarray(f.image) for f in frames]
        n = len(images)
        h, w = images[0].shape[:2]
        # The full-range detector counts faces on its own thread while FaceMesh, the short-range
        # detector and the small-face search run here: all spend their time in C++ with the GIL
        # released, so on two cores the two threads overlap.
        far = self._detector_thread.submit(lambda: [self._far.detect(im) for im in images])
        self._mesh.reset()  # tracking restarts with every batch: the batch alone decides
        landmarks: list[np.ndarray | None] = [None] * n
        near: list[list[FaceBox]] = [[] for _ in range(n)]
        small: list[list[FaceBox] | None] = [None] * n
        sharpness = np.zeros(n)
        patches: list[np.ndarray | None] = [None] * n
        light: list[np.ndarray | None] = [None] * n
        try:
            for i, image in enumerate(images):
                g = first_index + i
                if i == 0:
                    # FaceMesh's first look (detection, then landmarks on the detector's crop) is
                    # off by ~2.5 px at 320x240 and the tracking that follows inherits it: an open
                    # mouth read 30 % weaker after a restart. Two more passes on the first frame
                    # refine it from its own landmarks (1.2 px off the continuously tracked ones,
                    # 0.17 px over the rest of the batch; measured on genuine attempts).
                    self._mesh.landmarks(image)
                    self._mesh.landmarks(image)
                landmarks[i] = lm = self._mesh.landmarks(image)
                if lm is not None:
                    sharpness[i] = face_sharpness(image, lm)
                    patches[i] = _aligned_patch(image, lm)
                    if self._light is not None:
                        light[i] = np.asarray(self._light.measure_regions(image, lm), dtype=np.float32)
                if g % policy.near_stride == 0:
                    near[i] = self._near.detect(image)
                if g % policy.small_stride == 0:
                    small[i] = self._small.detect(image, skip=None if lm is None else _head_box(lm))
        finally:
            found_far = far.result()

        faces: list[list[FaceBox]] = []
        main: list[int] = []
        for i in range(n):
            merged = merge_boxes(found_far[i], near[i])
            lm = landmarks[i]
            at = -1
            if lm is not None:
                # The detector's box around the face FaceMesh tracks (a nose in profile pokes out
                # of the box, the landmarks' centre does not).
                cx, cy = lm[:468, :2].mean(axis=0)
                at = next((k for k, b in enumerate(merged) if b.contains(cx, cy)), -1)
                if at < 0 and (first_index + i) % policy.near_stride != 0:
                    # The full-range detector missed a meshed face (it scored a rendered head of
                    # person B below 0.5 on every frame; the short-range one found it): ask the
                    # short-range detector on this frame too before calling the face missing.
                    merged = merge_boxes(merged, self._near.detect(images[i]))
                    at = next((k for k, b in enumerate(merged) if b.contains(cx, cy)), -1)
            if small[i]:
                merged = merged + [b for b in small[i] or [] if not _near_face(b, merged, lm)]
            faces.append(merged)
            main.append(at)

        # Embeddings: every embed_stride-th face frame, and both sides of any jump in appearance.
        embed = {i for i in range(n) if main[i] >= 0 and (first_index + i) % policy.embed_stride == 0}
        for k in range(n - 1):
            a, b = patches[k], patches[k + 1]
            jump = a is not None and b is not None and 1.0 - float(np.sum(a * b)) >= policy.appearance_jump
            if jump and main[k] >= 0 and main[k + 1] >= 0:
                embed |= {k, k + 1}
        order = sorted(embed)
        found_emb = self._identity.embed_many([(images[i], faces[i][main[i]]) for i in order])
        embeddings: dict[int, np.ndarray] = {i: e for i, e in zip(order, found_emb, strict=True) if e is not None}

        return [
            FrameObservation(
                index=first_index + i,
                t_s=float(frames[i].t_s),
                width=w,
                height=h,
                faces=np.array([(b.x, b.y, b.width, b.height, b.score) for b in faces[i]], np.float32).reshape(-1, 5),
                small_searched=small[i] is not None,
                landmarks=None if landmarks[i] is None else landmarks[i].astype(np.float32),  # type: ignore[union-attr]
                main_face=main[i],
                sharpness=float(sharpness[i]),
                patch=None if patches[i] is None else patches[i].astype(np.float16),  # type: ignore[union-attr]
                light=light[i],
                embedding=None if i not in embeddings else embeddings[i].astype(np.float32),
            )
            for i in range(n)
        ]


class _Decision:
    """The state of one decision (kept off the verifier so calls cannot leak into each other)."""

    def __init__(
        self,
        owner: LivenessVerifier,
        observations: list[FrameObservation],
        steps: Sequence[ChallengeStep],
        light: Sequence[LightSegment],
        reference_embedding: np.ndarray | None,
        load_images: LoadImages | None,
        progress: ProgressFn,
    ) -> None:
        self.v = owner
        self.obs = observations
        self.steps = sorted(steps, key=lambda s: s.start_s)
        self.light = list(light)
        self.reference_embedding = reference_embedding
        self.load_images = load_images
        self.progress = progress
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.step_results: tuple[StepResult, ...] = tuple(StepResult(s.action, False, None, 0.0) for s in self.steps)

    def _lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = now - since
        return now

    def fail(self, reason: str, detail: str, *, message: str | None = None, distance: float | None = None) -> Verdict:
        self.timings["decide"] = time.perf_counter() - self.started
        return _failed(self.v, len(self.obs), self.steps, reason, detail, message=message, distance=distance,
                       step_results=self.step_results, timings=self.timings, progress=self.progress)

    def verdict(self) -> Verdict:
        v, policy, obs = self.v, self.v.faces, self.obs
        t = time.perf_counter()
        times = np.array([o.t_s for o in obs], dtype=np.float64)
        problem = check_cadence(times, self.steps, v.cadence)
        t = self._lap("cadence", t)
        if problem is not None:
            return self.fail(problem.reason, problem.detail)

        # -- faces, in frame order, so the first problem in time decides the reason ------------
        n = len(obs)
        run = missing = multi = 0
        for i, o in enumerate(obs):
            counted = sum(1 for k, box in enumerate(o.faces) if k == o.main_face or _second_face(box, o, policy))
            if counted >= 2:
                multi += 1
                if multi > policy.max_multi_face_frames:
                    return self.fail("multiple_faces", f"{counted} faces at {o.t_s:.2f} s (frame {o.index})")
            if o.landmarks is None or o.main_face < 0:
                run += 1
                missing += 1
                if run > policy.max_missing_run:
                    return self.fail("no_face", f"no face from {obs[i - run + 1].t_s:.2f} s for {run} frames")
                continue
            run = 0
        if missing > policy.max_missing_fraction * n:
            return self.fail("no_face", f"no face in {missing} of {n} frames")
        t = self._lap("faces", t)

        # -- signals -----------------------------------------------------------------------------
        face_idx = np.array([i for i, o in enumerate(obs) if o.landmarks is not None and o.main_face >= 0], np.int64)
        pts = np.stack([obs[i].landmarks for i in face_idx]).astype(np.float64)  # type: ignore[misc]
        ftimes = times[face_idx]
        widths = np.ptp(pts[:, :468, 0], axis=1)
        min_width = policy.min_face_width_frac * obs[0].width
        if float(np.median(widths)) < min_width:
            return self.fail("face_too_small", f"face {np.median(widths):.0f} px wide, at least {min_width:.0f} needed")
        first_prompt = self.steps[0].start_s
        neutral = np.flatnonzero(ftimes < first_prompt)
        if len(neutral) < policy.min_neutral_frames:
            return self.fail("too_few_frames", f"{len(neutral)} frames with a face before the first prompt")
        baseline = make_baseline(pts[neutral])
        signals = compute_signals(pts, baseline)
        outcome = judge_actions(signals, ftimes, self.steps, v.thresholds)
        self.step_results = outcome.steps
        t = self._lap("signals", t)
        self.progress("liveness", 0.3, "Checking it is the same person throughout.")

        # -- identity ----------------------------------------------------------------------------
        sharp = np.array([obs[i].sharpness for i in face_idx])
        embeddings: dict[int, np.ndarray] = {
            k: np.asarray(obs[i].embedding, dtype=np.float64) for k, i in enumerate(face_idx) if obs[i].embedding is not None
        }
        embedded_neutral = [k for k in neutral if k in embeddings]
        if embedded_neutral:
            reference = max(embedded_neutral, key=lambda k: sharp[k])
        else:
            reference = int(neutral[np.argmax(sharp[neutral])])
            self._embed_more(face_idx, [reference], embeddings)
        change, at = 0.0, 0
        patches = [obs[i].patch for i in face_idx]
        if all(p is not None for p in patches) and len(patches) >= 2:
            stack = np.stack(patches).astype(np.float32)  # type: ignore[arg-type]
            changes = 1.0 - np.sum(stack[1:] * stack[:-1], axis=(1, 2))
            at = int(np.argmax(changes))
            change = float(changes[at])
            # Jumps between two batches: each side needs an embedding (inside a batch it has one).
            jumps = np.flatnonzero(changes >= policy.appearance_jump)
            self._embed_more(face_idx, sorted({int(k) for j in jumps for k in (j, j + 1)}), embeddings)
        t = self._lap("identity_embed", t)
        if reference not in embeddings or (len(embeddings) < 2 and len(face_idx) >= 2):
            return self.fail("no_face", "the identity model found no face to compare")
        ref_emb = embeddings[reference]
        identity = v._identity
        distances = {k: identity.distance(ref_emb, e) for k, e in embeddings.items()}
        worst = max(distances, key=lambda k: distances[k])
        if distances[worst] > identity.threshold:
            return self.fail(
                "identity_changed",
                f"frame at {ftimes[worst]:.2f} s is {distances[worst]:.2f} from the reference at {ftimes[reference]:.2f} s"
                f" (largest appearance jump {change:.2f} at {ftimes[at]:.2f} s)",
                distance=distances[worst],
            )
        embedding = np.mean(np.stack(list(embeddings.values())), axis=0)
        account_distance = None
        if self.reference_embedding is not None:
            account_distance = identity.distance(np.asarray(self.reference_embedding, dtype=np.float64), embedding)
            if account_distance > identity.account_threshold:
                return self.fail(
                    "identity_mismatch",
                    f"{account_distance:.2f} from the account's verified face (limit {identity.account_threshold:.2f})",
                    distance=distances[worst],
                )
        t = self._lap("identity", t)

        # -- actions -----------------------------------------------------------------------------
        if outcome.reason != "passed":
            assert outcome.first_missed is not None
            missed = self.steps[outcome.first_missed]
            peaks = ", ".join(f"{r.action}={r.peak_signal:.2f}" for r in outcome.steps)
            detail = f"step {outcome.first_missed + 1} ({missed.action}) not seen in its window; peaks {peaks}"
            message = None if outcome.reason == "wrong_order" else missed_message(missed.action, too_late=outcome.too_late)
            return self.fail(outcome.reason, detail, message=message, distance=distances[worst])
        extra = find_unrequested(signals, ftimes, self.steps, v.thresholds, since_s=float(ftimes[0]))
        if extra is not None:
            return self.fail(
                "unrequested_action",
                f"{extra.action} at {extra.at_s:.2f} s ({extra.strength:.1f}x its threshold) outside its windows",
                message=f"We saw you {ACTION_PHRASES[extra.action]} when no prompt asked for it. Keep your face still "
                "between the prompts and do only what each prompt asks.",
                distance=distances[worst],
            )
        t = self._lap("actions", t)

        # -- light -------------------------------------------------------------------------------
        if self.light and v._light is not None:
            lit = [(o.t_s, o.light) for o in obs if o.light is not None]
            regions = np.stack([r for _, r in lit]) if lit else np.zeros((0, 0, 3), np.float32)
            result = v._light.judge_light(np.array([t for t, _ in lit], np.float64), regions, self.light)
            if not result.ok:
                return self.fail(result.reason, result.detail, distance=distances[worst])
        elif self.light:
            return self.fail("light_mismatch", "the light check is not installed on this worker")
        t = self._lap("light", t)

        # -- training frames ---------------------------------------------------------------------
        positions = select_training_frames(range(len(face_idx)), sharp, signals, count=v.training_frames)
        self._lap("training", t)
        self.timings["decide"] = time.perf_counter() - self.started
        self.progress("liveness", 1.0, "Checked.")
        detail = f"identity max distance {distances[worst]:.2f} over {len(embeddings)} frames"
        if account_distance is not None:
            detail += f"; {account_distance:.2f} from the account's verified face"
        return Verdict(
            passed=True,
            reason="passed",
            message=MESSAGES["passed"],
            steps=outcome.steps,
            training_frame_indices=tuple(int(obs[face_idx[p]].index) for p in positions),
            embedding=embedding,
            frame_count=n,
            detail=detail,
            identity_distance_max=distances[worst],
            identity_backend=v.identity_backend,
            timings_s=dict(self.timings),
        )

    def _embed_more(self, face_idx: np.ndarray, positions: Sequence[int], embeddings: dict[int, np.ndarray]) -> None:
        """Embed the face frames at ``positions`` that have no embedding yet.

        With ``load_images`` their images are loaded and embedded; without it the nearest embedded
        frames on each side stand in (a swapped-in face stays for more than a stride).
        """
        wanted = [k for k in positions if k not in embeddings]
        if not wanted:
            return
        if self.load_images is None:
            return
        obs = [self.obs[int(face_idx[k])] for k in wanted]
        images = self.load_images([o.index for o in obs])
        items = []
        for o, image in zip(obs, images, strict=True):
            sx, sy = image.shape[1] / o.width, image.shape[0] / o.height
            x, y, bw, bh, score = (float(v) for v in o.faces[o.main_face])
            items.append((np.ascontiguousarray(image), FaceBox(x * sx, y * sy, bw * sx, bh * sy, score)))
        with self.v._lock:
            found = self.v._identity.embed_many(items)
        for k, e in zip(wanted, found, strict=True):
            if e is not None:
                embeddings[k] = np.asarray(e, dtype=np.float64)


def _failed(
    owner: LivenessVerifier,
    frame_count: int,
    steps: Sequence[ChallengeStep],
    reason: str,
    detail: str,
    *,
    message: str | None = None,
    distance: float | None = None,
    step_results: tuple[StepResult, ...] | None = None,
    timings: dict[str, float] | None = None,
    progress: ProgressFn = null_progress,
) -> Verdict:
    progress("liveness", 1.0, "Checked.")
    return Verdict(
        passed=False,
        reason=reason,
        message=message or MESSAGES[reason],
        steps=step_results if step_results is not None else tuple(StepResult(s.action, False, None, 0.0) for s in steps),
        training_frame_indices=(),
        embedding=None,
        frame_count=frame_count,
        detail=detail,
        identity_distance_max=distance,
        identity_backend=owner.identity_backend,
        timings_s=dict(timings or {}),
    )


def _light_module() -> Any:
    """charcha.vision.light when it is installed (measure_regions, judge_light), else None."""
    try:
        return importlib.import_module("charcha.vision.light")
    except ImportError:
        return None


def _second_face(box: np.ndarray, o: FrameObservation, policy: FacePolicy) -> bool:
    """Whether a box other than the user's is another face.

    Not when it scores below ``second_face_confidence``, nor when it is a small box on the user's
    own head (the side of a rendered head in three-quarter view scored 0.60 as a 35 px face beside
    the 118 px one): a face behind the user is hidden by their head, one beside them is as big.
    """
    if box[4] < policy.second_face_confidence:
        return False
    if o.landmarks is None or o.main_face < 0 or box[3] >= 0.5 * o.faces[o.main_face][3]:
        return True
    candidate = FaceBox(float(box[0]), float(box[1]), float(box[2]), float(box[3]), float(box[4]))
    return not _near_face(candidate, [], o.landmarks)


def _head_box(landmarks: np.ndarray) -> FaceBox:
    """The mesh's bounding box (forehead to chin, cheek to cheek)."""
    x0, y0 = landmarks[:, :2].min(axis=0)
    x1, y1 = landmarks[:, :2].max(axis=0)
    return FaceBox(float(x0), float(y0), float(x1 - x0), float(y1 - y0), 1.0)


def _near_face(box: FaceBox, faces: Sequence[FaceBox], landmarks: np.ndarray | None) -> bool:
    """A small-face hit that is part of a face already counted (a tile cutting the user's face,
    their hair or ears) rather than another face."""
    if any(box.overlaps(f) for f in faces):
        return True
    if landmarks is None:
        return False
    head = _head_box(landmarks)
    # The head reaches beyond the mesh: hair above, ears beside, neck and chin below.
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    return bool(head.x - head.width / 3 <= cx <= head.x + 4 * head.width / 3
                and head.y - head.height / 2 <= cy <= head.y + 1.5 * head.height)


def _aligned_patch(image: np.ndarray, pts: np.ndarray, size: int = 32) -> np.ndarray:
    """A small grey face patch aligned on the eyes and mouth, zero-mean and unit-norm.

    1 - the correlation of two neighbouring frames' patches is the appearance change: ~0.9-1.2
    on the swap attacks, at most ~0.2 in genuine attempts, whose fastest head turns and blinks
    change the patch gradually.
    """
    right = (pts[RIGHT_EYE_CORNERS[0], :2] + pts[RIGHT_EYE_CORNERS[1], :2]) / 2
    left = (pts[LEFT_EYE_CORNERS[0], :2] + pts[LEFT_EYE_CORNERS[1], :2]) / 2
    mouth = (pts[61, :2] + pts[291, :2]) / 2
    src = np.array([right, left, mouth], dtype=np.float32)
    dst = np.array([[0.3 * size, 0.35 * size], [0.7 * size, 0.35 * size], [0.5 * size, 0.8 * size]], dtype=np.float32)
    patch = cv2.warpAffine(image, cv2.getAffineTransform(src, dst), (size, size), flags=cv2.INTER_AREA)
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray -= gray.mean()
    return gray / (np.linalg.norm(gray) + 1e-6)


def _validate_frames(frames: Sequence[CapturedFrame]) -> None:
    if not isinstance(frames, Sequence) or len(frames) == 0:
        raise LivenessInputError("No camera frames were given to check.", code="frames_empty")
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


def _validate_steps(steps: Sequence[ChallengeStep]) -> None:
    if not isinstance(steps, Sequence) or len(steps) == 0:
        raise LivenessInputError("The challenge has no steps to check against.", code="steps_empty")
    previous_end = -math.inf
    for step in sorted(steps, key=lambda s: s.start_s if isinstance(s, ChallengeStep) else 0.0):
        if not isinstance(step, ChallengeStep) or step.action not in ACTIONS:
            raise LivenessInputError(f"Unknown challenge step {step!r}.", code="steps_invalid")
        if not (math.isfinite(step.start_s) and math.isfinite(step.end_s) and step.start_s < step.end_s):
            raise LivenessInputError(f"Step {step.action} has an empty or invalid window.", code="steps_invalid")
        if step.start_s < previous_end:
            raise LivenessInputError("Challenge windows must not overlap.", code="steps_invalid")
        previous_end = step.end_s
