// Antigravity's auto-updater: GET /api/update/{target}/stable/latest. Like the real one it has no
// version field; clients must read the version out of the download url ("…/stable/<version>-<build>/…").
import type { Call } from "./call";
import { json } from "./errors";
import { hashHex } from "./state";

/** a 16-digit build number, fixed per version so repeated calls agree */
export const buildNumber = (version: string) =>
  ((BigInt("0x" + hashHex(`build:${version}`, 16)) % 9_000_000_000_000_000n) + 1_000_000_000_000_000n).toString();

export function updater(call: Call, target: string): Response {
  const version = call.state.gate.latestVersion;
  const path = `antigravity/stable/${version}-${buildNumber(version)}/${target}/Antigravity.tar.gz`;
  return json({
    url: `${call.state.url}/download/${path}`,
    sha256hash: new Bun.CryptoHasher("sha256").update(path).digest("hex"),
    timestamp: call.state.gate.latestSince,
  });
}
