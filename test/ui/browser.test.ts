// The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a real gateway
// over the simulator: sign-in, accounts with quota bars, disable / enable, a key made and revoked, a
// request seen in the live log and the usage chart, refusals, and not one request to another host. The
// same run writes the README's screenshots (docs/screenshots/).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startStack, type Stack } from "../helpers/stack";
import { until, userText } from "../helpers/util";
import { NO_LIMITS } from "../../src/keys/limits-input";

const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(import.meta.dir, "..", "..", "docs", "screenshots");
const present = existsSync(CHROMIUM);

if (!present && process.env.CI === "true")
  test("Chromium is installed (CI installs Debian's chromium)", () => {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium or set SWITCHYARD_CHROMIUM`);
  });

let stack: Stack;
let userDir: string;
let context: BrowserContext;
let page: Page;
/** every URL the browser asked for, and those that were not loopback */
const seen: string[] = [];
const outside: string[] = [];

beforeAll(async () => {
  if (!present) return;
  stack = await startStack({
    delays: false,
    accounts: [
      { email: "ada@example.com", name: "Ada" },
      { email: "grace@example.com", name: "Grace", quota: { "gemini-2.5-flash": 0.42, "gemini-3-flash": 0.08, "claude-sonnet-4-6": 0.63 } },
      { email: "linus@example.com", name: "Linus", tier: "standard-tier", quota: { "*": 0.75 } },
    ],
  });
  userDir = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
  context = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    // half an hour off UTC: a chart labelled in UTC cannot pass for local time
    timezoneId: "Asia/Kolkata",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    seen.push(url.href);
    if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") {
      outside.push(url.href);
      return route.abort();
    }
    return route.continue();
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("dialog", (d) => void d.accept()); // the confirmations (remove, revoke)
}, 30_000);

afterAll(async () => {
  await context?.close();
  if (userDir) rmSync(userDir, { recursive: true, force: true });
  await stack?.stop();
});

const shot = async (name: string) => {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
};

const ask = (model: string, key = stack.apiKey) =>
  fetch(`${stack.url}/v1beta/models/${model}:generateContent`, {
    method: "POST",
    headers: { "x-goog-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(userText("hello")),
  }).then((r) => (expect(r.status).toBe(200), r.text()));

test.skipIf(!present)(
  "sign in, accounts, keys, live log, usage — and nothing leaves for another host",
  async () => {
    // no session: the data is refused, the page is the sign-in form
    const refused = await page.goto(`${stack.url}/ui/api/admin/accounts`);
    expect(refused!.status()).toBe(401);
    expect(await refused!.text()).not.toContain("example.com");
    await page.goto(`${stack.url}/ui`);
    await page.waitForSelector("#signin");
    // a wrong key is refused
    await page.fill("#key", "sk-not-the-key");
    await page.press("#key", "Enter");
    await page.waitForSelector("#error:has-text('invalid admin key')");
    expect(page.url()).toBe(`${stack.url}/ui`);
    await page.fill("#key", "");
    await shot("signin");

    // the right key: the dashboard, keyboard only
    await page.fill("#key", stack.adminKey);
    await page.press("#key", "Enter");
    await page.waitForSelector("#ov-cards .card");
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "switchyard_ui")).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/ui" });

    // accounts: every simulator account, with quota bars; unknown never shown as 100 %
    await page.click("a[href='#accounts']");
    for (const a of stack.accounts) await page.waitForSelector(`article[data-email='${a.email}']`);
    const grace = page.locator("article[data-email='grace@example.com']");
    expect(await grace.locator("[role=meter][aria-label='gemini-2.5-flash: 42 % left']").count()).toBe(1);
    expect(await grace.locator("text=/resets in/").count()).toBeGreaterThan(0);
    expect(await page.locator("article[data-email='linus@example.com'] [role=meter][aria-label$='75 % left']").count()).toBeGreaterThan(0);

    // a quota never fetched, or a model missing from it, reads "unknown", never 100 % (the pool's answer
    // is altered in the browser: the simulator always reports every model)
    await page.route("**/ui/api/admin/pool?*", async (route) => {
      const real = await route.fetch();
      const view = await real.json();
      view.accounts[0].quota = null;
      delete view.accounts[1].quota["gemini-2.5-pro"];
      await route.fulfill({ response: real, json: view });
    });
    await page.click("#acc-refresh-all");
    await page.waitForSelector("article[data-email='ada@example.com'] [role=meter]:has-text('unknown (not fetched yet)')");
    expect(await page.locator("article[data-email='ada@example.com'] [role=meter]").count()).toBe(1);
    expect(await grace.locator("[role=meter][aria-label='gemini-2.5-pro: quota unknown']").textContent()).toBe("unknown");
    await page.unroute("**/ui/api/admin/pool?*");
    await page.click("#acc-refresh-all");
    await page.waitForSelector("article[data-email='ada@example.com'] [role=meter][aria-label='gemini-2.5-pro: 100 % left']");

    // disable and enable one
    const ada = page.locator("article[data-email='ada@example.com']");
    await ada.locator("button:has-text('Disable')").click();
    await ada.locator(".badge.disabled").waitFor();
    expect(stack.pool.get("ada@example.com")!.state).toBe("disabled");
    await shot("accounts");
    await ada.locator("button:has-text('Enable')").click();
    await ada.locator(".badge.active").waitFor();
    expect(stack.pool.get("ada@example.com")!.state).toBe("active");
    // a refresh Google refuses says so, with its reason (it said "refresh done")
    stack.sim.addFault({ kind: "internal_500", method: "fetchAvailableModels", email: "ada@example.com", times: 2 });
    await ada.locator("button:has-text('Refresh now')").click();
    await page.waitForSelector("#acc-msg:has-text('ada@example.com: refresh failed')");

    // add an account by pasting its refresh token
    const added = stack.sim.addAccount({ email: "hedy@example.com", name: "Hedy" });
    await page.fill("#acc-token", added.refreshToken);
    await page.press("#acc-token", "Enter");
    await page.waitForSelector("#acc-msg:has-text('hedy@example.com added')");
    await page.waitForSelector("article[data-email='hedy@example.com'] [role=meter]");
    expect(await page.inputValue("#acc-token")).toBe("");

    // and by Google's sign-in from a "remote" browser: Google's redirect is not followed (as on another
    // machine, where it does not load); its address is pasted back
    let redirected = "";
    await context.route(`${stack.sim.url}/o/oauth2/**`, async (route) => {
      const res = await route.fetch({ maxRedirects: 0 });
      redirected = res.headers()["location"] ?? "";
      await route.fulfill({ status: 200, contentType: "text/plain", body: "Google redirected" });
    });
    const popup = context.waitForEvent("page");
    await page.click("#oauth-start");
    await until(() => redirected !== "", "Google's redirect");
    await (await popup).close();
    await page.fill("#oauth-url", redirected);
    await page.click("#acc-oauth button[type=submit]");
    await page.waitForSelector("#acc-msg:has-text('ada@example.com updated')");

    // and from a browser on this machine: Google's redirect reaches the gateway's /oauth-callback in the
    // sign-in tab, and this page notices by itself (nothing to paste)
    await context.unroute(`${stack.sim.url}/o/oauth2/**`);
    await page.evaluate(() => (document.getElementById("acc-msg")!.textContent = ""));
    const signIn = context.waitForEvent("page");
    await page.click("#oauth-start");
    const tab = await signIn;
    await tab.waitForSelector("text=/Account ada@example.com updated/");
    await tab.close();
    await page.waitForSelector("#acc-msg:has-text('ada@example.com updated')");
    expect(await page.textContent("#oauth-link")).toBe("");

    // keys: create (shown once), then revoke
    await page.click("a[href='#keys']");
    await page.fill("#k-name", "browser-key");
    await page.fill("#k-rpm", "60");
    await page.fill("#k-daily", "200000");
    await page.click("#k-submit");
    await page.waitForSelector("#k-created:not([hidden])");
    const secret = (await page.textContent("#k-secret"))!;
    expect(secret).toStartWith("sk-sy-");
    await page.waitForSelector("tr[data-key='browser-key']");
    await ask("gemini-2.5-flash", secret); // the new key works at once
    // a limit that is no plain whole number is refused, naming the field, before anything is sent
    await page.fill("#k-name", "ci");
    await page.fill("#k-rpm", "1e3");
    await page.click("#k-submit");
    await page.waitForSelector("#k-msg:has-text('Requests / min: a whole number')");
    await page.fill("#k-rpm", "");
    await page.click("#k-submit");
    await page.waitForSelector("tr[data-key='ci']");
    // the table is rebuilt on its own (a poll, a request): a focused button keeps the focus
    await page.locator("tr[data-key='ci'] button:has-text('Edit')").focus();
    await page.evaluate("keys()");
    expect(await page.evaluate("document.activeElement?.dataset.focus ?? ''")).toEndWith(":edit");
    await shot("keys");
    await page.click("#k-done");
    expect(await page.textContent("body")).not.toContain(secret);
    // a key past its expiry (made where no form can: a date in the past is refused) shows up at the next reload
    const lapsedAt = Date.now() - 60_000;
    stack.ctx.keys!.book.create("lapsed", { ...NO_LIMITS, expiresAt: lapsedAt });
    await page.locator("tr[data-key='browser-key'] button:has-text('Revoke')").click();
    await page.locator("tr[data-key='browser-key'] .badge:has-text('revoked')").waitFor();
    // past its expiry: said so (as `keys list` does), not "active"
    expect(await page.locator("tr[data-key='lapsed'] .badge").textContent()).toBe("expired");
    // its other limits can still be edited: the unchanged expiry is not sent again
    await page.locator("tr[data-key='lapsed'] button:has-text('Edit')").click();
    await page.fill("#k-rpm", "30");
    await page.click("#k-submit");
    await page.waitForSelector("#k-msg:has-text('lapsed saved')");
    expect(stack.ctx.keys!.book.list().find((k) => k.name === "lapsed")).toMatchObject({ rpm: 30, expiresAt: lapsedAt });
    const gone = await fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": secret, "content-type": "application/json" },
      body: JSON.stringify(userText("hello")),
    });
    expect(gone.status).toBe(401);

    // a request through the gateway appears in the live log as it happens
    await page.click("a[href='#live']");
    await page.waitForSelector("#live-state:has-text('connected')");
    await ask("gemini-3-flash");
    await page.waitForSelector("#live-table tbody tr:has-text('gemini-3-flash')");
    const row = page.locator("#live-table tbody tr").first();
    expect(await row.textContent()).toContain("config");
    expect(await row.textContent()).toContain("200");
    for (const m of ["gemini-2.5-flash", "claude-sonnet-4-6", "gemini-3-flash"]) await ask(m);
    await page.waitForSelector("#live-table tbody tr:has-text('claude-sonnet-4-6')");
    await shot("live");

    // usage: the chart follows a new request without a reload
    await page.click("a[href='#usage']");
    await page.waitForSelector("#u-req-chart rect");
    const bars = () => page.locator("#u-req-chart rect title").allTextContents();
    await page.selectOption("#u-split", "key");
    await page.waitForSelector("#u-req-table td:has-text('config')");
    expect((await bars()).some((t) => t.includes("browser-key"))).toBe(true);
    await page.selectOption("#u-split", "model");
    await page.waitForSelector("#u-req-table td:has-text('claude-sonnet-4-6')");
    const before = (await bars()).join();
    await ask("gemini-2.5-flash-lite");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#u-req-chart rect title")].some((t) => t.textContent!.includes("gemini-2.5-flash-lite")),
    );
    expect((await bars()).join()).not.toBe(before);
    await shot("usage");

    // the overview: counts, requests per minute, serving now, tokens per model
    await page.click("a[href='#overview']");
    await page.waitForSelector("#ov-serving .badge.serving");
    await page.waitForSelector("#ov-models td:has-text('gemini-3-flash')");
    expect(await page.textContent("#ov-cards")).toContain("4 / 4");
    // the per-minute chart speaks the browser's time, as the live log does
    const minutes = await page.locator("#ov-minutes rect title").allTextContents();
    const local = (t: number) => new Date(t).toLocaleTimeString("en-GB", { timeZone: "Asia/Kolkata", hour: "2-digit", minute: "2-digit" });
    const recent = new Set(Array.from({ length: 10 }, (_, i) => local(Date.now() - i * 60_000)));
    expect(
      minutes.some((t) => recent.has(t.slice(0, 5))),
      minutes.join(),
    ).toBe(true);
    await shot("overview");

    // on a phone the accounts page is one column
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click("a[href='#accounts']");
    await page.waitForSelector("article[data-email='ada@example.com']");
    // "last used" keeps ageing between changes (the page's ticker, not a new fetch)
    const usedText = await page.locator("article [data-since]").first().textContent();
    await page.waitForFunction((was) => document.querySelector("article [data-since]")?.textContent !== was, usedText);
    const box = (await page.locator("article[data-email='ada@example.com']").boundingBox())!;
    expect(box.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, "accounts-phone.png") });
    await page.setViewportSize({ width: 1280, height: 800 });

    // signing out: the form again, the data refused
    await page.click("#signout");
    await page.waitForSelector("#signin");
    const after = await page.goto(`${stack.url}/ui/api/overview`);
    expect(after!.status()).toBe(401);

    expect(seen.length).toBeGreaterThan(10);
    expect(outside).toEqual([]);
  },
  120_000,
);

test.skipIf(!present)(
  "a large pool: the accounts page shows 50 at a time, pages through them, and finds one by email",
  async () => {
    for (let i = 0; i < 56; i++)
      await stack.pool.addByRefreshToken(stack.sim.addAccount({ email: `bulk-${String(i).padStart(2, "0")}@example.com` }).refreshToken);
    const total = stack.pool.list().length;
    expect(total).toBeGreaterThan(50);
    await page.goto(`${stack.url}/ui`);
    await page.fill("#key", stack.adminKey);
    await page.press("#key", "Enter");
    await page.waitForSelector("#ov-cards .card");
    await page.click("a[href='#accounts']");
    await page.waitForSelector(`#acc-range:has-text('1–50 of ${total}')`);
    expect(await page.locator("article.account").count()).toBe(50);
    expect(await page.isDisabled("#acc-prev")).toBe(true);
    await page.click("#acc-next");
    await page.waitForSelector(`#acc-range:has-text('51–${total} of ${total}')`);
    expect(await page.locator("article.account").count()).toBe(total - 50);
    expect(await page.isDisabled("#acc-next")).toBe(true);
    // a search starts from the first page, in any case
    await page.fill("#acc-q", "BULK-07");
    await page.locator("article[data-email='bulk-07@example.com']").waitFor();
    await page.waitForSelector(".pager", { state: "hidden" }); // one page: no pager
    expect(await page.locator("article.account").count()).toBe(1);
    expect(await page.textContent("#acc-range")).toBe("1–1 of 1");
    await page.fill("#acc-q", "nobody");
    await page.waitForSelector("#acc-list :text('No account matches')");
    await page.fill("#acc-q", "");
    await page.waitForSelector(`#acc-range:has-text('1–50 of ${total}')`);
    expect(outside).toEqual([]);
  },
  60_000,
);
