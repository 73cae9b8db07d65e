// Injected by scripts/build.ts with --define; fall back to package.json when run from source.
declare const SWITCHYARD_VERSION: string | undefined;
declare const SWITCHYARD_COMMIT: string | undefined;

import pkg from "../package.json" with { type: "json" };

export const VERSION: string = typeof SWITCHYARD_VERSION === "string" ? SWITCHYARD_VERSION : pkg.version;
export const COMMIT: string = typeof SWITCHYARD_COMMIT === "string" ? SWITCHYARD_COMMIT : "source";
