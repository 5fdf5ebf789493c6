/**
 * The agent's and the supervisor's log: pino, one JSON line per significant event on stdout
 * (started, peers connected, lost or refused, roles and terms, fault tables, write errors,
 * the --on-elected command, shutdown). Other tools read these lines; keep the `msg` texts stable.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type { Logger };

export function createLogger(base: Record<string, string | number>, level: LogLevel, destination?: DestinationStream): Logger {
  return pino({ base, level, timestamp: pino.stdTimeFunctions.epochTime }, destination ?? pino.destination({ dest: 1, sync: true }));
}
