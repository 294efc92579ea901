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

// `scheme://user:password@host` → `scheme://user:***@host`, for every URL in the text: the one
// rule for the CLI's messages, the PostgreSQL store's and the scrubbing of logs. The user may be
// empty (`postgres://:pw@host`), and the password runs to the last `@` before the next `/` on
// its line, as a URL parser reads it, so a raw `@` or space in a password is hidden too. On the
// safe side: a later `@` on the same line with no `/` between hides the text up to it as well.
const URL_PASSWORD = /(\/\/[^:/@\r\n]*):[^/\r\n]*@/g

/** The text with the password of every URL in it replaced by ***. */
export function redactUrl(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@')
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
