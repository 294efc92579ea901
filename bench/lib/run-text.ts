// A child process run to completion (killed after timeoutMs); resolves with stdout and stderr.
import { spawn } from 'node:child_process'

export function runText(command: string, args: string[], timeoutMs: number, input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`${command} exited ${code}: ${out.slice(-2000)}`))
    })
    child.stdin.end(input)
  })
}
