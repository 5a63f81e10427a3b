"""The ``gpt-async`` command: ``gpt-async chat "prompt"`` (also ``python -m gpt_async``).

``gpt-async batch INPUT.jsonl OUTPUT.jsonl`` runs a file of requests; its
logic lives in ``gpt_async._bulk._cli``.

With ``--local``, or when no API key is configured, it answers from the embedded
testing server (an echo of the prompt) and says so on stderr, so the command
always works on a fresh machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from . import Gpt, GptAsyncError, to_dict
from ._bulk import _cli as _bulk_cli

__all__ = ["main"]

DEFAULT_MODEL = "gpt-4o-mini"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpt-async", description="Talk to an OpenAI-compatible chat completions API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    chat = commands.add_parser("chat", help="send one prompt and print the reply")
    chat.add_argument("prompt", nargs="?", help="the prompt; read from stdin when absent or '-'")
    chat.add_argument("--model", "-m", default=os.environ.get("GPT_ASYNC_MODEL", DEFAULT_MODEL))
    chat.add_argument("--system", "-s", help="a system message to send first")
    chat.add_argument("--temperature", "-t", type=float)
    chat.add_argument("--max-tokens", type=int, help="sent as max_completion_tokens")
    chat.add_argument("--base-url", help="the API base URL (default: $OPENAI_BASE_URL or OpenAI)")
    chat.add_argument("--json", action="store_true", help="print the raw response as JSON")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole reply")
    chat.add_argument(
        "--local", action="store_true", help="answer from the embedded local test server"
    )
    _bulk_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 API error, 2 usage; see batch)."""
    args = _parser().parse_args(argv)
    if args.command == "batch":
        return _bulk_cli.run(args)
    prompt = args.prompt
    if prompt is None or prompt == "-":
        if sys.stdin.isatty():
            print("gpt-async: give a prompt, or pipe one on stdin", file=sys.stderr)
            return 2
        prompt = sys.stdin.read()
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    params: dict[str, Any] = {"model": args.model, "messages": messages}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_completion_tokens"] = args.max_tokens
    with _server_url(args) as url:
        try:
            with Gpt(server_url=url, api_key_auth=_key(args)) as client:
                _chat(client, params, as_json=args.json, stream=not (args.json or args.no_stream))
        except GptAsyncError as exc:
            print(f"gpt-async: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    return 0


def _key(args: argparse.Namespace) -> str | None:
    return "sk-local" if _local(args) else None


def _local(args: argparse.Namespace) -> bool:
    return bool(args.local or not os.environ.get("OPENAI_API_KEY", "").strip())


@contextlib.contextmanager
def _server_url(args: argparse.Namespace) -> Iterator[str | None]:
    if not _local(args):
        yield args.base_url
        return
    from .testing import ThreadedFakeOpenAIServer  # noqa: PLC0415 - only when local

    reason = "--local" if args.local else "no OPENAI_API_KEY is set"
    with ThreadedFakeOpenAIServer() as server:
        print(
            f"gpt-async: {reason}; answering from the embedded local server at {server.url} "
            "(it echoes your prompt)",
            file=sys.stderr,
        )
        yield server.url


def _chat(client: Gpt, params: dict[str, Any], *, as_json: bool, stream: bool) -> None:
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
        print(json.dumps(to_dict(completion), indent=2, ensure_ascii=False))
    else:
        print(next((c.message.content or "" for c in completion.choices if c.index == 0), ""))


if __name__ == "__main__":
    sys.exit(main())
