// The server's token, for a server that protects its queries (`--protect-queries`): asked once,
// kept in this tab's sessionStorage (gone when the tab closes), sent as `Authorization: Bearer`
// on every data request. A server without protected queries never answers 401, so it never asks.
const KEY = 'strata-token'
// After a second refusal the page stops asking (until a reload): no prompt on every refresh.
let gaveUp = false

export function authHeaders() {
  const token = sessionStorage.getItem(KEY)
  return token ? { authorization: `Bearer ${token}` } : {}
}

/** Asks for the token (after a 401); false when the user cancels. */
export function askToken(retry) {
  if (gaveUp) return false
  if (retry) gaveUp = true
  const token = window.prompt(
    retry ? 'That token was refused. The server’s token:' : 'This Strata server needs its token:',
  )
  if (!token) return false
  sessionStorage.setItem(KEY, token.trim())
  return true
}

export function hasToken() {
  return sessionStorage.getItem(KEY) !== null
}

/** fetch with the token; on 401 asks for it (once per call) and tries again. */
export async function fetchWithToken(url, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, { ...init, headers: { ...init.headers, ...authHeaders() } })
    if (response.status !== 401 || attempt > 0 || !askToken(hasToken())) return response
  }
}

/**
 * Server-sent events over fetch, for when a token must be sent (EventSource cannot send headers).
 * Calls on[event](data) per message; resolves when the stream ends.
 */
export async function readEventStream(response, on) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const message = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      const data = []
      for (const line of message.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      if (data.length > 0) on[event]?.({ data: data.join('\n') })
      end = buffer.indexOf('\n\n')
    }
  }
}
