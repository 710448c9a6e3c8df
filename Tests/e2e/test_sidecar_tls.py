"""TLS and HTTP/2 to providers, as every real provider is reached: nginx terminates TLS with
HTTP/2 (ALPN) in front of the emulator, its certificate signed by a private CA that only the
provider's `ca_file` trusts."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import openai
import pytest

from sidecar import SidecarProcess, binary, configuration, free_port, provider_keys

HELLO = [{"role": "user", "content": "over TLS"}]


class TLSFront:
    """nginx on 127.0.0.1 with TLS and HTTP/2, proxying to the emulator; logs each request's protocol."""

    def __init__(self, directory: Path, upstream: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.ca, self.key = directory / "ca.pem", directory / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=llm-sidecar test CA", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(self.key), "-out", str(self.ca)],
            check=True, capture_output=True)
        self.port = free_port()
        self.access_log = directory / "access.log"
        config = directory / "nginx.conf"
        config.write_text(f"""
worker_processes 1;
daemon off;
master_process off;
error_log {directory}/error.log warn;
pid {directory}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    log_format protocol '$server_protocol $request_uri';
    access_log {self.access_log} protocol;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    server {{
        listen 127.0.0.1:{self.port} ssl http2;
        ssl_certificate {self.ca};
        ssl_certificate_key {self.key};
        location / {{ proxy_pass {upstream}; proxy_buffering off; proxy_http_version 1.1; }}
    }}
}}
""")
        self.process = subprocess.Popen(["nginx", "-c", str(config), "-p", str(directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}"], input=b"",
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and self.process.poll() is None, "nginx did not start"
            time.sleep(0.05)

    def protocols(self) -> list[str]:
        """The protocol of each request nginx served, e.g. "HTTP/2.0"."""
        return [line.split()[0] for line in self.access_log.read_text().splitlines()] if self.access_log.exists() else []

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def tls_front(emulator, tmp_path):
    front = TLSFront(tmp_path / "nginx", emulator.url)
    yield front
    front.close()


def over_tls(emulator, front: TLSFront, ca_file: str | None) -> str:
    """The standard test configuration with DeepSeek reached through the TLS front."""
    plain = emulator.base_url("deepseek")
    secure = plain.replace(emulator.url, f"https://127.0.0.1:{front.port}")
    return configuration(emulator).replace(
        f"base_url: {plain}", f"base_url: {secure}" + (f"\n    ca_file: {ca_file}" if ca_file else ""))


def test_requests_and_streams_go_over_http2_and_tls_with_a_private_ca(emulator, tls_front, tmp_path):
    sidecar = SidecarProcess(tmp_path / "sidecar", over_tls(emulator, tls_front, str(tls_front.ca)), provider_keys(emulator))
    try:
        client = sidecar.client()
        answer = client.chat.completions.create(model="deepseek-chat", messages=HELLO)
        assert answer.choices[0].message.content == "Hello from the deepseek emulator. You said: over TLS"
        chunks = list(client.chat.completions.create(model="deepseek-chat", messages=HELLO, stream=True))
        assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices).startswith("Hello from the deepseek")
        assert tls_front.protocols() == ["HTTP/2.0", "HTTP/2.0"]
        assert emulator.requests("deepseek")[-1]["headers"]["authorization"] == "Bearer " + emulator.key("deepseek")
    finally:
        sidecar.stop()


def test_a_certificate_no_configured_ca_signed_is_refused(emulator, tls_front, tmp_path):
    sidecar = SidecarProcess(tmp_path / "sidecar", over_tls(emulator, tls_front, None), provider_keys(emulator))
    try:
        with pytest.raises(openai.APIStatusError) as refused:
            sidecar.client().chat.completions.create(model="deepseek-chat", messages=HELLO)
        assert refused.value.status_code == 502
        assert "certificate" in refused.value.message
        assert tls_front.protocols() == [], "no request may cross a connection that failed verification"
        assert emulator.key("deepseek") not in sidecar.stderr()
    finally:
        sidecar.stop()


def test_a_ca_file_that_is_not_a_certificate_is_a_configuration_error(emulator, tmp_path):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    config = tmp_path / "sidecar.yaml"
    config.write_text(configuration(emulator).replace(
        f"base_url: {emulator.base_url('deepseek')}", f"base_url: {emulator.base_url('deepseek')}\n    ca_file: ca.pem"))
    result = subprocess.run([str(binary()), "check-config", str(config)], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"providers.deepseek.ca_file: '{not_pem}' holds no PEM certificate" in result.stderr + result.stdout
