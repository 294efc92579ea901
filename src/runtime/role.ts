// The roles a Strata process can run, in a file of their own: the public API's types
// (strata-options.ts) name them without pulling in the composition's (pipeline.ts), whose
// declarations reach the Kafka client's.
export type Role = 'serve' | 'archiver' | 'speed' | 'batch'
export const ROLES: readonly Role[] = ['speed', 'batch', 'archiver', 'serve']
