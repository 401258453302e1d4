"""How transfers report progress without printing: the caller passes a ``Progress``."""

from __future__ import annotations

from typing import Protocol


class ProgressTask(Protocol):
    def advance(self, n: int) -> None: ...

    def close(self) -> None: ...


class Progress(Protocol):
    def task(self, label: str, total: int) -> ProgressTask: ...


class _NullTask:
    def advance(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class NullProgress:
    """Reports nothing (the default, and what a non-TTY gets)."""

    def task(self, label: str, total: int) -> ProgressTask:
        return _NullTask()
