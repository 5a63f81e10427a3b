"""The example chat page in headless Chromium (Selenium + chromedriver) against a real backend.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/install-browser``) and the
``selenium`` package; without them every test here skips, saying so. With
``GPT_ASYNC_REQUIRE_BROWSER=1`` a missing browser fails instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gpt_async.testing import Reply, StreamReply, ThreadedFakeOpenAIServer

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # reported (skip or fail) below
    HAVE_SELENIUM = False
else:
    HAVE_SELENIUM = True

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("GPT_ASYNC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GPT_ASYNC_CHROMEDRIVER") or shutil.which("chromedriver") or ""
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
KEY = "sk-browser-SECRET-0123456789"
WAIT = 20.0


def _missing() -> str | None:
    if not HAVE_SELENIUM:
        return "the selenium package is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}"
    if not CHROMEDRIVER:
        return "no chromedriver on PATH"
    return None


if (_reason := _missing()) is not None:
    _message = f"BROWSER TEST NOT RUN: {_reason}; install it with .ci/install-browser"
    if os.environ.get("GPT_ASYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(_message, pytrace=False)
    pytest.skip(_message, allow_module_level=True)


@contextlib.contextmanager
def serve_example(upstream: ThreadedFakeOpenAIServer) -> Iterator[str]:
    """Runs the example app against ``upstream`` on a real uvicorn thread; yields its URL."""
    path = ROOT / "examples" / "fastapi_app" / "app.py"
    spec = importlib.util.spec_from_file_location("gpt_async_browser_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = module.create_app(api_key_auth=KEY, server_url=upstream.url, max_retries=0)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning")
    config.timeout_graceful_shutdown = 3
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT
        while not server.started:
            assert thread.is_alive(), "uvicorn exited during startup"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[ThreadedFakeOpenAIServer]:
    """The testing server the backend streams from."""
    with ThreadedFakeOpenAIServer(api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def site(upstream: ThreadedFakeOpenAIServer) -> Iterator[str]:
    """The example backend's base URL."""
    with serve_example(upstream) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile."""
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def fresh_upstream(upstream: ThreadedFakeOpenAIServer) -> None:
    """Every test starts with no queued replies, recorded requests or disconnects."""
    upstream.reset()


def page_state(browser: webdriver.Chrome) -> dict[str, Any]:
    """The page's status, chunk count and rendered reply."""
    state: dict[str, Any] = browser.execute_script(
        "const s = document.getElementById('status');"
        "return {state: s.dataset.state, chunks: Number(s.dataset.chunks),"
        " status: s.textContent, text: document.getElementById('output').textContent};"
    )
    return state


def submit(browser: webdriver.Chrome, site: str, prompt: str) -> None:
    """Opens the page, types ``prompt`` and presses Send."""
    browser.get(site + "/")
    box = browser.find_element(By.ID, "prompt")
    box.send_keys(prompt)
    browser.find_element(By.ID, "send").click()


def watch(browser: webdriver.Chrome, until: set[str]) -> tuple[dict[str, Any], list[str]]:
    """Polls the page until its state is in ``until``; returns it and every text seen."""
    seen: list[str] = []
    deadline = time.monotonic() + WAIT
    while True:
        state = page_state(browser)
        if not seen or seen[-1] != state["text"]:
            seen.append(state["text"])
        if state["state"] in until:
            return state, seen
        assert time.monotonic() < deadline, f"page stuck: {state}"
        time.sleep(0.01)


def test_page_renders_the_reply_as_it_streams(
    browser: webdriver.Chrome, site: str, upstream: ThreadedFakeOpenAIServer
) -> None:
    """The page shows partial text while streaming, then exactly what the upstream sent."""
    pieces = ["Hello", ",", " wörld", " — ", "streamed", " token", " by", " token", ".\n", "Bye  ✓"]
    upstream.enqueue(StreamReply.of_content(pieces, delay_between=0.12))
    submit(browser, site, "Say hello slowly")
    state, seen = watch(browser, {"done", "error"})
    expected = "".join(pieces)
    assert state["state"] == "done", state
    assert state["text"] == expected
    assert state["chunks"] == len(pieces)
    assert any(text and text != expected and expected.startswith(text) for text in seen), seen
    assert upstream.requests[-1].json["messages"][-1] == {
        "role": "user",
        "content": "Say hello slowly",
    }


def test_stop_button_cancels_the_upstream_stream(
    browser: webdriver.Chrome, site: str, upstream: ThreadedFakeOpenAIServer
) -> None:
    """Pressing Stop mid-stream aborts the fetch and the upstream sees the disconnect."""
    upstream.enqueue(StreamReply.of_content(["tick "] * 200, delay_between=0.05))
    submit(browser, site, "count forever")
    deadline = time.monotonic() + WAIT
    while not page_state(browser)["text"]:
        assert time.monotonic() < deadline, "no text arrived"
        time.sleep(0.01)
    browser.find_element(By.ID, "stop").click()
    state, _seen = watch(browser, {"stopped", "done", "error"})
    assert state["state"] == "stopped"
    assert upstream.wait_for_disconnects(1, timeout=5) == 1


def test_page_shows_the_mapped_error(
    browser: webdriver.Chrome, site: str, upstream: ThreadedFakeOpenAIServer
) -> None:
    """An upstream 429 shows the backend's generic message, never the upstream's."""
    upstream.enqueue(Reply.error(429, f"quota of {KEY} exceeded", headers={"retry-after": "3"}))
    submit(browser, site, "hello")
    state, _seen = watch(browser, {"done", "error"})
    assert state["state"] == "error"
    assert state["status"] == "Error: The AI service is busy; try again later."
    assert KEY not in browser.page_source
