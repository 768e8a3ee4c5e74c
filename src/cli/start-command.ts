import { chooseTransport } from '../herald.js';
import type { HeraldConfig } from '../config/settings.js';
import { startHerald, type RunningHerald } from '../herald.js';

/** Time past shutdownGraceMs that closing the store and the log may take before the process exits anyway, ms. */
const SHUTDOWN_MARGIN_MS = 5000;

/** Exits once the log has reached its destination (pino writes stdout synchronously by default; flush covers an asynchronous one). */
function exitAfterFlush(herald: RunningHerald | null, code: number): void {
  try {
    herald?.log.flush();
  } finally {
    process.exit(code);
  }
}

/** Runs the server until SIGTERM or SIGINT, then drains within the configured grace period. */
export async function startCommand(config: HeraldConfig): Promise<number> {
  // Handlers go in before anything starts: a SIGTERM that arrives while Herald is still starting
  // (a supervisor giving up, a quick test) must drain it, not kill it mid-write.
  let herald: RunningHerald | null = null;
  let signals = 0;
  let stopRequested: string | null = null;
  const exit = (code: number): void => exitAfterFlush(herald, code);
  const shutdown = (signal: string): void => {
    signals++;
    if (!herald) {
      stopRequested = signal;
      return;
    }
    if (signals > 1) {
      herald.log.warn({ signal }, 'second signal: exiting now; unfinished deliveries are retried at next start');
      exit(130);
    }
    herald.log.info({ signal, graceMs: herald.config.shutdownGraceMs }, 'draining');
    // The backstop: whatever still holds the process (a store that stopped answering) once the
    // grace period and a margin have passed, it exits, and leases left behind run out or are
    // released at the next start.
    const deadline = setTimeout(() => {
      herald?.log.error({ graceMs: herald.config.shutdownGraceMs }, 'shutdown deadline passed: exiting now; unfinished deliveries are retried at next start');
      exit(1);
    }, herald.config.shutdownGraceMs + SHUTDOWN_MARGIN_MS);
    deadline.unref();
    herald.stop().then(
      () => exit(0),
      (error: unknown) => {
        herald?.log.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  herald = await startHerald({ config });
  process.stdout.write(banner(herald.url, config, herald.firstApiKey));
  if (stopRequested) {
    signals = 0;
    shutdown(stopRequested);
  }
  return 0;
}

function banner(url: string, config: HeraldConfig, firstApiKey: string | null): string {
  const transport = chooseTransport(config);
  const delivery =
    transport === 'relay' && config.smtpRelay
      ? `through the relay ${new URL(config.smtpRelay).host}`
      : transport === 'mx'
        ? "straight to each recipient domain's MX hosts"
        : 'into the local capture inbox (no relay set: nothing leaves this machine)';
  const key = firstApiKey ?? '$HERALD_API_KEY';
  const lines = [
    '',
    `Herald is listening on ${url}, delivering ${delivery}.`,
    `Data: ${config.dataDir}`,
    '',
  ];
  if (firstApiKey) {
    lines.push(
      'Your first API key (full access; shown only this once, store it now):',
      '',
      `  export HERALD_API_KEY=${firstApiKey}`,
      '',
      `The dashboard is at ${url}/dashboard/; make yourself a user to sign in with (asks for a password):`,
      '',
      '  npx herald users add you@example.com --account default',
      '',
    );
  } else {
    lines.push('Use an API key you created earlier, or make one: npx herald keys create --name NAME', '');
  }
  lines.push(
    'Send a first message:',
    '',
    `  curl -i ${url}/v3/mail/send \\`,
    `    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
    `    -d '{"personalizations":[{"to":[{"email":"you@example.com"}]}],"from":{"email":"herald@example.com"},"subject":"Hello from Herald","content":[{"type":"text/plain","value":"It works."}]}'`,
    '',
    config.smtpRelay ? 'See what happened to it:' : 'See it arrive:',
    '',
    config.smtpRelay
      ? `  curl -s ${url}/v3/messages?limit=10 -H "Authorization: Bearer ${key}"`
      : `  curl -s ${url}/v1/inbox -H "Authorization: Bearer ${key}"     (or: npx herald inbox)`,
    '',
  );
  return lines.join('\n') + '\n';
}
