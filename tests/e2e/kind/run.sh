#!/usr/bin/env bash
# The Kind target of the e2e suite: a Kind cluster with real Tekton Pipelines v1.7.0, a local
# registry holding the two test bundles, the controller image built from the Dockerfile and
# installed by the Helm chart (with the demo audit service), then `pytest tests/e2e` against it.
#
# Needs docker (with a running engine), kind, kubectl, helm, tkn, curl and sha256sum. Stops at once
# (exit 2) naming whatever is missing. Settings (environment):
#   TEKTON_RELEASE_SHA256  sha256 of Tekton's v1.7.0 release.yaml (optional: checked when given)
#   KEEP_CLUSTER=1         leave the cluster and the registry running afterwards
#   KIND_CLUSTER_NAME      default kubernaut-wfe-e2e
#   KIND_NODE_IMAGE        optional kindest/node image (pin it by digest for reproducibility)
#   READY_TIMEOUT          how long the controller may take to become Ready (default 180s)
#   PYTEST                 the pytest to run (default .venv/bin/pytest); extra args go to pytest
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$repo_root/tests/e2e/kind"

cluster="${KIND_CLUSTER_NAME:-kubernaut-wfe-e2e}"
keep_cluster="${KEEP_CLUSTER:-0}"
ready_timeout="${READY_TIMEOUT:-180s}"
pytest_bin="${PYTEST:-$repo_root/.venv/bin/pytest}"

tekton_version="v1.7.0"
tekton_url="https://infra.tekton.dev/tekton-releases/pipeline/previous/${tekton_version}/release.yaml"
# The release is pinned by version. Its digest could not be looked up from the machines this
# script was written on: when TEKTON_RELEASE_SHA256 is given the download must match it, and
# either way the script prints the digest it saw, so a user can pin it (export it, or write it
# here) after checking it against the release's attestation.
tekton_sha256="${TEKTON_RELEASE_SHA256:-}"

registry_name="kind-registry"
registry_image="docker.io/library/registry:2.8.3"
registry_host_port=5001
registry_port=5000

image="kubernaut-wfe:e2e"
release="kubernaut-wfe"
namespace="kubernaut-system"
execution_namespace="kubernaut-workflows"
controller="deployment/${release}-controller"
audit="deployment/${release}-audit"

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$1" >&2
    exit "${2:-1}"
}

require_tools() {
    local missing=() tool
    for tool in docker kind kubectl helm tkn curl sha256sum; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        die "the Kind e2e needs docker, kind, kubectl, helm, tkn, curl and sha256sum; missing: ${missing[*]}" 2
    fi
    if ! docker info >/dev/null 2>&1; then
        die "docker is installed but not usable (\`docker info\` failed): start the Docker engine or fix its permissions" 2
    fi
    if [[ -n "$tekton_sha256" && ! "$tekton_sha256" =~ ^[0-9a-f]{64}$ ]]; then
        die "TEKTON_RELEASE_SHA256 must be the sha256 (64 hex digits) of $tekton_url, or unset" 2
    fi
}

work=""
port_forwards=()
cleanup() {
    local rc=$?
    local pid
    for pid in "${port_forwards[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ "$keep_cluster" == "1" ]]; then
        log "KEEP_CLUSTER=1: leaving cluster $cluster and registry $registry_name running"
        log "kubeconfig: kind get kubeconfig --name $cluster"
    else
        log "deleting cluster $cluster and registry $registry_name"
        kind delete cluster --name "$cluster" || true
        docker rm -f "$registry_name" >/dev/null 2>&1 || true
    fi
    [[ -n "$work" ]] && rm -rf "$work"
    exit "$rc"
}

create_cluster() {
    log "creating Kind cluster $cluster"
    local args=(create cluster --name "$cluster" --config "$here/kind-config.yaml" --wait 120s)
    [[ -n "${KIND_NODE_IMAGE:-}" ]] && args+=(--image "$KIND_NODE_IMAGE")
    kind "${args[@]}"
    kind get kubeconfig --name "$cluster" >"$work/kubeconfig"
    export KUBECONFIG="$work/kubeconfig"
}

install_tekton() {
    log "installing Tekton Pipelines $tekton_version"
    curl -fsSL --retry 3 -o "$work/tekton-release.yaml" "$tekton_url"
    local seen
    seen="$(sha256sum "$work/tekton-release.yaml" | cut -d' ' -f1)"
    log "Tekton $tekton_version release.yaml sha256: $seen (pin it with TEKTON_RELEASE_SHA256=$seen)"
    if [[ -n "$tekton_sha256" && "$seen" != "$tekton_sha256" ]]; then
        die "the Tekton release manifest does not match TEKTON_RELEASE_SHA256 ($tekton_sha256)"
    fi
    kubectl apply -f "$work/tekton-release.yaml"
    # The webhook validates Tekton's ConfigMaps, so it must be up before the flags are patched.
    kubectl wait --for=condition=Available --timeout=300s -n tekton-pipelines \
        deployment/tekton-pipelines-controller deployment/tekton-pipelines-webhook
    kubectl wait --for=condition=Available --timeout=300s -n tekton-pipelines-resolvers \
        deployment/tekton-pipelines-remote-resolvers
    kubectl patch configmap resolvers-feature-flags -n tekton-pipelines-resolvers --type merge \
        -p '{"data":{"enable-bundles-resolver":"true"}}'
    # Tekton's own init containers then meet the restricted Pod Security Standard.
    kubectl patch configmap feature-flags -n tekton-pipelines --type merge \
        -p '{"data":{"set-security-context":"true"}}'
}

start_registry() {
    log "starting registry $registry_name (localhost:$registry_host_port on the host)"
    if ! docker inspect "$registry_name" >/dev/null 2>&1; then
        docker run -d --restart=always --name "$registry_name" \
            -p "127.0.0.1:${registry_host_port}:${registry_port}" "$registry_image"
    fi
    docker network connect kind "$registry_name" 2>/dev/null || true
    # Nodes pull localhost:5001/... from the registry container over the kind network.
    local node
    for node in $(kind get nodes --name "$cluster"); do
        docker exec "$node" mkdir -p "/etc/containerd/certs.d/localhost:${registry_host_port}"
        printf '[host."http://%s:%s"]\n' "$registry_name" "$registry_port" \
            | docker exec -i "$node" cp /dev/stdin \
                "/etc/containerd/certs.d/localhost:${registry_host_port}/hosts.toml"
    done
    kubectl apply -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${registry_host_port}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
EOF
    # Tekton's bundles resolver pulls from inside its own pod with go-containerregistry, which
    # speaks plain HTTP only to loopback and RFC 1918 hosts: so the cluster-side reference uses the
    # registry's address on the kind network (172.x), the same container as kind-registry:5000.
    local address
    address="$(docker inspect -f '{{(index .NetworkSettings.Networks "kind").IPAddress}}' \
        "$registry_name")"
    [[ -n "$address" ]] || die "registry $registry_name has no address on the kind network"
    bundle_registry="${address}:${registry_port}"
}

push_bundles() {
    local bundle
    for bundle in hello-world failing; do
        log "pushing bundle $bundle"
        tkn bundle push "localhost:${registry_host_port}/kubernaut/workflows/${bundle}:v1" \
            -f "$repo_root/tests/e2e/bundles/${bundle}/pipeline.yaml"
    done
}

build_and_load_image() {
    log "building $image"
    docker build -t "$image" -f "$repo_root/Dockerfile" "$repo_root"
    kind load docker-image "$image" --name "$cluster"
}

install_chart() {
    log "installing the chart (release $release in $namespace)"
    helm install "$release" "$repo_root/charts/kubernaut-wfe" \
        --namespace "$namespace" --create-namespace \
        --set image.repository=kubernaut-wfe \
        --set image.tag=e2e \
        --set image.pullPolicy=Never \
        --set auditService.enabled=true \
        --set config.execution.cooldownPeriod=10s
}

diagnose() {
    log "diagnostics for namespace $namespace"
    kubectl -n "$namespace" get pods -o wide || true
    kubectl -n "$namespace" describe pods -l "app.kubernetes.io/instance=$release" || true
    kubectl -n "$namespace" get events --sort-by=.lastTimestamp || true
    kubectl -n "$namespace" logs -l "app.kubernetes.io/instance=$release" --all-containers \
        --prefix --tail=200 || true
    kubectl -n "$namespace" logs -l "app.kubernetes.io/instance=$release" --all-containers \
        --prefix --tail=200 --previous || true
}

wait_ready() {
    log "waiting up to $ready_timeout for the controller and the audit service to be Ready"
    if ! kubectl -n "$namespace" rollout status "$audit" --timeout="$ready_timeout" \
        || ! kubectl -n "$namespace" rollout status "$controller" --timeout="$ready_timeout"; then
        diagnose
        die "the controller (or the audit service) did not become Ready within $ready_timeout"
    fi
}

port_forward() {
    local target="$1" mapping="$2"
    kubectl -n "$namespace" port-forward "$target" "$mapping" >"$work/port-forward-${mapping%%:*}.log" 2>&1 &
    port_forwards+=("$!")
}

wait_http() {
    local url="$1" attempt
    for attempt in $(seq 1 30); do
        if curl -fsS -o /dev/null "$url"; then
            return 0
        fi
        sleep 1
    done
    diagnose
    die "$url did not answer"
}

run_tests() {
    port_forward "$controller" 18081:8081
    port_forward "svc/${release}-metrics" 19090:9090
    port_forward "svc/${release}-audit" 18080:8080
    export E2E_TARGET=kind
    export E2E_CONTROLLER_NAMESPACE="$namespace"
    export E2E_EXECUTION_NAMESPACE="$execution_namespace"
    export E2E_BUNDLE_REGISTRY="$bundle_registry"
    export E2E_PROBES_URL="http://127.0.0.1:18081"
    export E2E_METRICS_URL="http://127.0.0.1:19090"
    export E2E_AUDIT_URL="http://127.0.0.1:18080"
    wait_http "$E2E_PROBES_URL/healthz"
    wait_http "$E2E_PROBES_URL/readyz"
    wait_http "$E2E_METRICS_URL/metrics"
    wait_http "$E2E_AUDIT_URL/health/ready"
    log "running pytest tests/e2e (E2E_TARGET=kind)"
    "$pytest_bin" "$repo_root/tests/e2e" "$@"
}

main() {
    require_tools
    work="$(mktemp -d)"
    trap cleanup EXIT
    bundle_registry=""
    create_cluster
    install_tekton
    start_registry
    push_bundles
    build_and_load_image
    install_chart
    wait_ready
    run_tests "$@"
}

main "$@"
