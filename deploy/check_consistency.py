#!/usr/bin/env python3
"""Cross-file checks of deploy/ that no schema can make: the settings files only use settings the
server knows (it refuses to start on an unknown key), the drain fits in every stop timeout, the
probes point at the port and paths the server answers on, the certificates land under the names
the server looks for. Run by deploy/validate.sh; exits non-zero with one line per problem."""

import json
import pathlib
import re
import sys

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
ROOT = DEPLOY.parent
problems: list[str] = []


def check(condition: bool, message: str) -> None:
    if not condition:
        problems.append(message)


def known_settings() -> set[str]:
    """The setting names `porthole serve` accepts, from the list the config-file reader checks keys against."""
    source = (ROOT / "Sources/porthole/ServeSettings.swift").read_text()
    match = re.search(r"static let names\s*=\s*\[(.*?)\]", source, re.S)
    if not match:
        sys.exit("check_consistency: cannot find ServeSettings.names in Sources/porthole/ServeSettings.swift")
    names = set(re.findall(r'"([a-z0-9-]+)"', match.group(1)))
    if len(names) < 10:
        sys.exit(f"check_consistency: ServeSettings.names looks wrong: {sorted(names)}")
    return names


def check_settings(name: str, settings: dict, known: set[str]) -> None:
    unknown = sorted(set(settings) - known)
    check(not unknown, f"{name}: settings the server does not know (it would refuse to start): {unknown}")
    for key in ("drain-delay", "drain-timeout"):
        check(isinstance(settings.get(key), int), f"{name}: {key} should be set explicitly as a number")


def drain_seconds(settings: dict) -> int:
    return int(settings.get("drain-delay", 0)) + int(settings.get("drain-timeout", 30))


def load_documents(path: pathlib.Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def main() -> None:
    known = known_settings()

    # --- systemd ---------------------------------------------------------------------------
    unit = (DEPLOY / "systemd/porthole.service").read_text()
    directives: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            directives.setdefault(key.strip(), []).append(value.strip())
    for required, expected in {
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "SystemCallFilter": "@system-service",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
        "User": "porthole",
    }.items():
        check(expected in directives.get(required, []), f"porthole.service: expected {required}={expected}")
    for present in ("RestrictAddressFamilies", "LimitNOFILE", "ReadWritePaths", "TimeoutStopSec"):
        check(present in directives, f"porthole.service: {present}= is missing")
    systemd_settings = json.loads((DEPLOY / "systemd/porthole.json").read_text())
    check_settings("systemd/porthole.json", systemd_settings, known)
    timeout = re.fullmatch(r"(\d+)s?", directives.get("TimeoutStopSec", ["0"])[-1])
    check(timeout is not None and int(timeout.group(1)) > drain_seconds(systemd_settings),
          f"porthole.service: TimeoutStopSec must exceed drain-delay + drain-timeout ({drain_seconds(systemd_settings)} s)")
    check(systemd_settings.get("data-dir") in directives.get("ReadWritePaths", []),
          "porthole.service: ReadWritePaths= must hold the data-dir of porthole.json")
    check("--config /etc/porthole/porthole.json" in directives.get("ExecStart", [""])[0],
          "porthole.service: ExecStart should read /etc/porthole/porthole.json")

    # --- systemd: porthole egress -------------------------------------------------------------
    egress_source = (ROOT / "Sources/porthole/EgressCommand.swift").read_text()
    egress_names = re.search(r"static let settingNames\s*=\s*\[(.*?)\]", egress_source, re.S)
    check(egress_names is not None, "cannot find EgressCommand.settingNames in Sources/porthole/EgressCommand.swift")
    if egress_names:
        egress_known = set(re.findall(r'"([a-z0-9-]+)"', egress_names.group(1)))
        egress_settings = json.loads((DEPLOY / "systemd/egress.json").read_text())
        unknown = sorted(set(egress_settings) - egress_known)
        check(not unknown, f"systemd/egress.json: settings porthole egress does not know: {unknown}")
        check(bool(egress_settings.get("sandbox-interface")), "systemd/egress.json: sandbox-interface is required")
        egress_unit = (DEPLOY / "systemd/porthole-egress.service").read_text()
        check("AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE" in egress_unit
              and "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE" in egress_unit,
              "porthole-egress.service: CAP_NET_ADMIN (table) and CAP_NET_BIND_SERVICE (resolver) and nothing else")
        check(f"ReadWritePaths={egress_settings.get('data-dir')}" in egress_unit,
              "porthole-egress.service: ReadWritePaths= must hold the data-dir of egress.json")
        check("AF_NETLINK" in egress_unit, "porthole-egress.service: nftables needs AF_NETLINK")

    # --- compose: several instances on one PostgreSQL store ---------------------------------
    compose = yaml.safe_load((DEPLOY / "compose/compose.yaml").read_text())
    instance = compose["x-porthole"]
    environment = instance["environment"]
    as_settings = {key.removeprefix("PORTHOLE_").lower().replace("_", "-") for key in environment}
    unknown = sorted(as_settings - known)
    check(not unknown, f"compose/compose.yaml: PORTHOLE_ variables the server does not know: {unknown}")
    check(environment.get("PORTHOLE_STORE", "").startswith("postgresql://"),
          "compose/compose.yaml: every instance needs the shared store (PORTHOLE_STORE=postgresql://…)")
    instances = [name for name, service in compose["services"].items() if service is instance or name.startswith("porthole-")]
    check(len(instances) >= 2, "compose/compose.yaml: the point is several instances")
    haproxy_compose = (DEPLOY / "compose/haproxy.cfg").read_text()
    for name in instances:
        check(f"{name}:8443" in haproxy_compose, f"compose/haproxy.cfg: no server for {name}")
    grace = int(environment.get("PORTHOLE_DRAIN_DELAY", 0)) + int(environment.get("PORTHOLE_DRAIN_TIMEOUT", 30))
    stop = int(str(instance.get("stop_grace_period", "10s")).removesuffix("s"))
    check(grace < stop, f"compose/compose.yaml: stop_grace_period {stop}s must exceed the drain ({grace}s)")

    # --- Dockerfile -------------------------------------------------------------------------
    dockerfile = (DEPLOY / "docker/Dockerfile").read_text()
    check(re.search(r"^FROM swift:\$\{SWIFT_VERSION\}-bookworm AS build", dockerfile, re.M) is not None
          and re.search(r"^ARG SWIFT_VERSION=6\.\d+", dockerfile, re.M) is not None,
          "Dockerfile: build on swift:6.x-bookworm")
    check(re.search(r"^FROM debian:bookworm-slim$", dockerfile, re.M) is not None, "Dockerfile: run on debian:bookworm-slim")
    check("--static-swift-stdlib" in dockerfile and "-c release" in dockerfile, "Dockerfile: release build with --static-swift-stdlib")
    for package in ("libssl-dev", "zlib1g-dev", "libnftables-dev", "libssl3", "zlib1g", "libnftables1", "ca-certificates"):
        check(re.search(rf"\b{re.escape(package)}\b", dockerfile) is not None, f"Dockerfile: package {package} missing")
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    check(bool(user) and not user[-1].startswith(("root", "0:", "0")), "Dockerfile: the run stage must end as a non-root USER")
    exposed = set(" ".join(re.findall(r"^EXPOSE (.+)$", dockerfile, re.M)).split())
    check({"8443", "8080", "8081"} <= exposed, f"Dockerfile: EXPOSE 8443 8080 8081, got {sorted(exposed)}")
    check(re.search(r"HEALTHCHECK[\s\S]*127\.0\.0\.1:8081/healthz", dockerfile) is not None, "Dockerfile: HEALTHCHECK on the admin /healthz")
    check('ENTRYPOINT ["/usr/local/bin/porthole", "serve"]' in dockerfile, "Dockerfile: entrypoint `porthole serve`")

    # --- HAProxy ----------------------------------------------------------------------------
    haproxy = (DEPLOY / "haproxy/haproxy.cfg").read_text()
    check(re.search(r"^\s*mode tcp", haproxy, re.M) is not None, "haproxy.cfg: balance in TCP mode")
    check("send-proxy-v2" in haproxy, "haproxy.cfg: send-proxy-v2 to the instances")
    check(re.search(r"http-check send .*uri /readyz", haproxy) is not None, "haproxy.cfg: health checks on /readyz")
    check(len(re.findall(r"^\s*server \S+ \S+:8443", haproxy, re.M)) >= 2, "haproxy.cfg: several instances")
    # The instances haproxy.cfg sends PROXY v2 to are the systemd ones; each listener it sends to must expect it.
    if "send-proxy-v2" in haproxy:
        expected = {"https", "http"} if re.search(r"^\s*server \S+ \S+:8080", haproxy, re.M) else {"https"}
        listeners = systemd_settings.get("proxy-protocol", [])
        listeners = set(listeners if isinstance(listeners, list) else str(listeners).split(","))
        check(expected <= listeners, f"systemd/porthole.json: proxy-protocol must include {sorted(expected)} for haproxy.cfg's send-proxy-v2")
    check("http-check connect default" in haproxy or "http-check connect" not in haproxy,
          "haproxy.cfg: an explicit `http-check connect` must say `default`, or checks lose check-send-proxy")

    # --- Kubernetes -------------------------------------------------------------------------
    kube = DEPLOY / "kubernetes"
    resources: dict[tuple[str, str], dict] = {}
    for path in sorted(kube.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in load_documents(path):
            resources[(document["kind"], document["metadata"]["name"])] = document
    kustomization = yaml.safe_load((kube / "kustomization.yaml").read_text())
    for resource in kustomization.get("resources", []):
        check((kube / resource).is_file(), f"kustomization.yaml: {resource} does not exist")
    check("secret.example.yaml" not in kustomization.get("resources", []),
          "kustomization.yaml: must not apply the placeholder secrets")

    config_map = resources.get(("ConfigMap", "porthole-config"))
    deployment = resources.get(("Deployment", "porthole"))
    service = resources.get(("Service", "porthole"))
    secrets = {name for (kind, name) in resources if kind == "Secret"}
    check(config_map is not None and deployment is not None and service is not None,
          "kubernetes: ConfigMap porthole-config, Deployment porthole and Service porthole are needed")
    if config_map is None or deployment is None or service is None:
        return report()

    (config_key, config_text), = config_map["data"].items()
    settings = json.loads(config_text)
    check_settings(f"configmap.yaml {config_key}", settings, known)

    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    check(spec.get("replicas", 1) >= 2, "deployment.yaml: at least 2 replicas")
    check(pod["securityContext"].get("runAsNonRoot") is True, "deployment.yaml: pod runAsNonRoot")
    check(container["securityContext"].get("readOnlyRootFilesystem") is True, "deployment.yaml: readOnlyRootFilesystem")
    check(container["securityContext"].get("allowPrivilegeEscalation") is False, "deployment.yaml: allowPrivilegeEscalation false")

    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}

    def volume_at(path: str) -> dict | None:
        for name, mount in mounts.items():
            if mount["mountPath"].rstrip("/") == path.rstrip("/"):
                return volumes.get(name)
        return None

    args = container.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args else ""
    config_volume = volume_at(str(pathlib.PurePosixPath(config_path).parent))
    check(config_volume is not None and config_volume.get("configMap", {}).get("name") == "porthole-config"
          and pathlib.PurePosixPath(config_path).name == config_key,
          f"deployment.yaml: --config {config_path} is not the mounted ConfigMap key {config_key}")

    data_volume = volume_at(settings.get("data-dir", ""))
    check(data_volume is not None and "emptyDir" in data_volume, "deployment.yaml: data-dir must be a mounted emptyDir")
    cert_volume = volume_at(settings.get("cert-dir", ""))
    cert_items = {item["path"] for item in (cert_volume or {}).get("secret", {}).get("items", [])}
    check({"default-cert.pem", "default-key.pem"} <= cert_items,
          "deployment.yaml: cert-dir must be a Secret mounted as default-cert.pem and default-key.pem")
    if cert_volume:
        check(cert_volume["secret"]["secretName"] in secrets, "deployment.yaml: the TLS Secret is not in secret.example.yaml")
    for source in container.get("envFrom", []):
        name = source.get("secretRef", {}).get("name")
        if name:
            check(name in secrets, f"deployment.yaml: envFrom Secret {name} is not in secret.example.yaml")
            secret = resources.get(("Secret", name), {})
            check("PORTHOLE_ADMIN_TOKEN" in secret.get("stringData", {}), f"{name}: PORTHOLE_ADMIN_TOKEN missing")

    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    check(ports.get("https") == settings.get("https-port", 8443), "deployment.yaml: https containerPort != https-port")
    check(ports.get("http") == settings.get("http-port", 8080), "deployment.yaml: http containerPort != http-port")
    check(ports.get("admin") == settings.get("admin-port", 8081) == 8081, "deployment.yaml: admin containerPort != admin-port 8081")

    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container.get(probe, {}).get("httpGet")
        if get is not None:
            check(get.get("path") == path and ports.get(get.get("port"), get.get("port")) == 8081,
                  f"deployment.yaml: {probe} must GET {path} on the admin port")
            # The kubelet connects to the pod IP; the admin listener's default 127.0.0.1 is unreachable.
            check(settings.get("admin-address") == "0.0.0.0",
                  f"deployment.yaml: an httpGet {probe} needs admin-address 0.0.0.0 in the ConfigMap")
        else:
            command = " ".join(container.get(probe, {}).get("exec", {}).get("command", []))
            check(path in command, f"deployment.yaml: {probe} must check {path}")

    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    sleep = pre_stop.get("sleep", {}).get("seconds")
    if sleep is None:
        command = pre_stop.get("exec", {}).get("command", [])
        sleep = int(command[-1]) if command[:1] == ["sleep"] else None
    check(sleep is not None, "deployment.yaml: a preStop sleep")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace > (sleep or 0) + drain_seconds(settings),
          f"deployment.yaml: terminationGracePeriodSeconds {grace} must exceed preStop + drain-delay + drain-timeout "
          f"({(sleep or 0) + drain_seconds(settings)} s)")
    check("memory" in container.get("resources", {}).get("limits", {}) and "cpu" in container.get("resources", {}).get("requests", {}),
          "deployment.yaml: resources (requests and a memory limit)")

    selector = spec["selector"]["matchLabels"]
    check(service["spec"]["selector"] == selector, "service.yaml: selector does not match the Deployment")
    https = [port for port in service["spec"]["ports"] if port["port"] == 443]
    check(len(https) == 1 and https[0].get("protocol", "TCP") == "TCP"
          and ports.get(https[0]["targetPort"], https[0]["targetPort"]) == settings.get("https-port", 8443),
          "service.yaml: TCP 443 must target the HTTPS port")

    return report()


def report() -> None:
    for problem in problems:
        print(f"deploy: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("deploy: consistency checks passed")


if __name__ == "__main__":
    main()
