# Sourced by the CLI smoke scripts (claude-code-smoke.sh, codex-smoke.sh): cleans up on exit and starts
# `switchyard demo` on a free loopback port. Needs ROOT, BUN and TMP; start_demo sets URL, KEY and GW_PID.
GW_PID=""

cleanup() {
  if [[ -n "$GW_PID" ]] && kill -0 "$GW_PID" 2>/dev/null; then
    kill "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP_TMP:-}" == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

start_demo() {
  local port
  port=$("$BUN" -e 'const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() }); console.log(s.port); s.stop(true)')
  URL="http://127.0.0.1:$port"
  echo "== starting the demo gateway on $URL"
  "$BUN" "$ROOT/src/main.ts" demo --port "$port" --log-level warn >"$TMP/demo.log" 2>&1 &
  GW_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
    kill -0 "$GW_PID" 2>/dev/null || { cat "$TMP/demo.log"; echo "FAIL: demo exited"; exit 1; }
    sleep 0.2
  done
  curl -fsS "$URL/healthz" >/dev/null || { cat "$TMP/demo.log"; echo "FAIL: demo did not become healthy"; exit 1; }
  KEY=""
  for _ in $(seq 1 50); do
    KEY=$(grep -o 'sk-demo-[0-9a-f]*' "$TMP/demo.log" | head -1 || true)
    [[ -n "$KEY" ]] && break
    sleep 0.1
  done
  [[ -n "$KEY" ]] || { cat "$TMP/demo.log"; echo "FAIL: no API key in the demo banner"; exit 1; }
}
