"""The openai SDK's own resource tests (from its sdist), run against llm-sidecar.

Chat completions, embeddings, models and responses resources — including the stored-completion,
model-deletion and stored-response endpoints, which the sidecar forwards to its passthrough
provider for ids it did not store — with the SDK's strict response validation. Every model goes
to the openai provider, which speaks Responses natively. The sidecar sits in front of a
dedicated emulator started with --float-embeddings and --mock-responses (see README.md: the
SDK's strict embeddings tests expect floats even though they ask for base64; its responses tests
use ids and a model-less request that only the OpenAPI mock they were written for accepts).
"""

from __future__ import annotations

import subprocess
import sys

from conftest import E2E_DIR, launch_emulator
from sidecar import SidecarProcess, configuration, provider_keys


def test_openai_sdk_resource_suite_through_the_sidecar(tmp_path):
    with launch_emulator("--float-embeddings", "--mock-responses") as emulator:
        sidecar = SidecarProcess(tmp_path, configuration(emulator, extra_models='  "*":\n    provider: openai\n'), provider_keys(emulator))
        try:
            result = subprocess.run(
                [sys.executable, str(E2E_DIR / "openai_sdk_suite.py"), "--base-url", sidecar.base_url + "/v1",
                 "--workdir", str(E2E_DIR / ".sdk-cache"), "--", "-q", "-p", "no:cacheprovider"],
                capture_output=True, text=True, timeout=600)
        finally:
            sidecar.stop()
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
        assert " passed" in result.stdout and " failed" not in result.stdout
        lines = sidecar.usage_lines()
        # Stored-response requests (GET/DELETE /v1/responses/{id}) that the sidecar's store does not
        # hold are forwarded to the passthrough provider under their own operation.
        assert {line["gen_ai.operation.name"] for line in lines} == {"chat", "embeddings", "passthrough", "stored_response"}
        assert all(line["request_id"] for line in lines)
        responses = [line for line in lines if line["api"] == "responses"]
        assert responses and {line["gen_ai.operation.name"] for line in responses} <= {"chat", "passthrough", "stored_response"}


def test_anthropic_sdk_messages_suite_through_the_sidecar(tmp_path, emulator):
    """The anthropic SDK's own tests/api_resources/test_messages.py (create, stream,
    count_tokens; sync and async; strict validation) through /v1/messages to the anthropic
    emulator, every field passed through."""
    extra = '  "claude-*":\n    provider: anthropic\n'
    sidecar = SidecarProcess(tmp_path, configuration(emulator, extra_models=extra), provider_keys(emulator))
    try:
        result = subprocess.run(
            [sys.executable, str(E2E_DIR / "anthropic_sdk_suite.py"), "--base-url", sidecar.base_url,
             "--workdir", str(E2E_DIR / ".sdk-cache"), "--", "-q", "-p", "no:cacheprovider"],
            capture_output=True, text=True, timeout=600)
    finally:
        sidecar.stop()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    lines = sidecar.usage_lines()
    assert {line["api"] for line in lines} == {"anthropic"}
    assert {line["gen_ai.operation.name"] for line in lines} == {"chat", "count_tokens"}
    assert {line["gen_ai.provider.name"] for line in lines} == {"anthropic"}
    sent = emulator.requests("anthropic")
    # The names the suite sent (claude-opus-5-5, and deprecated ones for the warning test)
    # reach the provider as the route's upstream model: here the name itself.
    assert sent and all(request["body"]["model"].startswith("claude-") for request in sent)
    assert any(request["body"]["model"] == "claude-opus-5-5" and "container" in request["body"] for request in sent)
