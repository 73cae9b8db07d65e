// The client identity: template, host spelling, version discovery with fallback and floor.
import { describe, expect, test } from "bun:test";
import {
  ClientIdentity,
  compareVersions,
  FALLBACK_CLIENT_VERSION,
  fillTemplate,
  findVersion,
  hostPlatform,
} from "../../src/upstream/identity";

const TEMPLATE = "antigravity/{version} {os}/{arch}";
const answer = (body: string, status = 200) => (async () => new Response(body, { status })) as unknown as typeof fetch;

describe("pure parts", () => {
  test.each([
    ["linux", "x64", "linux", "amd64", "linux-x64"],
    ["linux", "arm64", "linux", "arm64", "linux-arm64"],
    ["darwin", "arm64", "darwin", "arm64", "darwin-arm64"],
    ["darwin", "x64", "darwin", "amd64", "darwin"],
    ["win32", "x64", "windows", "amd64", "win32-x64"],
  ])("%s/%s → %s/%s, updater target %s", (platform, arch, os, a, target) => {
    expect(hostPlatform(platform, arch)).toEqual({ os, arch: a, target });
  });

  test.each([
    ['{"url":"https://dl.example/antigravity/stable/2.9.4-5120374825762816/linux-x64/Antigravity.tar.gz"}', "2.9.4"],
    ["1.1.0\n", "1.1.0"],
    ["version: v3.10.2 (build 7)", "3.10.2"],
    ["no digits here", undefined],
    ["1.2", undefined],
    ['{"url":"http://127.0.0.1:4000/download/antigravity/stable/2.9.4-51203/linux-x64/a.tar.gz"}', "2.9.4"],
  ])("findVersion(%p) = %p", (text, v) => expect(findVersion(text)).toBe(v as any));

  test.each([
    ["2.9.1", "2.9.1", 0],
    ["2.10.0", "2.9.9", 1],
    ["1.23.2", "2.9.1", -1],
    ["3.0.0", "2.99.99", 1],
  ])("compareVersions(%s, %s) = %d", (a, b, r) => expect(compareVersions(a, b)).toBe(r));

  test("a template keeps placeholders it does not know", () => {
    expect(fillTemplate("antigravity/cli/{version} {os}/{arch} {x}", { version: "1.1.0", os: "linux", arch: "amd64" })).toBe(
      "antigravity/cli/1.1.0 linux/amd64 {x}",
    );
  });
});

describe("ClientIdentity", () => {
  const host = { platform: "linux", arch: "x64" };

  test("a configured version is used as is and nothing is looked up", async () => {
    let called = 0;
    const id = new ClientIdentity(
      { userAgent: TEMPLATE, clientVersion: "3.1.0", versionUrl: "http://127.0.0.1:1/x" },
      { ...host, fetch: (async () => (called++, new Response("9.9.9"))) as any },
    );
    expect(id.userAgent).toBe("antigravity/3.1.0 linux/amd64");
    expect(await id.refresh()).toBe(false);
    expect(called).toBe(0);
    expect(id.info()).toMatchObject({ source: "configured", version: "3.1.0" });
    expect(id.info().versionUrl).toBeUndefined();
  });

  test("before discovery answers, the built-in fallback; then the discovered version", async () => {
    const id = new ClientIdentity(
      { userAgent: TEMPLATE, versionUrl: "http://updater.test/api/update/{target}/stable/latest" },
      { ...host, fetch: answer('{"url":".../stable/3.2.1-123/linux-x64/a.tar.gz"}') },
    );
    expect(id.info()).toMatchObject({
      source: "fallback",
      version: FALLBACK_CLIENT_VERSION,
      versionUrl: "http://updater.test/api/update/linux-x64/stable/latest",
    });
    expect(await id.refresh()).toBe(true);
    expect(id.userAgent).toBe("antigravity/3.2.1 linux/amd64");
    expect(id.info()).toMatchObject({ source: "discovered", version: "3.2.1" });
    expect(id.info().checkedAt).toBeString();
  });

  test("a failing updater keeps the version in use and says why", async () => {
    const id = new ClientIdentity({ userAgent: TEMPLATE, versionUrl: "http://updater.test/" }, { ...host, fetch: answer("oops", 503) });
    expect(await id.refresh()).toBe(false);
    expect(id.info()).toMatchObject({ source: "fallback", version: FALLBACK_CLIENT_VERSION });
    expect(id.info().note).toContain("HTTP 503");
  });

  test("an updater answer below the built-in version never lowers it", async () => {
    const id = new ClientIdentity({ userAgent: TEMPLATE, versionUrl: "http://updater.test/" }, { ...host, fetch: answer("1.23.2") });
    await id.refresh();
    expect(id.info()).toMatchObject({ source: "fallback", version: FALLBACK_CLIENT_VERSION });
    expect(id.info().note).toContain("1.23.2");
  });

  test("concurrent refreshes share one lookup", async () => {
    let calls = 0;
    const f = (async () => {
      calls++;
      await Bun.sleep(5);
      return new Response("4.0.0");
    }) as unknown as typeof fetch;
    const id = new ClientIdentity({ userAgent: TEMPLATE, versionUrl: "http://updater.test/" }, { ...host, fetch: f });
    const r = await Promise.all([id.refresh(), id.refresh(), id.refresh()]);
    expect(calls).toBe(1);
    expect(r).toEqual([true, true, true]);
  });

  test("an empty versionUrl turns discovery off", async () => {
    const id = new ClientIdentity({ userAgent: TEMPLATE, versionUrl: "" }, host);
    expect(id.discovering).toBe(false);
    expect(await id.refresh()).toBe(false);
  });
});
