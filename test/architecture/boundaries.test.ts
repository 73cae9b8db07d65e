// The layout holds: no import cycle between the folders of src/, the kernel (core/) imports nothing
// else from src/, and no source file or doc points outside the repository.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const SRC = join(ROOT, "src");
const SPEC = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(name) ? [p] : [];
  });
}

/** top-level folder of src/ a file belongs to ("" for files directly in src/) */
const room = (file: string) => {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : "";
};

/** room → rooms it imports (outside itself), with one example import each */
function roomGraph(): Map<string, Map<string, string>> {
  const g = new Map<string, Map<string, string>>();
  for (const f of files(SRC, /\.ts$/)) {
    const from = room(f);
    for (const m of readFileSync(f, "utf8").matchAll(SPEC)) {
      const target = normalize(join(dirname(f), m[1]!));
      if (!target.startsWith(SRC + sep)) continue; // package.json and the like
      const to = room(target.endsWith(".ts") ? target : target + ".ts");
      if (to === from || from === "" || to === "") continue;
      if (!g.has(from)) g.set(from, new Map());
      g.get(from)!.set(to, `${relative(ROOT, f)} → ${m[1]}`);
    }
  }
  return g;
}

function findCycle(g: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "open");
    path.push(n);
    for (const next of g.get(n)?.keys() ?? []) {
      const c = visit(next);
      if (c) return c;
    }
    path.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of g.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe("import boundaries", () => {
  const g = roomGraph();

  test("no cycle between the folders of src/", () => {
    const cycle = findCycle(g);
    const explain = cycle?.slice(1).map((to, i) => g.get(cycle[i]!)!.get(to)!);
    expect(explain ?? []).toEqual([]);
  });

  test("the kernel (core/) imports nothing else from src/", () => {
    expect([...(g.get("core")?.values() ?? [])]).toEqual([]);
  });

  test("the simulator is not imported by the gateway's rooms (only by tools that start it)", () => {
    const users = [...g].filter(([, to]) => to.has("simulator")).map(([from]) => from);
    expect(users.filter((r) => r !== "cli")).toEqual([]);
  });
});

describe("the repository stands alone", () => {
  const texts = [...files(SRC, /\.ts$/), ...files(join(ROOT, "docs"), /\.md$/), join(ROOT, "README.md"), join(ROOT, "ARCHITECTURE.md")];
  test("no comment or doc names a file outside the repository or a machine path", () => {
    const bad: string[] = [];
    for (const f of texts) {
      const text = readFileSync(f, "utf8");
      for (const re of [
        /\/work\//,
        /\/home\/\w+/,
        /\.\.\/shared\//,
        /\bshared\/spec\b/,
        /CONTRACT(\.md)? ?§/,
        /upstream-protocol(\.md)? ?§/,
        /\buser pain \d/i,
        /spec\/[\w-]+\.md/,
      ])
        if (re.test(text)) bad.push(`${relative(ROOT, f)}: ${re}`);
    }
    expect(bad).toEqual([]);
  });
});
