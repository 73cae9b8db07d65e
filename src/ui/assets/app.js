// The dashboard: five pages behind the hash (#overview, #accounts, #usage, #keys, #live), data from
// /ui/api (the admin API's routes, forwarded after the session check), the live log over server-sent
// events. Text goes in with textContent only; charts are SVG drawn here.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

/** an element: el("td", { class: "num" }, "3") — children are nodes or text */
function el(tag, attrs, ...children) {
  const n = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) n.append(c instanceof Node ? c : String(c));
  return n;
}

const fmt = new Intl.NumberFormat();
const num = (n) => fmt.format(n || 0);
const time = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60
    ? `${s}s ago`
    : s < 3600
      ? `${Math.floor(s / 60)}m ago`
      : s < 86400
        ? `${Math.floor(s / 3600)}h ago`
        : `${Math.floor(s / 86400)}d ago`;
}

function span(ms) {
  if (ms <= 0) return "now";
  const s = Math.ceil(ms / 1000);
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

/** a countdown that the 1 s ticker keeps current */
const countdown = (iso, prefix) =>
  el("span", { "data-until": Date.parse(iso), "data-prefix": prefix }, `${prefix}${span(Date.parse(iso) - Date.now())}`);

/** "3m ago" that the 1 s ticker keeps current */
const since = (iso, prefix) =>
  iso ? el("span", { "data-since": Date.parse(iso), "data-prefix": prefix }, `${prefix}${ago(Date.parse(iso))}`) : `${prefix}never`;

function tick() {
  for (const n of document.querySelectorAll("[data-until]")) n.textContent = n.dataset.prefix + span(Number(n.dataset.until) - Date.now());
  for (const n of document.querySelectorAll("[data-since]")) n.textContent = n.dataset.prefix + ago(Number(n.dataset.since));
}

/**
 * A chart's bucket in the browser's time zone, as the rest of the page: minutes and hours by their local
 * time (with the date when the chart spans days); a day bucket is a UTC day, named by its date.
 */
function bucketName(label, spansDays) {
  if (label.length === 10) return label.slice(5);
  const d = new Date(label);
  const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  return spansDays ? `${d.toLocaleDateString([], { month: "2-digit", day: "2-digit" })} ${hm}` : hm;
}
const spanDays = (labels) => labels.length > 1 && Date.parse(labels[labels.length - 1]) - Date.parse(labels[0]) >= 86_400_000;

async function api(path, opts = {}) {
  const res = await fetch(`/ui/api/${path}`, {
    method: opts.method || "GET",
    headers: opts.body !== undefined ? { "content-type": "application/json" } : {},
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    credentials: "same-origin",
  });
  if (res.status === 401) {
    location.replace("/ui"); // the session ended: back to the sign-in form
    throw new Error("signed out");
  }
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) throw new Error((body && body.error && body.error.message) || `HTTP ${res.status}`);
  return body;
}

function status(text, bad) {
  const s = $("status");
  s.textContent = text;
  s.className = bad ? "error" : "muted";
}

/** a numeric column's heading (right-aligned) */
const n = (label) => ({ label, num: 1 });

function table(node, head, rows) {
  node.replaceChildren(
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        head.map((h) => el("th", { class: h.num ? "num" : undefined }, h.label || h)),
      ),
    ),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: head.length, class: "muted" }, "nothing yet"))),
  );
}

// ---- charts: stacked bars in SVG ----

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** stacked bars: labels along x, one series per colour; a legend below */
function barChart(node, labels, series, opts = {}) {
  const W = 1000,
    H = opts.height || 220,
    L = 56,
    B = 26,
    T = 10;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const bw = (W - L - 8) / Math.max(1, labels.length);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = el("svg:svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `${opts.title || "chart"}: total ${num(totals.reduce((a, b) => a + b, 0))}`,
  });
  for (let g = 0; g <= 4; g++) {
    const v = (max * g) / 4;
    svg.append(
      el("svg:line", { class: "grid", x1: L, x2: W, y1: y(v), y2: y(v) }),
      el("svg:text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, num(v)),
    );
  }
  const every = Math.ceil(labels.length / 12);
  labels.forEach((label, i) => {
    let base = 0;
    series.forEach((s, k) => {
      const v = s.values[i] || 0;
      if (!v) return;
      const r = el("svg:rect", {
        class: s.cls || `s${k % 8}`,
        x: L + i * bw + 1,
        width: Math.max(1, bw - 2),
        y: y(base + v),
        height: Math.max(1, y(base) - y(base + v)),
      });
      r.append(el("svg:title", {}, `${opts.full ? opts.full(label) : label} · ${s.name}: ${num(v)}`));
      svg.append(r);
      base += v;
    });
    if (i % every === 0)
      svg.append(el("svg:text", { x: L + i * bw + bw / 2, y: H - 8, "text-anchor": "middle" }, opts.short ? opts.short(label) : label));
  });
  const legend = el(
    "div",
    { class: "legend" },
    series.map((s, k) => el("span", {}, el("i", { class: s.cls || `s${k % 8}` }), s.name)),
  );
  node.replaceChildren(svg, legend);
}

// ---- overview ----

async function overview() {
  const o = await api("overview");
  const last = o.perMinute[o.perMinute.length - 1];
  const tokens = o.tokensToday.reduce((s, r) => s + r.input + r.output + r.thinking, 0);
  const card = (label, value, title) => el("div", { class: "card", title }, el("span", { class: "muted" }, label), el("b", {}, value));
  $("ov-cards").replaceChildren(
    card("Accounts available", `${o.accounts.available} / ${o.accounts.total}`),
    card("Requests this minute", num(last.requests)),
    card("Errors this minute", num(last.errors)),
    card("Tokens today", num(tokens), "input + output + thinking since 00:00 UTC"),
    card("Scheduling", o.mode, `${o.sessions} sticky sessions`),
  );
  barChart(
    $("ov-minutes"),
    o.perMinute.map((m) => m.minute),
    [
      { name: "ok", values: o.perMinute.map((m) => m.requests - m.errors) },
      { name: "errors", values: o.perMinute.map((m) => m.errors), cls: "err" },
    ],
    { title: "requests per minute", height: 160, short: (l) => bucketName(l, false), full: (l) => bucketName(l, false) },
  );
  const serving = o.serving.map((s) => el("span", { class: "badge serving" }, `${s.account} · ${s.requests}`));
  $("ov-serving").replaceChildren(
    ...(serving.length ? serving : [el("span", { class: "muted" }, "no account answered in the last minute")]),
  );
  table(
    $("ov-models"),
    ["model", n("requests"), n("errors"), n("input"), n("output"), n("thinking"), n("cached")],
    o.tokensToday.map((r) =>
      el(
        "tr",
        {},
        el("td", {}, r.group),
        [r.requests, r.errors, r.input, r.output, r.thinking, r.cached].map((v) => el("td", { class: "num" }, num(v))),
      ),
    ),
  );
}

// ---- accounts ----

let accountsSeen = "";

function quotaBars(a, models) {
  const rows = [];
  if (!a.quota)
    rows.push(
      el("span", { class: "name" }, "all models"),
      el("div", { class: "bar unknown", role: "meter", "aria-label": "quota unknown" }, el("em", {}, "unknown (not fetched yet)")),
    );
  else
    for (const m of models) {
      const q = a.quota[m];
      if (!q) {
        rows.push(
          el("span", { class: "name", title: m }, m),
          el("div", { class: "bar unknown", role: "meter", "aria-label": `${m}: quota unknown` }, el("em", {}, "unknown")),
        );
        continue;
      }
      const pct = Math.round(q.remainingFraction * 100);
      const fill = el("span");
      fill.style.width = `${pct}%`;
      const label = el("em", {}, `${pct} % left`, q.resetTime ? [" · ", countdown(q.resetTime, "resets in ")] : "");
      rows.push(
        el("span", { class: "name", title: m }, m),
        el(
          "div",
          {
            class: `bar${pct === 0 ? " empty" : pct < 20 ? " low" : ""}`,
            role: "meter",
            "aria-label": `${m}: ${pct} % left`,
            "aria-valuenow": pct,
            "aria-valuemin": 0,
            "aria-valuemax": 100,
          },
          fill,
          label,
        ),
      );
    }
  return el("div", { class: "quota" }, rows);
}

async function accountAction(a, action) {
  const msg = $("acc-msg");
  try {
    if (action === "remove") {
      if (!confirm(`Remove ${a.email} from the pool? Its refresh token is deleted.`)) return;
      await api(`admin/accounts/${encodeURIComponent(a.id)}`, { method: "DELETE" });
    } else {
      const res = await api(`admin/accounts/${encodeURIComponent(a.id)}/${action}`, { method: "POST" });
      // a refresh answers 200 with its own outcome: a failed one says so, with Google's reason
      if (res?.result?.ok === false) throw new Error(res.result.error ?? "not refreshed");
    }
    msg.textContent = `${a.email}: ${action} done`;
  } catch (e) {
    msg.textContent = `${a.email}: ${action} failed: ${e.message}`;
  }
  await accounts(true);
}

/** the accounts page shows ACC_PAGE accounts at a time, those matching the search (the server makes views for those only) */
const ACC_PAGE = 50;
const accView = { offset: 0, q: "" };

async function accounts(force) {
  const page = () => api(`admin/pool?offset=${accView.offset}&limit=${ACC_PAGE}&q=${encodeURIComponent(accView.q)}`);
  let view = await page();
  if (accView.offset > 0 && accView.offset >= view.total) {
    // the page emptied (accounts removed, a narrower search): back to the last page there is
    accView.offset = Math.max(0, Math.floor((view.total - 1) / ACC_PAGE) * ACC_PAGE);
    view = await page();
  }
  const key = JSON.stringify([accView, view.total, view.accounts]);
  if (!force && key === accountsSeen) return; // unchanged: keep the DOM (and the keyboard focus)
  accountsSeen = key;
  const pager = document.querySelector(".pager");
  pager.hidden = view.total <= ACC_PAGE && accView.offset === 0;
  $("acc-range").textContent = view.total
    ? `${num(accView.offset + 1)}–${num(accView.offset + view.accounts.length)} of ${num(view.total)}`
    : "none";
  $("acc-prev").disabled = accView.offset === 0;
  $("acc-next").disabled = accView.offset + view.accounts.length >= view.total;
  const focused = document.activeElement && document.activeElement.dataset.focus;
  const models = [...new Set(view.accounts.flatMap((a) => Object.keys(a.quota || {})))].sort();
  const list = $("acc-list");
  list.replaceChildren(
    ...view.accounts.map((a) => {
      const btn = (action, label, cls) =>
        el("button", { type: "button", class: cls, "data-focus": `${a.id}:${action}`, onclick: () => accountAction(a, action) }, label);
      return el(
        "article",
        { class: "account", "data-email": a.email },
        el("h3", {}, a.email, " ", el("span", { class: `badge ${a.state}` }, a.state.replace("_", " "))),
        el(
          "div",
          { class: "meta" },
          [
            a.tier && `tier ${a.tier}`,
            a.projectId ? `project ${a.projectId}` : "no project yet",
            since(a.lastUsedAt, "last used "),
            `${num(a.requests)} requests`,
            `${num(a.failures)} failures`,
            `${a.sessionBindings} sessions`,
          ]
            .filter(Boolean)
            .flatMap((x, i) => (i ? [" · ", x] : [x])),
        ),
        a.disabledReason ? el("p", { class: "error" }, `why: ${a.disabledReason}`) : null,
        a.verificationUrl
          ? el(
              "p",
              {},
              el("a", { href: a.verificationUrl, target: "_blank", rel: "noopener noreferrer" }, "verify this account with Google"),
            )
          : null,
        quotaBars(a, models),
        a.cooldowns.length
          ? el(
              "ul",
              { class: "cooldowns" },
              a.cooldowns.map((c) =>
                el("li", {}, `${c.model === "*" ? "every model" : c.model}: ${c.reason}, `, countdown(c.until, "ends in ")),
              ),
            )
          : null,
        el(
          "div",
          { class: "actions" },
          a.state === "disabled" ? btn("enable", "Enable") : btn("disable", "Disable"),
          btn("refresh", "Refresh now"),
          btn("remove", "Remove", "danger"),
        ),
      );
    }),
  );
  if (!view.accounts.length)
    list.append(el("p", { class: "muted" }, accView.q ? `No account matches “${accView.q}”.` : "No accounts yet: add one below."));
  if (focused) document.querySelector(`[data-focus="${CSS.escape(focused)}"]`)?.focus();
}

let oauthState = "";

function setupAccounts() {
  let typing;
  $("acc-q").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      accView.q = $("acc-q").value.trim();
      accView.offset = 0;
      void accounts(true);
    }, 250);
  });
  $("acc-prev").addEventListener("click", () => {
    accView.offset = Math.max(0, accView.offset - ACC_PAGE);
    void accounts(true);
  });
  $("acc-next").addEventListener("click", () => {
    accView.offset += ACC_PAGE;
    void accounts(true);
  });
  $("acc-refresh-all").addEventListener("click", async () => {
    $("acc-msg").textContent = "refreshing…";
    try {
      const r = await api("admin/accounts/refresh", { method: "POST" });
      // a count, then only the failures by name: a pool of fifty is not one line of fifty "ok"s
      const failed = r.results.filter((x) => !x.ok);
      $("acc-msg").textContent = r.results.length
        ? [`${r.results.length - failed.length} of ${r.results.length} refreshed`, ...failed.map((x) => `${x.email}: ${x.error}`)].join(
            "; ",
          )
        : "no accounts";
    } catch (e) {
      $("acc-msg").textContent = e.message;
    }
    await accounts(true);
  });
  $("acc-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("acc-token");
    $("acc-msg").textContent = "checking the token with Google…";
    try {
      const r = await api("admin/accounts", { method: "POST", body: { refreshToken: input.value } });
      $("acc-msg").textContent = `${r.account.email} ${r.created ? "added" : "updated"}`;
      input.value = "";
    } catch (err) {
      $("acc-msg").textContent = err.message;
    }
    await accounts(true);
  });
  $("oauth-start").addEventListener("click", async () => {
    try {
      const r = await api("admin/oauth/start", { method: "POST", body: {} });
      oauthState = r.state;
      $("oauth-link").replaceChildren(
        el("a", { href: r.url, target: "_blank", rel: "noopener noreferrer" }, "Open Google's sign-in page"),
        ` (expires ${time(Date.parse(r.expiresAt))})`,
      );
      window.open(r.url, "_blank", "noopener");
      watchLogin(r.state, Date.parse(r.expiresAt));
    } catch (e) {
      $("acc-msg").textContent = e.message;
    }
  });
  $("acc-oauth").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await api("admin/oauth/complete", {
        method: "POST",
        body: { redirectUrl: $("oauth-url").value, ...(oauthState ? { state: oauthState } : {}) },
      });
      loginEnded(`${r.account.email} ${r.created ? "added" : "updated"}`);
    } catch (err) {
      $("acc-msg").textContent = err.message;
    }
    await accounts(true);
  });
}

/** a login finished elsewhere: its message, the panel emptied */
function loginEnded(message) {
  oauthState = "";
  $("acc-msg").textContent = message;
  $("oauth-url").value = "";
  $("oauth-link").textContent = "";
}

/**
 * When Google's redirect reaches this gateway (/oauth-callback, the browser on this machine), the login
 * ends in that tab: ask every 2 s how it stands, so this page says so too (nothing to paste then).
 */
async function watchLogin(state, expiresAt) {
  while (oauthState === state) {
    await new Promise((r) => setTimeout(r, 2000));
    if (oauthState !== state) return;
    // asked no longer than the login lives (the API may refuse meanwhile: a session that ended, say)
    if (Date.now() > expiresAt + 5000) return loginEnded("the sign-in expired: start again");
    let s;
    try {
      s = await api(`admin/oauth/status?state=${encodeURIComponent(state)}`);
    } catch {
      continue;
    }
    if (oauthState !== state || s.status === "pending") continue;
    if (s.status === "done") loginEnded(`${s.email} ${s.created ? "added" : "updated"}`);
    else if (s.status === "failed") loginEnded(`sign-in failed: ${s.error}`);
    else loginEnded("the sign-in expired: start again");
    await accounts(true);
  }
}

// ---- usage ----

async function usage() {
  const q = new URLSearchParams({ range: $("u-range").value, split: $("u-split").value });
  if ($("u-bucket").value) q.set("bucket", $("u-bucket").value);
  const u = await api(`usage?${q}`);
  const groups = [...new Set(u.rows.map((r) => r.split))].sort();
  const at = new Map(u.buckets.map((b, i) => [b, i]));
  const series = (value) =>
    groups.map((g) => {
      const values = u.buckets.map(() => 0);
      for (const r of u.rows) if (r.split === g && at.has(r.group)) values[at.get(r.group)] += value(r);
      return { name: g, values };
    });
  const days = spanDays(u.buckets);
  const short = (l) => bucketName(l, days);
  const full = (l) => (l.length === 10 ? `${l} (UTC)` : bucketName(l, true));
  const tokens = (r) => r.input + r.output + r.thinking;
  barChart(
    $("u-req-chart"),
    u.buckets,
    series((r) => r.requests),
    { title: `requests by ${u.bucket}`, short, full },
  );
  barChart($("u-tok-chart"), u.buckets, series(tokens), { title: `tokens by ${u.bucket}`, short, full });
  const sum = (g) =>
    u.rows
      .filter((r) => r.split === g)
      .reduce(
        (s, r) => ({
          requests: s.requests + r.requests,
          errors: s.errors + r.errors,
          input: s.input + r.input,
          output: s.output + r.output,
          thinking: s.thinking + r.thinking,
          cached: s.cached + r.cached,
        }),
        { requests: 0, errors: 0, input: 0, output: 0, thinking: 0, cached: 0 },
      );
  const cells = (vals) => vals.map((v) => el("td", { class: "num" }, typeof v === "number" ? num(v) : v));
  table(
    $("u-req-table"),
    [u.split, n("requests"), n("errors"), n("error rate")],
    groups.map((g) => {
      const s = sum(g);
      return el(
        "tr",
        {},
        el("td", {}, g),
        cells([s.requests, s.errors, s.requests ? `${Math.round((100 * s.errors) / s.requests)} %` : "–"]),
      );
    }),
  );
  table(
    $("u-tok-table"),
    [u.split, n("input"), n("output"), n("thinking"), n("cached"), n("total")],
    groups.map((g) => {
      const s = sum(g);
      return el("tr", {}, el("td", {}, g), cells([s.input, s.output, s.thinking, s.cached, tokens(s)]));
    }),
  );
}

// ---- keys ----

const limit = (v) => (v === null || v === undefined ? "–" : num(v));

/** revoked, expired (as `keys list` says; Edit can give it a new expiry) or active */
function keyState(k) {
  if (k.revokedAt) return el("span", { class: "badge disabled" }, "revoked");
  if (k.expiresAt && k.expiresAt <= Date.now()) return el("span", { class: "badge needs_verification" }, "expired");
  return el("span", { class: "badge active" }, "active");
}

async function keys() {
  const list = await api("admin/keys");
  // the table is rebuilt (every 10 s, and after each request): the focused button keeps the focus
  const focused = document.activeElement && document.activeElement.dataset.focus;
  table(
    $("keys-table"),
    [
      "name",
      "prefix",
      "models",
      n("req/min"),
      n("tok/min"),
      n("in flight"),
      n("tok/day"),
      n("tok/month"),
      "expires",
      n("tokens today"),
      "state",
      "",
    ],
    list.map((k) =>
      el(
        "tr",
        { "data-key": k.name },
        el("td", {}, k.name),
        el("td", {}, el("code", {}, `${k.prefix}…`)),
        el("td", {}, k.models ? k.models.join(", ") : "any"),
        [k.rpm, k.tpm, k.concurrency, k.dailyTokens, k.monthlyTokens].map((v) => el("td", { class: "num" }, limit(v))),
        el("td", {}, k.expiresAt ? expiryText(k.expiresAt) : "never"),
        el("td", { class: "num" }, num(k.tokensToday)),
        el("td", {}, keyState(k)),
        el(
          "td",
          {},
          k.revokedAt
            ? ""
            : [
                el("button", { type: "button", "data-focus": `${k.id}:edit`, onclick: () => editKey(k) }, "Edit"),
                " ",
                el(
                  "button",
                  {
                    type: "button",
                    class: "danger",
                    "data-focus": `${k.id}:revoke`,
                    onclick: async () => {
                      if (!confirm(`Revoke the key "${k.name}"? Clients using it get 401 from now on.`)) return;
                      try {
                        await api(`admin/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
                        $("k-msg").textContent = `${k.name} revoked`;
                      } catch (e) {
                        $("k-msg").textContent = e.message;
                      }
                      await keys();
                    },
                  },
                  "Revoke",
                ),
              ],
        ),
      ),
    ),
  );
  if (focused) document.querySelector(`[data-focus="${CSS.escape(focused)}"]`)?.focus();
}

const LIMIT_FIELDS = [
  ["k-rpm", "rpm"],
  ["k-tpm", "tpm"],
  ["k-concurrency", "concurrency"],
  ["k-daily", "dailyTokens"],
  ["k-monthly", "monthlyTokens"],
];

/** to the minute, UTC; a time stored before dates were checked may be past any date */
function expiryText(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? "after 9999" : d.toISOString().slice(0, 16).replace("T", " ");
}

function editKey(k) {
  $("k-id").value = k.id;
  $("k-name").value = k.name;
  $("k-models").value = k.models ? k.models.join(", ") : "";
  for (const [id, f] of LIMIT_FIELDS) $(id).value = k[f] ?? "";
  const d = new Date(k.expiresAt ?? NaN);
  $("k-expires").value = Number.isNaN(d.getTime()) ? "" : d.toISOString();
  // sent only when changed: an expired key's other limits can still be edited
  $("k-expires").dataset.was = $("k-expires").value;
  $("k-form-title").textContent = `Edit the key "${k.name}"`;
  $("k-submit").textContent = "Save";
  $("k-cancel").hidden = false;
  $("k-name").focus();
}

function resetKeyForm() {
  $("key-form").reset();
  $("k-id").value = "";
  $("k-form-title").textContent = "Create a key";
  $("k-submit").textContent = "Create";
  $("k-cancel").hidden = true;
}

function setupKeys() {
  $("k-cancel").addEventListener("click", resetKeyForm);
  $("key-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = $("k-id").value;
    const body = {
      name: $("k-name").value.trim(),
      models: $("k-models").value.trim() || null,
      expires: $("k-expires").value.trim() || null,
    };
    if (id && $("k-expires").value === $("k-expires").dataset.was) delete body.expires;
    // digits only, as the CLI takes them (Number() read 1e3 as 1000, and rounded past 2^53 without a word)
    for (const [field, f] of LIMIT_FIELDS) {
      const typed = $(field).value.trim();
      const n = Number(typed);
      if (typed !== "" && (!/^\d+$/.test(typed) || !Number.isSafeInteger(n))) {
        $("k-msg").textContent =
          `${$(field).labels?.[0]?.textContent?.trim() || f}: a whole number of at most ${Number.MAX_SAFE_INTEGER} is needed, got ${typed}`;
        $(field).focus();
        return;
      }
      body[f] = typed === "" ? null : n;
    }
    try {
      if (id) {
        await api(`admin/keys/${encodeURIComponent(id)}`, { method: "PATCH", body });
        $("k-msg").textContent = `${body.name} saved`;
      } else {
        const created = await api("admin/keys", { method: "POST", body });
        $("k-secret").textContent = created.key;
        $("k-created").hidden = false;
        $("k-copy").focus();
        $("k-msg").textContent = `${body.name} created`;
      }
      resetKeyForm();
    } catch (err) {
      $("k-msg").textContent = err.message;
    }
    await keys();
  });
  $("k-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("k-secret").textContent);
      $("k-msg").textContent = "copied";
    } catch {
      getSelection().selectAllChildren($("k-secret")); // no clipboard (plain http): select it for Ctrl+C
      $("k-msg").textContent = "selected: press Ctrl+C";
    }
  });
  $("k-done").addEventListener("click", () => {
    $("k-secret").textContent = ""; // the key leaves the page
    $("k-created").hidden = true;
  });
}

// ---- live log ----

const liveRows = [];
const LIVE_MAX = 200;

function liveRow(r, fresh) {
  const ok = r.status < 400;
  return el(
    "tr",
    { class: fresh ? "fresh" : undefined },
    el("td", {}, time(r.at)),
    el("td", {}, r.keyName),
    el("td", {}, r.account || "–"),
    el("td", { title: r.upstreamModel || "" }, r.model || "–"),
    el("td", { class: ok ? "status-ok" : "status-err", title: r.errorClass || "" }, String(r.status)),
    el("td", { class: "num" }, `${num(r.input)} / ${num(r.output + r.thinking)}`),
    el("td", { class: "num" }, `${Math.round(r.latencyMs)} ms`),
    el("td", { class: "num" }, r.ttfbMs === null ? "–" : `${Math.round(r.ttfbMs)} ms`),
  );
}

let refreshSoon;

function startLive() {
  const body = $("live-table").tBodies[0];
  const es = new EventSource("/ui/api/live");
  es.addEventListener("recent", (e) => {
    liveRows.length = 0;
    liveRows.push(...JSON.parse(e.data));
    body.replaceChildren(
      ...liveRows
        .slice()
        .reverse()
        .map((r) => liveRow(r, false)),
    );
    $("live-state").textContent = "connected";
  });
  es.addEventListener("request", (e) => {
    const r = JSON.parse(e.data);
    liveRows.push(r);
    body.prepend(liveRow(r, true));
    while (liveRows.length > LIVE_MAX) {
      liveRows.shift();
      body.lastElementChild?.remove();
    }
    // the other pages follow a new request within a second
    clearTimeout(refreshSoon);
    refreshSoon = setTimeout(() => current !== "live" && document.visibilityState !== "hidden" && load(current), 1000);
  });
  es.onerror = () => {
    $("live-state").textContent = "reconnecting…";
    // the browser gives up on an answer that is no stream (a 401 once the session ended): a data call
    // then tells, and a signed-out one returns to the sign-in form
    if (es.readyState === EventSource.CLOSED) void api("admin/pool?limit=1").catch(() => {});
  };
  return es;
}

// ---- pages ----

const PAGES = { overview: [overview, 5000], accounts: [accounts, 5000], usage: [usage, 30000], keys: [keys, 10000], live: [null, 0] };
let current = "";
let timer;

async function load(page) {
  const [fn] = PAGES[page];
  if (!fn) return;
  try {
    await fn();
    status(`updated ${time(Date.now())}`);
  } catch (e) {
    if (e.message !== "signed out") status(e.message, true);
  }
}

function show() {
  const page = PAGES[location.hash.slice(1)] ? location.hash.slice(1) : "overview";
  current = page;
  for (const s of document.querySelectorAll("[data-page]")) s.hidden = s.dataset.page !== page;
  for (const a of document.querySelectorAll("header nav a"))
    (a.toggleAttribute("aria-current", false), a.getAttribute("href") === `#${page}` && a.setAttribute("aria-current", "page"));
  clearInterval(timer);
  accountsSeen = "";
  void load(page);
  const every = PAGES[page][1];
  if (every) timer = setInterval(() => document.visibilityState === "visible" && load(page), every);
}

function start() {
  setupAccounts();
  setupKeys();
  $("usage-form").addEventListener("change", () => load("usage"));
  const live = startLive();
  $("signout").addEventListener("click", async () => {
    live.close();
    await fetch("/ui/logout", { method: "POST", credentials: "same-origin" }).catch(() => {});
    location.replace("/ui");
  });
  window.addEventListener("hashchange", show);
  setInterval(tick, 1000);
  show();
}

start();
