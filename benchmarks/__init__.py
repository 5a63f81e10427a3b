"""Benchmark harness: gpt_async against raw aiohttp and openai-python.

Run ``python -m benchmarks.run --help``. Every measured client runs in its own
subprocess against a fake OpenAI server in another process; see README.md.
"""
