// `npm run build` → dist/switchyard: one self-contained binary (runtime, code, Swagger UI assets,
// simulator) with the version and commit injected and no .env/bunfig.toml autoload.
import pkg from "../package.json" with { type: "json" };

const commit = (() => {
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" });
    if (r.exitCode !== 0) return "unknown";
    // a build from a tree with changes says so: the commit alone would name code it is not
    const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { stderr: "ignore" }).stdout.toString().trim();
    return r.stdout.toString().trim() + (dirty ? "-dirty" : "");
  } catch {
    return "unknown";
  }
})();

const outfile = process.env.SWITCHYARD_OUTFILE ?? "dist/switchyard";
const cmd = [
  process.execPath,
  "build",
  "src/main.ts",
  "--compile",
  "--minify",
  "--sourcemap",
  "--bytecode",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  `--define=SWITCHYARD_VERSION=${JSON.stringify(pkg.version)}`,
  `--define=SWITCHYARD_COMMIT=${JSON.stringify(commit)}`,
  '--define=process.env.NODE_ENV="production"',
  "--outfile",
  outfile,
];
const t0 = performance.now();
const r = Bun.spawnSync(cmd, { stdout: "inherit", stderr: "inherit" });
if (r.exitCode !== 0) process.exit(r.exitCode ?? 1);
const size = Bun.file(outfile).size;
console.log(
  `built ${outfile} (${(size / 1024 / 1024).toFixed(1)} MiB, version ${pkg.version}, commit ${commit}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
