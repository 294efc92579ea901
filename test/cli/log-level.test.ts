// How much a process logs, resolved once at the edge (src/cli/settings.ts): --log-level wins over
// STRATA_LOG_LEVEL, --verbose alone is debug, an empty variable counts as unset, and a level
// that is not one of pino's is refused with its code.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveLogLevel, showsStacks } from '../../src/cli/settings.ts'

test('log level: the flag, else the variable, else debug with --verbose, else info', () => {
  assert.equal(resolveLogLevel({}, {}), 'info')
  assert.equal(resolveLogLevel({}, { STRATA_LOG_LEVEL: '' }), 'info')
  assert.equal(resolveLogLevel({ verbose: true }, {}), 'debug')
  assert.equal(resolveLogLevel({}, { STRATA_LOG_LEVEL: 'WARN' }), 'warn')
  assert.equal(resolveLogLevel({ logLevel: 'error' }, { STRATA_LOG_LEVEL: 'debug' }), 'error')
  assert.throws(() => resolveLogLevel({ logLevel: 'loud' }, {}), {
    code: 'STRATA_ERR_INVALID_ARGUMENT',
    message: /--log-level "loud"/,
  })
})

test('a failed command shows its stack with --verbose or a debug level, not otherwise', () => {
  assert.equal(showsStacks({}, {}), false)
  assert.equal(showsStacks({ verbose: true }, {}), true)
  assert.equal(showsStacks({}, { STRATA_LOG_LEVEL: 'debug' }), true)
  assert.equal(showsStacks({}, { STRATA_LOG_LEVEL: 'loud' }), false)
})
