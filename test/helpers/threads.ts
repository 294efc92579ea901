// The threads of a process as Linux shows them, for tests of thread priorities.
import { readdirSync, readFileSync } from 'node:fs'

/** The nice value of each thread of this process, by thread id (/proc/self/task/<tid>/stat, field 19). */
export function threadNices(pid: number | 'self' = 'self'): Map<number, number> {
  const nices = new Map<number, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread ended meanwhile (ENOENT: a test failed on it under load)
    }
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    nices.set(Number(tid), Number(fields[16]))
  }
  return nices
}

/** The name of each thread of a process, by thread id (/proc/<pid>/task/<tid>/comm: a Worker's `name`). */
export function threadNames(pid: number | 'self' = 'self'): Map<number, string> {
  const names = new Map<number, string>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      names.set(Number(tid), readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim())
    } catch {} // the thread ended meanwhile
  }
  return names
}
