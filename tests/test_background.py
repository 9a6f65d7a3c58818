"""Reading ahead in a thread (annotate.background): order kept, errors raised in the consumer,
and the producer closed and joined however the consumer's loop ends."""

from __future__ import annotations

import threading
from contextlib import closing

import pytest

from annotate.background import read_ahead


def _alive(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_order_is_kept_and_the_thread_ends():
    assert list(read_ahead(iter(range(1000)), depth=3, name="t-order")) == list(range(1000))
    assert not _alive("t-order")


def test_a_producer_error_is_raised_in_the_consumer():
    def items():
        yield 1
        raise ValueError("film damaged at 12 s")

    got = []
    with pytest.raises(ValueError, match="film damaged"):
        for item in read_ahead(items(), name="t-error"):
            got.append(item)
    assert got == [1] and not _alive("t-error")


def test_a_consumer_that_stops_early_closes_the_producer_in_its_own_thread():
    closed_in = []

    def items():
        try:
            yield from range(10_000)
        finally:  # e.g. a database connection's with-block
            closed_in.append(threading.current_thread().name)

    with pytest.raises(RuntimeError), closing(read_ahead(items(), depth=2, name="t-early")) as reader:
        for item in reader:
            if item == 5:
                raise RuntimeError("the encoder failed")
    assert closed_in == ["t-early"] and not _alive("t-early")
