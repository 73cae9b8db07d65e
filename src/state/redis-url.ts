// The Redis URL as configured, with SWITCHYARD_REDIS_PASSWORD put in when the URL has none, and the
// same URL with its password hidden, for logs and messages.

/** the URL to connect to: a password in the URL wins over the separate one */
export function redisUrlWith(url: string, password: string | undefined): string {
  if (!password) return url;
  const u = new URL(url);
  if (u.password) return url;
  u.password = password;
  return u.toString();
}

/** the URL with its password replaced by *** (never log a secret) */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "redis://(invalid URL)";
  }
}
