"""The ``gpt-async`` command: ``gpt-async chat "prompt"``, ``gpt-async models``.

``gpt-async batch INPUT.jsonl OUTPUT.jsonl`` runs a file of requests with the same
server options; its logic (and its own exit statuses) live in ``gpt_async._bulk._cli``.

Also ``python -m gpt_async``. The server is the one ``--base-url`` (or
``OPENAI_BASE_URL``) names, with ``--api-key`` (or ``OPENAI_API_KEY``) if any, so
key-less local servers (llama.cpp, vLLM, Ollama) need only the URL. When neither a
key nor a URL is configured, or with ``--local``, the embedded testing server
answers (an echo of the prompt) and says so on stderr, so the command always
works on a fresh machine.

Exit status: 0 success, 1 an API or connection error, 2 a usage error, 130
interrupted (Ctrl-C). Every error is one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from . import (
    AiohttpTransport,
    Gpt,
    GptAsyncError,
    HTTPRequest,
    HTTPResponse,
    NotFoundError,
    RequestValidationError,
    Timeout,
)
from ._bulk import _cli as _bulk_cli

__all__ = ["main"]

DEFAULT_MODEL = "gpt-4o-mini"
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class _UsageError(Exception):
    """A mistake in the command line or its input; exit status 2."""


def _connection_options() -> argparse.ArgumentParser:
    """The options every subcommand shares: where the server is and how to reach it."""
    shared = argparse.ArgumentParser(add_help=False)
    group = shared.add_argument_group("server")
    group.add_argument(
        "--base-url", help="the API base URL, ending in /v1 (default: $OPENAI_BASE_URL or OpenAI)"
    )
    group.add_argument("--api-key", help="the API key (default: $OPENAI_API_KEY; none is sent)")
    group.add_argument("--timeout", type=float, help="seconds to connect and between reads")
    group.add_argument(
        "--local", action="store_true", help="answer from the embedded local test server"
    )
    group.add_argument("--json", action="store_true", help="print the response body as received")
    return shared


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpt-async", description="Talk to an OpenAI-compatible chat completions API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    shared = [_connection_options()]
    chat = commands.add_parser("chat", parents=shared, help="send one prompt and print the reply")
    chat.add_argument("prompt", nargs="?", help="the prompt; read from stdin when absent or '-'")
    chat.add_argument("--model", "-m", default=os.environ.get("GPT_ASYNC_MODEL", DEFAULT_MODEL))
    chat.add_argument("--system", "-s", help="a system message to send first")
    chat.add_argument("--temperature", "-t", type=float)
    chat.add_argument("--max-tokens", type=int, help="sent as max_completion_tokens")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole reply")
    commands.add_parser("models", parents=shared, help="list the models the server serves")
    _bulk_cli.add_parser(commands, shared)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 API error, 2 usage, 130 Ctrl-C)."""
    args = _parser().parse_args(argv)
    if args.command == "batch":
        return _bulk_cli.run(args)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("gpt-async: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)


def _run(args: argparse.Namespace) -> int:
    params = _chat_params(args) if args.command == "chat" else {}
    with _server_url(args) as url:
        try:
            keeper = _BodyKeeper()
            with Gpt(**_client_options(args, url, keeper)) as client:
                if args.command == "models":
                    _models(client, keeper, as_json=args.json)
                else:
                    stream = not (args.json or args.no_stream)
                    _chat(client, keeper, params, as_json=args.json, stream=stream)
        except ValueError as exc:  # a bad --base-url, OPENAI_BASE_URL or proxy, before any I/O
            return _fail(f"{exc}{_url_hint(url)}", EXIT_USAGE)
        except RequestValidationError as exc:
            return _fail(f"{type(exc).__name__}: {exc}", EXIT_USAGE)
        except GptAsyncError as exc:
            return _fail(f"{type(exc).__name__}: {exc}{_not_found_hint(exc, url)}", EXIT_ERROR)
    return 0


def _fail(message: str, status: int) -> int:
    print(f"gpt-async: {' '.join(message.split())}", file=sys.stderr)  # always one line
    return status


def _url_hint(url: str | None) -> str:
    if url and "://" not in url:
        return f" (did you mean http://{url} ?)"
    return ""


def _not_found_hint(exc: GptAsyncError, url: str | None) -> str:
    if not isinstance(exc, NotFoundError) or exc.code == "model_not_found":
        return ""
    shown = url or os.environ.get("OPENAI_BASE_URL") or "the default"
    return f" (check that the base URL ends in /v1; it is {shown})"


def _chat_params(args: argparse.Namespace) -> dict[str, Any]:
    prompt = args.prompt
    if prompt is None or prompt == "-":
        if sys.stdin.isatty():
            raise _UsageError("give a prompt, or pipe one on stdin")
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise _UsageError("the prompt is empty")
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    params: dict[str, Any] = {"model": args.model, "messages": messages}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_completion_tokens"] = args.max_tokens
    return params


def _local_reason(args: argparse.Namespace) -> str | None:
    """Why the embedded server answers, or None when a real server is configured."""
    if args.local:
        return "--local"
    configured = (args.api_key, args.base_url, _env("OPENAI_API_KEY"), _env("OPENAI_BASE_URL"))
    return None if any(configured) else "no API key or base URL is configured"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _client_options(
    args: argparse.Namespace, url: str | None, keeper: _BodyKeeper
) -> dict[str, Any]:
    options: dict[str, Any] = {"server_url": url, "transport": keeper}
    options["api_key_auth"] = "sk-local" if _local_reason(args) else args.api_key
    if args.timeout is not None:
        if args.timeout <= 0:
            raise _UsageError("--timeout must be a positive number of seconds")
        options["timeout"] = Timeout(connect=args.timeout, read=args.timeout)
    return options


@contextlib.contextmanager
def _server_url(args: argparse.Namespace) -> Iterator[str | None]:
    reason = _local_reason(args)
    if reason is None:
        yield args.base_url
        return
    from .testing import ThreadedFakeOpenAIServer  # noqa: PLC0415 - only when local

    with ThreadedFakeOpenAIServer() as server:
        print(
            f"gpt-async: {reason}; answering from the embedded local server at {server.url} "
            "(it echoes your prompt)",
            file=sys.stderr,
        )
        yield server.url


def _chat(
    client: Gpt,
    keeper: _BodyKeeper,
    params: dict[str, Any],
    *,
    as_json: bool,
    stream: bool,
) -> None:
    if stream:
        with client.chat.completions.create(stream=True, **params) as chunks:
            for chunk in chunks:
                for choice in chunk.choices:  # the usage chunk has none
                    if choice.index == 0 and choice.delta.content:
                        sys.stdout.write(choice.delta.content)
                        sys.stdout.flush()
        sys.stdout.write("\n")
        return
    completion = client.chat.completions.create(**params)
    if as_json:
        keeper.write_body()
    else:
        print(next((c.message.content or "" for c in completion.choices if c.index == 0), ""))


def _models(client: Gpt, keeper: _BodyKeeper, *, as_json: bool) -> None:
    listed = client.models.list()
    if as_json:
        keeper.write_body()
        return
    for model in listed:
        print(model.id)


class _BodyKeeper:
    """The default transport, keeping the last body read so ``--json`` prints it as received."""

    def __init__(self) -> None:
        self._inner = AiohttpTransport()
        self.body = b""

    async def send(self, request: HTTPRequest, *, timeout: Timeout) -> HTTPResponse:
        return _KeptResponse(await self._inner.send(request, timeout=timeout), self)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def write_body(self) -> None:
        sys.stdout.buffer.write(self.body if self.body.endswith(b"\n") else self.body + b"\n")
        sys.stdout.flush()


class _KeptResponse:
    """A response whose whole body, once read, is kept by its :class:`_BodyKeeper`."""

    def __init__(self, response: HTTPResponse, keeper: _BodyKeeper) -> None:
        self._response = response
        self._keeper = keeper

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def url(self) -> str:
        return self._response.url

    async def read(self) -> bytes:
        self._keeper.body = await self._response.read()
        return self._keeper.body

    async def read_chunk(self) -> bytes:
        return await self._response.read_chunk()

    def close(self) -> None:
        self._response.close()


if __name__ == "__main__":
    sys.exit(main())
