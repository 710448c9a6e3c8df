"""Outbound proxies (what users behind the Great Firewall or a corporate egress rely on): the
`proxy` provider option, the standard proxy environment variables, and NO_PROXY."""

from __future__ import annotations

import pytest

from forward_proxy import ForwardProxy
from sidecar import SidecarProcess, configuration, provider_keys


@pytest.fixture
def forward_proxy():
    proxy = ForwardProxy()
    yield proxy
    proxy.close()


def ask(sidecar: SidecarProcess) -> str:
    answer = sidecar.client().chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "via proxy"}])
    return answer.choices[0].message.content


def test_provider_proxy_option(emulator, forward_proxy, tmp_path):
    config = configuration(emulator).replace(
        f"base_url: {emulator.base_url('deepseek')}", f"base_url: {emulator.base_url('deepseek')}\n    proxy: {forward_proxy.url}")
    sidecar = SidecarProcess(tmp_path, config, provider_keys(emulator))
    try:
        assert ask(sidecar) == "Hello from the deepseek emulator. You said: via proxy"
        assert forward_proxy.relayed == [emulator.base_url("deepseek") + "/chat/completions"]
        assert emulator.requests("deepseek")[-1]["headers"]["authorization"] == "Bearer " + emulator.key("deepseek")
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "direct"}])
        assert len(forward_proxy.relayed) == 1, "only the provider with the option uses the proxy"
    finally:
        sidecar.stop()


def test_proxy_environment_variables_and_no_proxy(emulator, forward_proxy, tmp_path):
    environment = dict(provider_keys(emulator), http_proxy=forward_proxy.url, HTTPS_PROXY=forward_proxy.url, ALL_PROXY=forward_proxy.url)
    sidecar = SidecarProcess(tmp_path / "proxied", configuration(emulator), environment)
    try:
        assert ask(sidecar).endswith("via proxy")
        assert forward_proxy.relayed == [emulator.base_url("deepseek") + "/chat/completions"]
    finally:
        sidecar.stop()
    bypassing = SidecarProcess(tmp_path / "bypassing", configuration(emulator), dict(environment, NO_PROXY="127.0.0.1"))
    try:
        assert ask(bypassing).endswith("via proxy")
        assert len(forward_proxy.relayed) == 1, "NO_PROXY must bypass the proxy"
    finally:
        bypassing.stop()
