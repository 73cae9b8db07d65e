// The client-identity line of `switchyard version`: what a server started with this configuration
// sends to Google before (and unless) it discovers a newer version. Offline: nothing is looked up.
import type { Config } from "../config/schema";
import { ClientIdentity } from "../upstream/identity";

export function identityLine(config: Config): string {
  const id = new ClientIdentity(config.upstream);
  const i = id.info();
  const where =
    i.source === "configured"
      ? "version fixed by upstream.clientVersion / SWITCHYARD_CLIENT_VERSION"
      : id.discovering
        ? `built-in version; a running server looks up the current one at ${i.versionUrl}`
        : "built-in version; discovery is off (upstream.versionUrl is empty)";
  return `client identity: ${i.userAgent} (${where})`;
}

/** `version` must answer even when the configuration is broken */
export function identityFor(load: () => Config): string {
  try {
    return identityLine(load());
  } catch (e) {
    return `client identity: unknown (${(e as Error).message})`;
  }
}
