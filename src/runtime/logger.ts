// Clear, one-line logs for the long-running roles: time, role, message. Errors print their code.
// Every line is scrubbed of secrets (core/secrets.ts) on its way out, whoever composed it.
import { isStrataError } from '../core/errors.ts'
import { scrubSecrets } from '../core/secrets.ts'

export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string, error?: unknown): void
  child(role: string): Logger
}

export function createLogger(
  role = 'strata',
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Logger {
  const line = (level: string, message: string) => {
    const time = new Date().toISOString().slice(11, 23)
    write(scrubSecrets(`${time} ${level} [${role}] ${message}`))
  }
  return {
    info: (message) => line('info ', message),
    warn: (message) => line('warn ', message),
    error: (message, error) => {
      const detail =
        error === undefined
          ? ''
          : isStrataError(error)
            ? `: ${error.message} [${error.code}]`
            : `: ${String((error as Error)?.message ?? error)}`
      line('error', message + detail)
    },
    child: (child) => createLogger(`${role}:${child}`, write),
  }
}
