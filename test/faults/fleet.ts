// The Strata processes of the fault suite, one role each (`strata worker <role>`), as a
// supervisor would run them: the nemesis kills one with SIGKILL and restarts it; an exit the
// nemesis did not cause is counted as unexpected (a finding) and the role is started again at
// the next heal, so one crash does not hide the rest of the run.
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const bin = fileURLToPath(new URL('../../bin/strata.js', import.meta.url))

export interface Member {
  name: string
  args: string[]
  child: ChildProcess | undefined
  exited: Promise<void>
  /** Set by kill(): this exit is the nemesis's. */
  killing: boolean
}

export interface UnexpectedExit {
  name: string
  code: number | null
  signal: string | null
  at: number
}

export class Fleet {
  readonly #logDir: string
  readonly #members = new Map<string, Member>()
  readonly unexpected: UnexpectedExit[] = []
  #closing = false

  constructor(logDir: string) {
    this.#logDir = logDir
  }

  add(name: string, args: string[]): void {
    this.#members.set(name, { name, args, child: undefined, exited: Promise.resolve(), killing: false })
  }

  names(): string[] {
    return [...this.#members.keys()]
  }

  alive(name: string): boolean {
    const child = this.#member(name).child
    return child !== undefined && child.exitCode === null && child.signalCode === null
  }

  pid(name: string): number | undefined {
    return this.alive(name) ? this.#member(name).child!.pid : undefined
  }

  /** Spawns the role; its output is appended to <logDir>/<name>.log. */
  start(name: string): void {
    const member = this.#member(name)
    if (this.alive(name)) return
    const fd = openSync(join(this.#logDir, `${name}.log`), 'a')
    const child = spawn(process.execPath, [bin, ...member.args], { stdio: ['ignore', fd, fd] })
    closeSync(fd)
    member.child = child
    member.killing = false
    member.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (!member.killing && !this.#closing) {
          this.unexpected.push({ name, code, signal, at: Date.now() })
        }
        resolve()
      })
    })
  }

  /** SIGKILL, and waits until the process is gone. Returns the pid it killed (undefined if none ran). */
  async kill(name: string): Promise<number | undefined> {
    const member = this.#member(name)
    const child = member.child
    if (!child || !this.alive(name)) return undefined
    member.killing = true
    child.kill('SIGKILL')
    await member.exited
    return child.pid
  }

  /** Starts every member that is not running (killed or crashed). Returns their names. */
  heal(): string[] {
    const started: string[] = []
    for (const name of this.#members.keys()) {
      if (!this.alive(name)) {
        this.start(name)
        started.push(name)
      }
    }
    return started
  }

  async close(): Promise<void> {
    this.#closing = true
    await Promise.all([...this.#members.keys()].map((name) => this.kill(name)))
  }

  #member(name: string): Member {
    const member = this.#members.get(name)
    if (!member) throw new Error(`no fleet member ${name}`)
    return member
  }
}
