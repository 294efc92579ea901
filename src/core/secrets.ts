// Secrets (store passwords, SASL passwords, the HTTP token) must never reach a log line, an
// error message, /metrics or /health. Two nets: every place that reads a secret registers it
// here, and every line our logger and the CLI print goes through scrubSecrets, which blanks the
// registered values and the password of any URL (`postgres://user:pass@host` → `user:***@host`).
// The first net catches a secret echoed anywhere (a driver's error quoting its config); the
// second one catches URLs whose secret was never registered.

const registered = new Set<string>()

/** Remembers a secret so scrubSecrets blanks it; too-short values would blank ordinary words. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) registered.add(secret)
}

/** A URL fit for messages: the userinfo password replaced by ***. */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/[^\s:/@]+):[^\s@/]*@/g, '$1:***@')
}

/** The text with every registered secret and every URL password replaced by ***. */
export function scrubSecrets(text: string): string {
  let out = redactUrl(text)
  for (const secret of registered) out = out.replaceAll(secret, '***')
  return out
}

/** The registered secrets and URL passwords of a Postgres-style URL, registered in one go. */
export function registerUrlSecret(url: string | undefined): void {
  if (!url) return
  try {
    const parsed = new URL(url)
    registerSecret(decodeURIComponent(parsed.password))
    if (parsed.password) registerSecret(parsed.password)
    registerSecret(parsed.searchParams.get('password') ?? undefined)
  } catch {
    // Not a URL (a folder for LMDB): nothing secret in it.
  }
}
