"""Work started ahead in a daemon thread, its result (or error) collected later."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def in_background(fn: Callable[[], T], name: str) -> Future[T]:
    """Run ``fn()`` in a daemon thread named ``name``; its future gives the result or raises
    its error in the caller's thread.

    A daemon thread: a run that fails elsewhere exits without waiting for it (its work is
    read-only: files read, frames computed).
    """
    fut: Future[T] = Future()

    def work() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(fn())
        except BaseException as exc:  # raised again by fut.result()
            fut.set_exception(exc)

    threading.Thread(target=work, daemon=True, name=name).start()
    return fut
