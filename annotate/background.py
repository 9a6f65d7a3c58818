"""Reading ahead in a thread: one stage of a pipeline runs beside the next.

Used where both stages spend their time in C code that releases the GIL (FFmpeg decoding beside
x264 encoding in :mod:`annotate.media.proxy`; ADBC fetching beside Arrow formatting in the
columnar exports), so two cores are both busy. The standard library's queue and threads are
enough: the producer runs ``depth`` items ahead, its errors are raised in the consumer, and it
is stopped, closed and joined before the consumer's loop ends (also when the consumer fails), so
nothing it holds (an open film, a database connection) outlives the loop.

Examples
--------
>>> list(read_ahead(iter(range(5)), depth=2))
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterator[T], depth: int = 8, name: str = "read-ahead") -> Generator[T, None, None]:
    """Yield what ``items`` yields, produced in a thread up to ``depth`` items ahead.

    Use it as ``with contextlib.closing(read_ahead(...)) as it: for x in it: ...`` so that the
    producer is stopped the moment the loop ends, however it ends."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(value: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (its with-blocks) runs in the thread that ran it

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            value = buffer.get()
            if value is _DONE:
                return
            if isinstance(value, BaseException):
                raise value
            yield value
    finally:
        stop.set()
        worker.join()
