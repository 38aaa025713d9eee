"""One progress callback shape, from engine to job row to web page to terminal progress bar.

``progress(stage, fraction, message)``: ``stage`` is a short stable slug ("decode", "beats"),
``fraction`` is 0..1 for the whole job, ``message`` is a sentence for people.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class ProgressFn(Protocol):
    def __call__(self, stage: str, fraction: float, message: str = "") -> None: ...


def null_progress(stage: str, fraction: float, message: str = "") -> None:
    return None


def scaled(progress: ProgressFn, start: float, end: float) -> ProgressFn:
    """Map a sub-task's 0..1 onto [start, end] of the parent's bar."""

    def inner(stage: str, fraction: float, message: str = "") -> None:
        f = min(max(fraction, 0.0), 1.0)
        progress(stage, start + (end - start) * f, message)

    return inner


class TqdmProgress:
    """A terminal progress bar that accepts the engine callback (used by management commands)."""

    def __init__(self, description: str, **tqdm_kwargs: Any) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=1000, desc=description, bar_format="{desc} |{bar:30}| {percentage:3.0f}%{postfix}",
                         **tqdm_kwargs)
        self._last = 0

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        target = int(round(min(max(fraction, 0.0), 1.0) * 1000))
        if target > self._last:
            self._bar.update(target - self._last)
            self._last = target
        self._bar.set_postfix_str(f"{stage}: {message}" if message else stage)

    def close(self) -> None:
        if self._last < 1000:
            self._bar.update(1000 - self._last)
        self._bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


ProgressCallable = Callable[[str, float, str], None]
