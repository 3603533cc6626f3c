#!/usr/bin/env bash
# Baseline for Furrow's `parallel(envs, limit: 4, ...)` sow: create COUNT workspaces of
# one terraform_data configuration and apply each, LIMIT at a time, straight from the
# shell (xargs -P). Prints the wall time of the create+apply phase (init excluded, as
# Furrow initialises a directory once per process too).
#
#   bench/terraform/workspaces.sh [COUNT] [LIMIT]       (defaults: 20 4)
#   TERRAFORM=tofu bench/terraform/workspaces.sh        (another executable)
set -euo pipefail

count="${1:-20}"
limit="${2:-4}"
terraform="${TERRAFORM:-terraform}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -R "$here/config" "$work/config"
: > "$work/terraformrc"
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
export TERRAFORM_BIN="$terraform" CONFIG_DIR="$work/config"

"$terraform" -chdir="$work/config" init -input=false -no-color >/dev/null

# One environment: its workspace, then an apply with its name as a variable.
apply_one() {
    local name="$1"
    TF_WORKSPACE="$name" "$TERRAFORM_BIN" -chdir="$CONFIG_DIR" workspace new -no-color "$name" >/dev/null
    TF_WORKSPACE="$name" "$TERRAFORM_BIN" -chdir="$CONFIG_DIR" apply -auto-approve -input=false -no-color \
        -var "name=$name" >/dev/null
}
export -f apply_one

started="$(date +%s.%N)"
seq -f "env%02g" 1 "$count" | xargs -P "$limit" -I{} bash -c 'apply_one "$1"' _ {}
finished="$(date +%s.%N)"

applied="$(ls "$work/config/terraform.tfstate.d" | wc -l)"
[[ "$applied" -eq "$count" ]] || { echo "only $applied of $count workspaces were created" >&2; exit 1; }
awk -v s="$started" -v f="$finished" -v n="$count" -v p="$limit" -v t="$("$terraform" version | head -n1)" \
    'BEGIN { printf "%s: %d workspaces (new + apply), %d at a time: %.2fs (%.3fs per workspace)\n", t, n, p, f - s, (f - s) / n }'
