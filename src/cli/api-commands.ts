import type { HeraldConfig } from '../config/settings.js';
import { HeraldError } from '../errors.js';
import type { CommandFlags } from './main.js';

interface Client {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; json: unknown }>;
}

/** A client for the running server: HERALD_URL and HERALD_API_KEY, or --url and --api-key. */
function client(config: HeraldConfig, flags: CommandFlags): Client {
  const base = flags.url ?? process.env.HERALD_URL ?? `http://127.0.0.1:${config.port}`;
  const key = flags['api-key'] ?? process.env.HERALD_API_KEY;
  if (!key) {
    throw new HeraldError('HERALD_ERR_UNAUTHORIZED', { message: 'no API key: set HERALD_API_KEY (printed at first start) or pass --api-key' });
  }
  return {
    async call(method, path, body) {
      let response: Response;
      try {
        response = await fetch(new URL(path, base), {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : null,
        });
      } catch (error) {
        throw new Error(`cannot reach Herald at ${base} (${(error as Error).cause ?? (error as Error).message}); is it running? (npm start)`);
      }
      const text = await response.text();
      const json: unknown = text ? safeJson(text) : null;
      if (response.status >= 400) {
        const errors = (json as { errors?: { message: string; field: string | null }[] } | null)?.errors ?? [];
        const detail = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('\n  ') || text;
        throw new Error(`HTTP ${response.status}\n  ${detail}`);
      }
      return { status: response.status, headers: response.headers, json };
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function sendCommand(config: HeraldConfig, flags: CommandFlags): Promise<number> {
  if (!flags.to || !flags.subject || (!flags.text && !flags.html)) {
    throw new HeraldError('HERALD_ERR_MISSING_FIELD', { message: 'send needs --to, --subject and --text or --html' });
  }
  const content = [
    ...(flags.text ? [{ type: 'text/plain', value: flags.text }] : []),
    ...(flags.html ? [{ type: 'text/html', value: flags.html }] : []),
  ];
  const { headers } = await client(config, flags).call('POST', '/v3/mail/send', {
    personalizations: [{ to: flags.to.split(',').map((email) => ({ email: email.trim() })) }],
    from: { email: flags.from ?? `herald@${config.hostname.includes('.') ? config.hostname : 'localhost.localdomain'}` },
    subject: flags.subject,
    content,
  });
  console.log(`accepted: X-Message-Id ${headers.get('x-message-id')}`);
  return 0;
}

export async function inboxCommand(config: HeraldConfig, sub: string | undefined, rest: string[], flags: CommandFlags): Promise<number> {
  const api = client(config, flags);
  if (sub === 'show') {
    const id = rest[0];
    if (!id) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { message: 'inbox show needs an id (see herald inbox)' });
    const { json } = await api.call('GET', `/v1/inbox/${encodeURIComponent(id)}`);
    const m = json as { headers: { line: string }[]; text: string | null; html: string | null; attachments: { filename: string | null; size: number }[] };
    console.log(m.headers.map((h) => h.line).join('\n'));
    console.log('');
    console.log(m.text ?? m.html ?? '');
    for (const a of m.attachments) console.log(`[attachment] ${a.filename ?? '(unnamed)'} ${a.size} bytes`);
    return 0;
  }
  if (sub !== undefined && sub !== 'list') {
    console.error(`herald inbox: unknown subcommand "${sub}" (list, show)`);
    return 2;
  }
  const query = new URLSearchParams({ limit: flags.limit ?? '20', ...(flags.to ? { to: flags.to } : {}) });
  const { json } = await api.call('GET', `/v1/inbox?${query}`);
  const messages = (json as { messages: { id: string; received_at: string; to: string; subject: string }[] }).messages;
  if (messages.length === 0) console.log('The capture inbox is empty.');
  for (const m of messages) console.log(`${m.id}  ${m.received_at}  ${m.to}  ${m.subject}`);
  return 0;
}

export async function messagesCommand(config: HeraldConfig, sub: string | undefined, rest: string[], flags: CommandFlags): Promise<number> {
  const api = client(config, flags);
  if (sub === 'show') {
    const id = rest[0];
    if (!id) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { message: 'messages show needs a msg_id' });
    const { json } = await api.call('GET', `/v3/messages/${encodeURIComponent(id)}`);
    const m = json as { msg_id: string; to_email: string; subject: string; status: string; events: { event_name: string; processed: string; reason: string | null; response?: string | null }[] };
    console.log(`${m.msg_id}  ${m.to_email}  ${m.status}  ${m.subject}`);
    for (const e of m.events) console.log(`  ${e.processed}  ${e.event_name.padEnd(10)} ${e.reason ?? e.response ?? ''}`);
    return 0;
  }
  if (sub !== undefined && sub !== 'list') {
    console.error(`herald messages: unknown subcommand "${sub}" (list, show)`);
    return 2;
  }
  const query = new URLSearchParams({ limit: flags.limit ?? '20', ...(flags.query ? { query: flags.query } : {}) });
  const { json } = await api.call('GET', `/v3/messages?${query}`);
  for (const m of (json as { messages: { msg_id: string; last_event_time: string; to_email: string; status: string; subject: string }[] }).messages) {
    console.log(`${m.msg_id}  ${m.last_event_time}  ${m.status.padEnd(13)} ${m.to_email}  ${m.subject}`);
  }
  return 0;
}
