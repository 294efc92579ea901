// Availability during faults: a query every 200 ms to the serving process (2 s timeout), counted
// as answered (HTTP 200) or not.
export class Prober {
  answered = 0
  failed = 0
  /** Every probe: when it was sent and whether it was answered (for availability per fault). */
  readonly probes: Array<{ at: number; ok: boolean }> = []
  readonly #url: string
  #running: Promise<void> | undefined
  #stop = false

  constructor(serveUrl: string) {
    this.#url = `${serveUrl}/views/events_by_key/k0`
  }

  start(): void {
    this.#stop = false
    this.#running ??= this.#loop()
  }

  async stop(): Promise<void> {
    this.#stop = true
    await this.#running
    this.#running = undefined
  }

  async #loop(): Promise<void> {
    while (!this.#stop) {
      const at = Date.now()
      const ok = await fetch(this.#url, { signal: AbortSignal.timeout(2000) }).then(
        async (res) => {
          await res.arrayBuffer()
          return res.ok
        },
        () => false,
      )
      this.probes.push({ at, ok })
      if (ok) this.answered++
      else this.failed++
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
