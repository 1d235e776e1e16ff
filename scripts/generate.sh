#!/usr/bin/env bash
# Regenerates everything derived from the project's single-source files:
#   api/openapi/data-storage-v1.yaml          -> src/kubernaut_wfe/datastorage/models.py (pydantic v2)
#   deploy/crds/kubernaut.ai_workflowexecutions.yaml -> tools/src/kubernaut_wfe_tools/data/ (copy, for `validate`)
#                                             -> charts/kubernaut-wfe/crds/ (copy)
#
# Usage: scripts/generate.sh           write the derived files in place
#        scripts/generate.sh --check   regenerate into a temporary tree and fail if anything differs
#
# The generator and the formatter are the pinned ones from .venv (requirements/dev.txt), and the
# formatter runs with explicit settings (--isolated), so the output depends on nothing else.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${VENV_BIN:-$repo_root/.venv/bin}"

spec="api/openapi/data-storage-v1.yaml"
crd="deploy/crds/kubernaut.ai_workflowexecutions.yaml"
models="src/kubernaut_wfe/datastorage/models.py"
data_dir="tools/src/kubernaut_wfe_tools/data"
chart_crd="charts/kubernaut-wfe/crds/kubernaut.ai_workflowexecutions.yaml"
derived=("$models" "$data_dir/kubernaut.ai_workflowexecutions.yaml" "$chart_crd")

generate_into() {
    local out_root="$1"
    for source in "$spec" "$crd"; do
        if [[ ! -f "$repo_root/$source" ]]; then
            echo "error: $source is missing; it is the source of generated files" >&2
            return 1
        fi
    done
    mkdir -p "$out_root/$(dirname "$models")" "$out_root/$data_dir"
    local raw
    raw="$(mktemp)"
    "$bin/datamodel-codegen" \
        --input "$repo_root/$spec" \
        --input-file-type openapi \
        --output "$raw" \
        --output-model-type pydantic_v2.BaseModel \
        --target-python-version 3.11 \
        --disable-timestamp \
        --custom-file-header "# Generated from $spec by scripts/generate.sh; do not edit (run \`make generate\`)." \
        --use-annotated \
        --field-constraints \
        --use-standard-collections \
        --use-union-operator \
        --use-subclass-enum \
        --capitalise-enum-members \
        --enum-field-as-literal one \
        --strict-nullable \
        --use-double-quotes \
        --use-schema-description \
        --use-field-description \
        --formatters builtin
    "$bin/ruff" format --isolated --line-length 100 --target-version py311 --quiet - \
        <"$raw" >"$out_root/$models"
    rm -f "$raw"
    cp "$repo_root/$crd" "$out_root/$data_dir/kubernaut.ai_workflowexecutions.yaml"
    mkdir -p "$out_root/$(dirname "$chart_crd")"
    cp "$repo_root/$crd" "$out_root/$chart_crd"
}

if [[ "${1:-}" == "--check" ]]; then
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    generate_into "$scratch"
    stale=0
    for file in "${derived[@]}"; do
        if ! diff -u "$repo_root/$file" "$scratch/$file" >&2; then
            echo "error: $file is out of date" >&2
            stale=1
        fi
    done
    if [[ $stale -ne 0 ]]; then
        echo "error: generated files are stale: run \`make generate\` and commit the result" >&2
        exit 1
    fi
    echo "generated files are up to date"
elif [[ $# -eq 0 ]]; then
    generate_into "$repo_root"
    echo "regenerated: ${derived[*]}"
else
    echo "usage: $0 [--check]" >&2
    exit 2
fi
