// SHA-256 of text and random bytes, from Bun's and the Web Crypto globals: importing node:crypto loads
// Node's stream modules with it, ~15 ms of every start-up (docs/performance.md, "Start-up"). Bun's
// one-shot hasher: ~0.15 µs for a key, where node:crypto's createHash is ~0.75 and a CryptoHasher
// object ~0.5 (a key is hashed on every request).

/** the 32-byte digest */
export const sha256 = (text: string): Uint8Array => Bun.SHA256.hash(text) as Uint8Array;

/** the digest as 64 hex digits */
export const sha256Hex = (text: string): string => Bun.SHA256.hash(text, "hex") as string;

/** `n` random bytes from the system's secure generator */
export const randomBytes = (n: number): Buffer => Buffer.from(crypto.getRandomValues(new Uint8Array(n)));
