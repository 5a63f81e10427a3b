"""Many chat completions at once: a pool of workers over a lazily read input.

``concurrency`` long-lived workers pull the next request from the input (one
at a time, so a generator over a million lines is never materialised), send it
through the client (its retries, timeouts and rate limiter) and hand each
:class:`BulkResult` on as it completes. A failed request is a result carrying
its typed error; only a failing input iterator or a cancellation ends the run.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import anyio
import attrs

from gpt_async._capture import CURRENT, CallRecord
from gpt_async._config import check_option
from gpt_async._exceptions import GptAsyncError, RequestValidationError
from gpt_async._types import AsyncClosing
from gpt_async.models._request import CreateChatCompletionRequest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from typing_extensions import Self

    from gpt_async._client import AsyncGpt
    from gpt_async._sync import Gpt
    from gpt_async.models._response import ChatCompletion, CompletionUsage

__all__ = ["BulkRequest", "BulkResult", "BulkRun", "Pool", "RequestLike", "bulk", "bulk_sync"]

DEFAULT_CONCURRENCY: Final = 16
_END: Final = object()


@attrs.frozen(kw_only=True)
class BulkRequest:
    """One request of a bulk run with the id its result carries.

    Attributes:
        custom_id: The id, unique within the run (a Batch API ``custom_id``).
        body: The request: keyword arguments of ``chat.completions.create`` (a
            JSON request body is one) or a ``CreateChatCompletionRequest``.
    """

    custom_id: str
    body: Mapping[str, Any] | CreateChatCompletionRequest


RequestLike = Mapping[str, Any] | CreateChatCompletionRequest | BulkRequest


@attrs.frozen(kw_only=True)
class BulkResult:
    """The outcome of one request of a bulk run: a completion or an error.

    Attributes:
        custom_id: The request's id (its 1-based position when it had none).
        request: The request as given.
        completion: The parsed completion, or None when it failed.
        error: The typed error, or None when it succeeded.
        attempts: HTTP attempts made (retries included; 0 if nothing was sent).
        usage: The completion's token usage, when the server reported it.
        request_id: The server's ``x-request-id``, when known.
        body: The server's raw JSON body of a completion (what output files hold).
    """

    custom_id: str
    request: Any = attrs.field(repr=False)
    completion: ChatCompletion | None = attrs.field(default=None, repr=False)
    error: GptAsyncError | None = None
    attempts: int = 0
    usage: CompletionUsage | None = None
    request_id: str | None = None
    body: bytes | None = attrs.field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.error is None


def failed(custom_id: str, request: Any, error: GptAsyncError) -> BulkResult:
    """A result for a request that failed before anything was sent."""
    return BulkResult(custom_id=custom_id, request=request, error=error)


async def _complete(client: AsyncGpt, body: object) -> ChatCompletion:
    if isinstance(body, CreateChatCompletionRequest):
        response = await client.chat.create_chat_completion(body)
        completion = response.create_chat_completion_response
        assert completion is not None  # stream=True was refused below
        return completion
    if not isinstance(body, Mapping):
        raise RequestValidationError(
            "request", "expected a dict, a CreateChatCompletionRequest or a BulkRequest"
        )
    return await client.chat.completions.create(**body)


def _check_not_streamed(body: object) -> None:
    stream = body.get("stream") if isinstance(body, Mapping) else getattr(body, "stream", None)
    if stream is True:
        raise RequestValidationError("stream", "bulk runs do not stream; leave it unset")


class Pool:
    """``concurrency`` workers draining one input; each result goes to ``on_result``.

    The input may yield ready :class:`BulkResult` s too (lines that failed to
    parse): they are handed on as they are.
    """

    def __init__(
        self,
        client: AsyncGpt,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int,
        on_result: Callable[[BulkResult], Awaitable[None]],
    ) -> None:
        self._client = client
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(requests, AsyncIterable):
            self._async = aiter(requests)
        else:
            self._sync = iter(requests)
        self._lock = anyio.Lock()
        self._positions = itertools.count(1)
        self._concurrency = concurrency
        self._on_result = on_result
        self.in_flight = 0
        self.stopped = False
        self._error: Exception | None = None

    def stop(self) -> None:
        """Start no new request; those in flight finish and are handed on."""
        self.stopped = True

    async def run(self) -> None:
        """Run until the input is exhausted (or :meth:`stop`); raises what the input raises."""
        async with anyio.create_task_group() as group:
            for _ in range(self._concurrency):
                group.start_soon(self._worker)
        if self._error is not None:
            raise self._error  # as it is, not wrapped in an exception group

    def _fail(self, exc: Exception) -> None:
        # The input or the result handler failed: start nothing more; run() raises it.
        if self._error is None:
            self._error = exc
        self.stopped = True

    async def _next(self) -> Any:
        if self._sync is not None:
            return next(self._sync, _END)
        assert self._async is not None
        async with self._lock:  # an async generator cannot be advanced twice at once
            return await anext(self._async, _END)

    async def _worker(self) -> None:
        record = CallRecord()
        CURRENT.set(record)  # this task's own context: the client counts attempts here
        try:
            while not self.stopped:
                item = await self._next()
                if item is _END:
                    return
                position = next(self._positions)
                if not isinstance(item, BulkResult):
                    self.in_flight += 1
                    try:
                        item = await self._one(item, position, record)
                    finally:
                        self.in_flight -= 1
                await self._on_result(item)
        except Exception as exc:
            self._fail(exc)

    async def _one(self, item: Any, position: int, record: CallRecord) -> BulkResult:
        custom_id, body = (
            (item.custom_id, item.body) if isinstance(item, BulkRequest) else (str(position), item)
        )
        record.reset()
        try:
            _check_not_streamed(body)
            completion = await _complete(self._client, body)
        except GptAsyncError as exc:
            return BulkResult(
                custom_id=custom_id, request=body, error=exc, attempts=record.attempts
            )
        return BulkResult(
            custom_id=custom_id,
            request=body,
            completion=completion,
            attempts=record.attempts,
            usage=completion.usage,
            request_id=record.request_id,
            body=record.body,
        )


def _check_concurrency(concurrency: int) -> None:
    check_option(concurrency, int, "concurrency")
    if isinstance(concurrency, bool) or concurrency < 1:
        raise RequestValidationError("concurrency", "must be an integer >= 1")


class BulkRun(AsyncClosing):
    """The results of :func:`bulk` as they complete: an async iterator and context manager.

    Leaving the ``async with`` block (a ``break``, an exception) cancels the
    requests in flight. :meth:`stop` lets them finish but starts no more.
    """

    def __init__(
        self,
        client: AsyncGpt,
        requests: Iterable[RequestLike] | AsyncIterable[RequestLike],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        _check_concurrency(concurrency)
        self._pool = Pool(client, requests, concurrency=concurrency, on_result=self._push)
        # An asyncio.Queue hands a result over without a trip through the loop when
        # neither side has to wait; its bound keeps memory flat when the consumer lags.
        self._results: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)
        self._task: asyncio.Task[None] | None = None
        self._finished = False
        self._error: Exception | None = None

    def __repr__(self) -> str:
        return f"<BulkRun in_flight={self._pool.in_flight} stopped={self._pool.stopped}>"

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return self._pool.in_flight

    def stop(self) -> None:
        """Start no new request; the iteration ends after those in flight."""
        self._pool.stop()

    async def _push(self, result: BulkResult) -> None:
        await self._results.put(result)

    async def _drive(self) -> None:
        try:
            await self._pool.run()
        except Exception as exc:  # the input's: raised to the consumer after the results
            self._error = exc
        await self._results.put(_END)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BulkResult:
        if self._task is None:
            if self._finished:
                raise StopAsyncIteration
            self._task = asyncio.ensure_future(self._drive())
        result = await self._results.get()
        if result is _END:
            self._finished = True
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        return result  # type: ignore[no-any-return]

    async def next_batch(self) -> list[BulkResult]:
        """At least one result (none at the end), plus every one already waiting."""
        try:
            batch = [await self.__anext__()]
        except StopAsyncIteration:
            return []
        while not self._results.empty():
            result = self._results.get_nowait()
            if result is _END:  # for the next call to see
                self._results.put_nowait(result)
                break
            batch.append(result)
        return batch

    async def aclose(self) -> None:
        """Cancel the requests in flight and wait for them to unwind. Idempotent."""
        task, self._finished = self._task, True
        if task is not None and not task.done():
            task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait([task])


def bulk(
    client: AsyncGpt,
    requests: Iterable[RequestLike] | AsyncIterable[RequestLike],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> BulkRun:
    """Run many chat completions with bounded concurrency; results come as they complete.

    Example::

        prompts = ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": p}]}
                   for p in open("prompts.txt"))
        async with gpt_async.bulk(client, prompts, concurrency=32) as results:
            async for result in results:
                print(result.custom_id, result.ok, result.attempts)

    Args:
        client: The client; every request goes through its retries and rate limiter.
        requests: Keyword dicts, ``CreateChatCompletionRequest`` s or
            :class:`BulkRequest` s (for your own ids), from any iterable or async
            iterable; read one at a time, never loaded whole.
        concurrency: The most requests in flight at once.

    Returns:
        A :class:`BulkRun`: iterate it with ``async for``, inside ``async with``.

    Raises:
        RequestValidationError: ``concurrency`` is not an integer >= 1.
    """
    return BulkRun(client, requests, concurrency=concurrency)


def bulk_sync(
    client: Gpt, requests: Iterable[RequestLike], *, concurrency: int = DEFAULT_CONCURRENCY
) -> Iterator[BulkResult]:
    """The synchronous twin of :func:`bulk`: a plain iterator of results as they complete.

    The requests run on the :class:`~gpt_async.Gpt` client's event-loop thread;
    closing the iterator (``contextlib.closing``, or leaving a ``for`` loop over a
    generator that is then collected) cancels those in flight, and so does Ctrl-C.

    Args:
        client: The synchronous client.
        requests: As for :func:`bulk` (not an async iterable).
        concurrency: The most requests in flight at once.

    Raises:
        RequestValidationError: ``concurrency`` is not an integer >= 1.
    """
    run = BulkRun(client._async, requests, concurrency=concurrency)
    return _drain(run)


def _drain(run: BulkRun) -> Iterator[BulkResult]:
    from gpt_async import _portal  # noqa: PLC0415 - the sync facade's thread, on first use

    try:
        while batch := _portal.run(run.next_batch):
            yield from batch
    finally:
        _portal.run(run.aclose)
