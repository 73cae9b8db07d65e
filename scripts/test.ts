export {};
// `npm test`: runs bun test over test/, passes its output through, and ends with the line CI reads:
// "N passed, N failed" (errors — e.g. a file that crashes at import — count as failures).
const args = process.argv.slice(2);
const proc = Bun.spawn([process.execPath, "test", ...(args.length ? args : ["./test"])], {
  stdout: "inherit",
  stderr: "pipe",
  env: { ...process.env, FORCE_COLOR: "0" },
});

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of proc.stderr) {
  const text = decoder.decode(chunk, { stream: true });
  process.stderr.write(text);
  tail = (tail + text).slice(-20000);
}
const code = await proc.exited;

const num = (re: RegExp) => Number(re.exec(tail)?.[1] ?? 0);
const passed = num(/^\s*(\d+) pass\b/m);
const failed = num(/^\s*(\d+) fail\b/m) + num(/^\s*(\d+) errors?\b/m);
const ok = code === 0 && failed === 0 && passed > 0;
if (passed === 0 && failed === 0) process.stderr.write("no tests ran\n");
console.log(`${passed} passed, ${ok ? failed : Math.max(failed, 1)} failed`);
process.exit(ok ? 0 : 1);
