"""Threads: the GIL is released during feeds, so two sessions progress at once; calls on one object
from several threads are serialised, and close() waits for a call in progress."""

import ctypes
import threading
import time
from array import array

import libxlstm
from libxlstm import capi
from conftest import fixture_model, float_bytes

LONG = array("i", (t % 48 for t in range(8000)))  # paper_long's vocabulary is 48; used in place


def concurrent_progress(model):
    """Thread A makes one long feed (~0.1 s) while thread B makes short feeds and timestamps each.
    Returns (A's feed duration, B's longest pause, B's feeds completed during A's feed). Were the GIL
    held during A's C call, B could run no Python for its whole length: a pause as long as A's feed."""
    with model.session() as long_session, model.session() as short_session:
        window = {}
        stamps = []
        started, done = threading.Event(), threading.Event()

        def long_feed():
            started.wait()
            window["start"] = time.perf_counter()
            long_session.feed(LONG)
            window["end"] = time.perf_counter()
            done.set()

        def short_feeds():
            stamps.append(time.perf_counter())
            started.set()
            while not done.is_set():
                short_session.feed(1)
                stamps.append(time.perf_counter())

        threads = [threading.Thread(target=long_feed), threading.Thread(target=short_feeds)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert long_session.n_tokens == len(LONG) and short_session.n_tokens == len(stamps) - 1
        duration = window["end"] - window["start"]
        largest_gap = max(b - a for a, b in zip(stamps, stamps[1:]))
        inside = sum(window["start"] < t < window["end"] for t in stamps)
        return duration, largest_gap, inside


def progressed(duration, largest_gap, inside):
    return largest_gap < duration / 2 and inside >= 10


def describe(duration, largest_gap, inside):
    return f"A's feed {duration * 1e3:.1f} ms, B's longest pause {largest_gap * 1e3:.1f} ms, {inside} feeds of B inside"


def test_two_sessions_progress_concurrently():
    with libxlstm.Model(fixture_model("paper_long")) as model:
        report = []
        for _attempt in range(3):  # retried on a busy machine: one clean run proves it
            measured = concurrent_progress(model)
            if progressed(*measured):
                return
            report.append(describe(*measured))
        raise AssertionError("B stalled while A was in the library (the GIL held?): " + "; ".join(report))


def test_the_concurrency_check_detects_a_held_gil():
    # The control: the same library through ctypes.PyDLL, which keeps the GIL during calls.
    held = capi.Library(ctypes.PyDLL(capi.library().path), capi.library().path)
    saved = capi._library
    capi._library = held
    try:
        with libxlstm.Model(fixture_model("paper_long")) as model:
            measured = concurrent_progress(model)
    finally:
        capi._library = saved
    assert not progressed(*measured), describe(*measured)


def test_threads_give_the_same_results_as_one(mixed_model):
    prompts = [[1 + i, 2 + i, 3 + i] for i in range(4)]

    def run(prompt):
        with mixed_model.session() as session:
            return list(session.generate(prompt, 40, libxlstm.Sampler(seed=prompt[0]))), session.save_state()

    expected = [run(prompt) for prompt in prompts]
    results = [None] * len(prompts)

    def worker(index):
        results[index] = run(prompts[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected


def test_one_session_shared_by_threads_is_serialised(mixed_model):
    # Unsynchronised use of one C session would be a data race; here the calls queue on its lock.
    with mixed_model.session() as shared, mixed_model.session() as reference:
        def worker():
            for _ in range(200):
                shared.feed(5)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert shared.n_tokens == 800
        for _ in range(800):
            reference.feed(5)
        assert float_bytes(shared.logits) == float_bytes(reference.logits)


def test_close_during_a_feed_on_another_thread():
    with libxlstm.Model(fixture_model("paper_long")) as model:
        session = model.session()
        errors = []
        started = threading.Event()

        def feeder():
            started.set()
            try:
                for _ in range(50):
                    session.feed(LONG[:200])
            except libxlstm.ClosedError:
                pass
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

        thread = threading.Thread(target=feeder)
        thread.start()
        started.wait()
        time.sleep(0.01)
        session.close()  # waits for the feed in progress; the next one raises ClosedError
        thread.join()
        assert session.closed and not errors
