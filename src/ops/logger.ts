import { pino, type Logger } from 'pino';

/**
 * One JSON line per log event. Secrets never reach the log: the Authorization header and anything
 * named like a key or password are redacted at the source.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'herald' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.pass', '*.apiKey', '*.api_key', 'smtpRelay', 'databaseUrl', '*.databaseUrl', '*.connectionString'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
