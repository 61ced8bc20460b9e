"""Micro-batching: a bounded queue of requests and one worker thread per model.

The worker takes the first waiting request, waits up to ``max_wait`` for more until
``max_batch`` inputs are gathered, runs one ``predict`` per set of options and answers each
request with its own slice. A request whose caller gave up (time-out) is skipped, so the model
never works for nobody; a full queue is refused at once (``QueueFull``) rather than queued.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

# predict(inputs, options) -> one JSON-ready dict per input
PredictFn = Callable[[Sequence[Any], tuple], list[dict[str, Any]]]

QueueFull = queue.Full
log = logging.getLogger("attnpred.serve")


@dataclass
class Job:
    """One request waiting in the queue.

    Attributes:
        inputs: the request's inputs.
        options: hashable predict options (only jobs with equal options share a forward).
        future: answered with the list of result dicts, or an exception.
        deadline: time.monotonic() after which nobody waits for the answer.
    """

    inputs: Sequence[Any]
    options: Hashable
    future: Future = field(default_factory=Future)
    deadline: float = float("inf")


_STOP = object()


class MicroBatcher:
    """Runs ``predict`` on merged requests in a background thread.

    Args:
        predict: ``predict(inputs, options) -> list[dict]``, one dict per input.
        max_batch: most inputs in one forward (a larger single request runs alone).
        max_wait_s: how long to wait for more requests after the first.
        queue_size: most requests waiting; ``submit`` raises ``QueueFull`` beyond it.
        on_batch: called with (number of inputs, seconds, inputs, results) after each forward.
    """

    def __init__(self, predict: PredictFn, max_batch: int, max_wait_s: float, queue_size: int,
                 on_batch: Callable[[int, float, Sequence[Any], list[dict]], None] | None = None,
                 name: str = "model") -> None:
        self.predict, self.max_batch, self.max_wait_s = predict, max_batch, max_wait_s
        self.on_batch = on_batch
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._carry: Job | None = None  # a job taken from the queue that did not fit the batch
        self._thread = threading.Thread(target=self._run, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    def depth(self) -> int:
        """Requests waiting (not yet in a forward)."""
        return self._queue.qsize() + (self._carry is not None)

    def submit(self, inputs: Sequence[Any], options: Hashable, deadline: float) -> Future:
        """Queue a request; raises ``QueueFull`` at once when the queue is full."""
        job = Job(list(inputs), options, Future(), deadline)
        self._queue.put_nowait(job)
        return job.future

    def close(self, timeout: float | None = None) -> None:
        """Answer everything queued, then stop the worker."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # ---- the worker ------------------------------------------------------------------------
    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._carry or self._queue.get()
            self._carry = None
            if first is _STOP:
                return
            jobs, stop = self._gather(first)
            self._answer(jobs)

    def _gather(self, first: Job) -> tuple[list[Job], bool]:
        """The first job plus whatever arrives within max_wait, up to max_batch inputs."""
        jobs, n = [first], len(first.inputs)
        until = time.monotonic() + self.max_wait_s
        while n < self.max_batch:
            try:
                job = self._queue.get(timeout=max(until - time.monotonic(), 0)) \
                    if self.max_wait_s > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                return jobs, True
            if n + len(job.inputs) > self.max_batch:
                self._carry = job
                break
            jobs.append(job)
            n += len(job.inputs)
        return jobs, False

    def _answer(self, jobs: list[Job]) -> None:
        now = time.monotonic()
        live = [j for j in jobs if now < j.deadline and j.future.set_running_or_notify_cancel()]
        groups: dict[Hashable, list[Job]] = {}
        for job in live:
            groups.setdefault(job.options, []).append(job)
        for options, group in groups.items():
            self._forward(options, group)

    def _forward(self, options: Hashable, group: list[Job]) -> None:
        inputs = [x for job in group for x in job.inputs]
        start = time.perf_counter()
        try:
            results = self.predict(inputs, options)
        except Exception as exc:  # noqa: BLE001 - answered to the caller(s)
            if len(group) == 1:
                group[0].future.set_exception(exc)
                return
            for job in group:  # one bad request must not fail the others
                try:
                    job.future.set_result(self.predict(job.inputs, options))
                except Exception as one:  # noqa: BLE001
                    job.future.set_exception(one)
            return
        seconds = time.perf_counter() - start
        if self.on_batch is not None:
            try:
                self.on_batch(len(inputs), seconds, inputs, results)
            except Exception:  # noqa: BLE001 - metrics/monitoring must never fail a request
                log.exception("batch observer failed")
        i = 0
        for job in group:
            job.future.set_result(results[i: i + len(job.inputs)])
            i += len(job.inputs)
