"""External Redis deployments the gateway's cache supports, as the chart passes them: one
server, Redis Cluster and Sentinel URLs (plain and TLS), the password always from a Secret."""

from __future__ import annotations

import pytest
import yaml

from gateway.config import GatewayConfig

from .rendering import helm, template_args

URLS = [
    "redis://cache.example.internal:6379/0",
    "rediss://cache.example.internal:6380/0",
    "redis+cluster://node-0.cache:6379,node-1.cache:6379,node-2.cache:6379",
    "rediss+cluster://clustercfg.cache.example.internal:6379",
    "redis+sentinel://s-0.cache:26379,s-1.cache:26379,s-2.cache:26379/mymaster/0",
    "rediss+sentinel://s-0.cache:26379/mymaster",
]


def gateway_env(*overrides: str) -> dict[str, dict]:
    args = [arg for override in overrides for arg in ("--set", override)]
    result = helm(*template_args(None, monitoring_api=False), *args)
    assert result.returncode == 0, result.stderr
    (gateway,) = [
        d
        for d in yaml.safe_load_all(result.stdout)
        if d and d["kind"] == "Deployment" and d["metadata"]["name"] == "asen-gateway"
    ]
    return {e["name"]: e for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}


@pytest.mark.parametrize("url", URLS)
def test_external_redis_urls_reach_the_gateway(url: str) -> None:
    env = gateway_env(
        "redis.mode=external",
        f"redis.external.url={url.replace(',', chr(92) + ',')}",
        "redis.external.passwordSecret=cache-auth",
    )
    assert env["ASEN_REDIS_URL"]["value"] == url
    assert env["ASEN_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "cache-auth"
    config = GatewayConfig.load(env={"ASEN_REDIS_URL": url, "ASEN_TRITON_URLS": "t:8001"})
    assert config.redis_url == url


def test_sentinels_may_have_their_own_password() -> None:
    env = gateway_env(
        "redis.mode=external",
        "redis.external.url=redis+sentinel://s-0.cache:26379/mymaster",
        "redis.external.sentinelPasswordSecret=sentinel-auth",
    )
    ref = env["ASEN_REDIS_SENTINEL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "sentinel-auth", "key": "sentinel-password"}
    assert "ASEN_REDIS_SENTINEL_PASSWORD" not in gateway_env()
