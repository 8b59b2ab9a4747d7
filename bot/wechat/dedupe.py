"""One answer per WeChat message, however many times WeChat delivers it.

WeChat gives up on a request after 5 s and sends the same message again, three tries in all,
possibly while the first is still being answered. Each message key maps to one running task;
retries wait on that same task. Exactly one party *claims* the finished result: a request still
waiting (it becomes the passive reply) or, when nobody waits any more, the late-delivery hook.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

KEEP_FINISHED_SECONDS = 600  # retries come within ~15 s; keep keys well beyond that
MAX_JOBS = 20_000


@dataclass
class Job:
    task: asyncio.Task
    on_unclaimed: Callable[[Any], None]
    waiters: int = 0
    claimed: bool = False
    started: float = field(default_factory=time.monotonic)


class Deduper:
    def __init__(self, keep_seconds: float = KEEP_FINISHED_SECONDS, max_jobs: int = MAX_JOBS):
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._keep = keep_seconds
        self._max = max_jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def has(self, key: str) -> bool:
        """Whether this worker already works on (or answered) `key`."""
        return key in self._jobs

    def running(self) -> set[asyncio.Task]:
        """The answers still being worked out (each may yet end in a late delivery)."""
        return {job.task for job in self._jobs.values() if not job.task.done()}

    def start(
        self,
        key: str,
        work: Callable[[], Awaitable[Any]],
        on_unclaimed: Callable[[Any], None],
    ) -> tuple[Job, bool]:
        """The job for `key`, started now unless one exists; second value: whether it is new."""
        self._forget_old()
        job = self._jobs.get(key)
        if job is not None:
            return job, False
        job = Job(task=asyncio.ensure_future(work()), on_unclaimed=on_unclaimed)
        job.task.add_done_callback(lambda _task: self._finished(job))
        self._jobs[key] = job
        return job, True

    async def wait(self, job: Job, timeout: float) -> Any | None:
        """The job's result if it is ready within `timeout` and nobody claimed it yet, else None."""
        job.waiters += 1
        try:
            await asyncio.wait_for(asyncio.shield(job.task), max(timeout, 0))
        except asyncio.CancelledError:
            job.waiters -= 1
            self._finished(job)  # the request went away: hand a ready result to late delivery
            raise
        except asyncio.TimeoutError:
            pass  # not ready in time: the caller answers `success`, late delivery takes over
        except Exception:  # noqa: BLE001 - the work failed; _finished logs it once
            log.debug("WeChat answer failed while a request waited for it")
        # No await from here on: the decrement and the claim happen in one step, so the
        # done-callback either saw this waiter (and left the result to it) or did not.
        job.waiters -= 1
        if _succeeded(job.task) and not job.claimed:
            job.claimed = True
            return job.task.result()
        return None

    def _finished(self, job: Job) -> None:
        if not job.task.done() or job.claimed or job.waiters > 0:
            return
        if not _succeeded(job.task):
            if not job.task.cancelled():
                log.error("WeChat answer failed", exc_info=job.task.exception())
            return
        job.claimed = True
        job.on_unclaimed(job.task.result())

    def _forget_old(self) -> None:
        now = time.monotonic()
        while self._jobs:
            job = next(iter(self._jobs.values()))
            too_many = len(self._jobs) >= self._max
            if not too_many and not (job.task.done() and now - job.started > self._keep):
                break
            self._jobs.popitem(last=False)


def _succeeded(task: asyncio.Task) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None
