// The brokers' log4j2 configuration (properties format: needs no extra jar, unlike Kafka's own
// log4j2.yaml which needs jackson-dataformat-yaml). Each JVM gets -Dkafka.logs.dir pointing at
// its node's logs/ folder, so one file serves every node. Files roll at 20 MB, three kept, so a
// long-lived development cluster does not fill the disk.

const FILES = [
  // name, file, loggers routed there only (additivity off)
  ['server', 'server.log', []],
  ['controller', 'controller.log', ['org.apache.kafka.controller', 'kafka.controller']],
  ['statechange', 'state-change.log', ['state.change.logger']],
] as const

export function log4j2Properties(): string {
  const lines = [
    '# Written by strata kafka start (src/kafka-cluster/log4j.ts); regenerated on every start.',
    'name = strata-kafka',
    'status = warn',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j2 lookup, not a template
    'property.logs = ${sys:kafka.logs.dir}',
    'property.pattern = [%d] %p %m (%c)%n',
  ]
  for (const [name, file] of FILES) {
    const a = `appender.${name}`
    lines.push(
      `${a}.type = RollingFile`,
      `${a}.name = ${name}`,
      `${a}.fileName = \${logs}/${file}`,
      `${a}.filePattern = \${logs}/${file}.%i`,
      `${a}.layout.type = PatternLayout`,
      `${a}.layout.pattern = \${pattern}`,
      `${a}.policies.type = Policies`,
      `${a}.policies.size.type = SizeBasedTriggeringPolicy`,
      `${a}.policies.size.size = 20MB`,
      `${a}.strategy.type = DefaultRolloverStrategy`,
      `${a}.strategy.max = 3`,
    )
  }
  lines.push('rootLogger.level = INFO', 'rootLogger.appenderRef.server.ref = server')
  let n = 0
  for (const [name, , loggers] of FILES) {
    for (const logger of loggers) {
      const l = `logger.l${++n}`
      lines.push(
        `${l}.name = ${logger}`,
        `${l}.level = INFO`,
        `${l}.additivity = false`,
        `${l}.appenderRef.file.ref = ${name}`,
      )
    }
  }
  // Per-request logging is for debugging the broker itself.
  lines.push('logger.request.name = kafka.request.logger', 'logger.request.level = WARN')
  return `${lines.join('\n')}\n`
}
