"""Offline emulator of the LLM providers the sidecar talks to.

One aiohttp process serves the OpenAI, DeepSeek, DashScope (compatible and
native), Anthropic, Gemini and a generic OpenAI-compatible ("custom") API, each
under its own path prefix, with deterministic answers and a control API for
fault injection. See Tests/e2e/README.md.
"""
