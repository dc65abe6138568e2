"""The Redis password stays the same however often the chart is rendered (GitOps controllers
render without cluster access): nothing random, no `lookup`, the Secret is the user's or comes
from a value."""

from __future__ import annotations

import base64
import re

import yaml

from .rendering import CHART_DIR, helm, template_args


def rendered(*overrides: str) -> list[dict]:
    args = [arg for override in overrides for arg in ("--set", override)]
    result = helm(*template_args(None, monitoring_api=True), *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def password_refs(manifests: list[dict]) -> set[tuple[str, str]]:
    """(Secret name, key) of every REDIS_PASSWORD / ASEN_REDIS_PASSWORD in the workloads."""
    refs = set()
    for manifest in manifests:
        if manifest["kind"] != "Deployment":
            continue
        for container in manifest["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if env["name"] in ("REDIS_PASSWORD", "ASEN_REDIS_PASSWORD"):
                    ref = env["valueFrom"]["secretKeyRef"]
                    refs.add((ref["name"], ref["key"]))
    return refs


UNSTABLE = re.compile(
    r"\b(lookup|randAlphaNum|randAlpha|randNumeric|randAscii|uuidv4|genPrivateKey|now)\b"
)


def test_no_template_generates_or_looks_up_values() -> None:
    for template in (CHART_DIR / "templates").rglob("*"):
        if template.is_file():
            actions = re.findall(r"\{\{-?(?!\s*/\*)(.*?)-?\}\}", template.read_text(), re.S)
            used = {m for action in actions for m in UNSTABLE.findall(action)}
            assert not used, f"{template.name} uses {used}"


def test_two_renders_are_identical() -> None:
    first = helm(*template_args(None, monitoring_api=True))
    second = helm(*template_args(None, monitoring_api=True))
    assert first.returncode == 0 and first.stdout == second.stdout


def test_an_existing_secret_and_key_are_used_everywhere() -> None:
    manifests = rendered(
        "redis.bundled.auth.existingSecret=vault-redis",
        "redis.bundled.auth.existingSecretKey=password",
    )
    # redis-server, its exporter and the gateway all read the same key
    assert password_refs(manifests) == {("vault-redis", "password")}
    assert not [m for m in manifests if m["kind"] == "Secret"]


def test_a_password_value_renders_a_stable_secret() -> None:
    manifests = rendered("redis.bundled.auth.password=dev-only-password")
    (secret,) = [m for m in manifests if m["kind"] == "Secret"]
    assert base64.b64decode(secret["data"]["redis-password"]) == b"dev-only-password"
    assert password_refs(manifests) == {(secret["metadata"]["name"], "redis-password")}
