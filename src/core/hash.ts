// SHA-256 of text. Bun's one-shot hasher: ~0.15 µs for a key, where node:crypto's createHash is ~0.75
// and a CryptoHasher object ~0.5 (a key is hashed on every request; docs/performance.md).

/** the 32-byte digest */
export const sha256 = (text: string): Uint8Array => Bun.SHA256.hash(text) as Uint8Array;

/** the digest as 64 hex digits */
export const sha256Hex = (text: string): string => Bun.SHA256.hash(text, "hex") as string;
