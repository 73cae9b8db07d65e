#!/usr/bin/env bash
# Smoke test with the real Codex CLI: installs @openai/codex into a temp dir (or uses $CODEX_BIN),
# starts `switchyard demo` (gateway + built-in upstream simulator), points Codex at it through a custom
# model provider (wire_api = "responses") in a temporary CODEX_HOME, and runs one `codex exec` that
# must make a tool call, run it, send the result back and print the model's answer.
# The simulator calls a declared function when the prompt names it: Codex's exec_command tool (with
# the simulator's sample arguments, so the command itself is a placeholder that fails harmlessly), then
# answers "Function exec_command returned …" with what Codex sent back.
# Needs the npm registry unless CODEX_BIN is set (not part of CI). Env: CODEX_VERSION (default latest),
# CODEX_BIN (an installed codex), SMOKE_MODEL (default gemini-3-flash), KEEP_TMP=1 to keep the temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUN=${BUN:-$ROOT/node_modules/.bin/bun}
MODEL=${SMOKE_MODEL:-gemini-3-flash}
PROMPT='Use exec_command to run `echo hi` and tell me what it printed.'
TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-codex-smoke.XXXXXX")
# shellcheck source=scripts/smoke-demo.sh
source "$ROOT/scripts/smoke-demo.sh"

if [[ -n "${CODEX_BIN:-}" ]]; then
  CODEX=$CODEX_BIN
else
  echo "== installing @openai/codex@${CODEX_VERSION:-latest} into $TMP"
  if ! npm install --prefix "$TMP" --no-audit --no-fund --loglevel=error "@openai/codex@${CODEX_VERSION:-latest}" >"$TMP/npm.log" 2>&1; then
    cat "$TMP/npm.log"
    echo "FAIL: could not install Codex from the npm registry"
    exit 1
  fi
  CODEX="$TMP/node_modules/.bin/codex"
fi
[[ -x "$CODEX" ]] || command -v "$CODEX" >/dev/null || { echo "FAIL: no codex binary at $CODEX"; exit 1; }
echo "codex version: $("$CODEX" --version 2>&1 | head -1)"

start_demo

# Codex's configuration: the gateway as a custom provider speaking the Responses API. Codex declares
# its hosted web_search tool by default, which the gateway refuses (built-in OpenAI tools run on
# OpenAI's side): web_search = "disabled" leaves only function tools.
mkdir -p "$TMP/codex-home" "$TMP/home" "$TMP/work"
cat >"$TMP/codex-home/config.toml" <<EOF
model = "$MODEL"
model_provider = "switchyard"
web_search = "disabled"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.switchyard]
name = "Switchyard"
base_url = "$URL/v1"
env_key = "SWITCHYARD_KEY"
wire_api = "responses"

[analytics]
enabled = false
EOF

echo "== codex exec \"$PROMPT\" (model $MODEL)"
set +e
OUT=$(cd "$TMP/work" && env -u OPENAI_API_KEY -u OPENAI_BASE_URL \
  HOME="$TMP/home" CODEX_HOME="$TMP/codex-home" SWITCHYARD_KEY="$KEY" RUST_LOG=error \
  timeout 180 "$CODEX" exec --skip-git-repo-check --color never "$PROMPT" </dev/null 2>&1)
RC=$?
set -e
echo "--- codex output (exit $RC) ---"
echo "$OUT" | head -c 6000
echo
echo "--- end ---"

FAILED=0
if [[ $RC -eq 0 && "$OUT" == *"Function exec_command returned"* ]]; then
  echo "PASS: Codex called exec_command, ran it, and the result came back through switchyard"
else
  echo "FAIL: expected the simulator's \"Function exec_command returned …\" answer"
  FAILED=1
fi
if grep -q '"status":5[0-9][0-9]' "$TMP/demo.log"; then
  echo "FAIL: the gateway logged 5xx answers"
  FAILED=1
fi
if [[ $FAILED -ne 0 ]]; then
  echo "--- gateway log (warnings and errors) ---"
  grep '^{' "$TMP/demo.log" | tail -n 40 || true
  exit 1
fi
echo "PASS: Codex works against switchyard"
