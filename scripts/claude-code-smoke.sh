#!/usr/bin/env bash
# Smoke test with the real Claude Code CLI: installs @anthropic-ai/claude-code into a temp dir, starts
# `switchyard demo` (gateway + built-in upstream simulator), runs `claude -p "say hi"` against it with
# telemetry off and an isolated HOME, and checks the simulator's answer comes back.
# Needs the npm registry (not part of CI). Env: CLAUDE_CODE_VERSION (default: what npm picks),
# SMOKE_MODEL (default claude-sonnet-4-5), KEEP_TMP=1 to keep the temp dir for inspection.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUN=${BUN:-$ROOT/node_modules/.bin/bun}
MODEL=${SMOKE_MODEL:-claude-sonnet-4-5}
PROMPT="say hi"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-cc-smoke.XXXXXX")
# shellcheck source=scripts/smoke-demo.sh
source "$ROOT/scripts/smoke-demo.sh"

echo "== installing @anthropic-ai/claude-code${CLAUDE_CODE_VERSION:+@$CLAUDE_CODE_VERSION} into $TMP"
if ! npm install --prefix "$TMP" --no-audit --no-fund --loglevel=error \
  "@anthropic-ai/claude-code${CLAUDE_CODE_VERSION:+@$CLAUDE_CODE_VERSION}" >"$TMP/npm.log" 2>&1; then
  cat "$TMP/npm.log"
  echo "FAIL: could not install Claude Code from the npm registry"
  exit 1
fi
CLAUDE="$TMP/node_modules/.bin/claude"
[[ -x "$CLAUDE" ]] || { echo "FAIL: no claude binary after install"; exit 1; }
echo "claude version: $("$CLAUDE" --version 2>&1 | head -1)"

start_demo

mkdir -p "$TMP/home" "$TMP/work"
run_claude() { # extra claude args…; sets OUT and RC
  set +e
  OUT=$(cd "$TMP/work" && env -u ANTHROPIC_API_KEY \
    HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/home/.config" \
    ANTHROPIC_BASE_URL="$URL" ANTHROPIC_AUTH_TOKEN="$KEY" ANTHROPIC_MODEL="$MODEL" \
    DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
    timeout 180 "$CLAUDE" -p "$PROMPT" "$@" 2>&1)
  RC=$?
  set -e
  echo "--- claude output (exit $RC) ---"
  echo "$OUT" | head -c 4000
  echo
  echo "--- end ---"
}
FAILED=0

# 1. no tools: the simulator answers "Echo: <last user text>" (Claude Code adds a system-reminder first)
echo "== claude -p \"$PROMPT\" --tools \"\" (model $MODEL)"
run_claude --tools ""
if [[ $RC -eq 0 && "$OUT" == *"Echo:"* && "$OUT" == *"$PROMPT"* ]]; then
  echo "PASS 1/2: the simulator's echo came back through switchyard"
else
  echo "FAIL 1/2: expected \"Echo: … $PROMPT\""; FAILED=1
fi

# 2. Claude Code's own tools declared: the user text names them, so the simulator calls them; Claude
#    Code runs them and sends the results back; the simulator then answers "Function X returned …"
echo "== claude -p \"$PROMPT\" (default tools: a real tool-use round trip)"
run_claude
if [[ $RC -eq 0 && "$OUT" =~ Function\ [A-Za-z_]+\ returned ]]; then
  echo "PASS 2/2: tool calls ran in Claude Code and their results came back through switchyard"
else
  echo "FAIL 2/2: expected the simulator's \"Function … returned …\" answer"; FAILED=1
fi

if grep -q '"status":5[0-9][0-9]' "$TMP/demo.log"; then
  echo "FAIL: the gateway logged 5xx answers"; FAILED=1
fi
if [[ $FAILED -ne 0 ]]; then
  echo "--- gateway log (warnings and errors) ---"
  grep '^{' "$TMP/demo.log" | tail -n 40 || true
  exit 1
fi
echo "PASS: Claude Code works against switchyard"
