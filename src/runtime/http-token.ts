// The HTTP token's rules, checked where a process is started (strata.ts) whoever passes the token:
// the CLI (read from --token-file, STRATA_TOKEN_FILE or STRATA_TOKEN) or a program calling the API.
import { ErrorCodes, invalidInput } from '../core/errors.ts'
import { registerSecret } from '../core/secrets.ts'
import type { HttpAuth } from '../serving/auth.ts'

/** The HTTP auth for a token (undefined: every route open), or an error saying what is wrong. */
export function httpAuthOf(token: string | undefined, protectQueries = false): HttpAuth | undefined {
  if (!token) {
    if (protectQueries) {
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        '--protect-queries needs a token (--token-file or STRATA_TOKEN)',
        { field: 'protect-queries' },
      )
    }
    return undefined
  }
  if (token.length < 16) {
    throw invalidInput(ErrorCodes.INVALID_ARGUMENT, 'the HTTP token must be at least 16 characters', {
      field: 'token-file',
    })
  }
  // What a client can send after `Bearer ` (RFC 6750's b64token): a token with a space or a
  // non-ASCII character would be accepted here and could never authenticate.
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      'the HTTP token may hold only letters, digits and - . _ ~ + / (then = padding): a bearer token cannot carry spaces or other characters',
      { field: 'token-file' },
    )
  }
  registerSecret(token)
  return { token, protectQueries }
}
