import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A private Postfix instance on 127.0.0.1, in a temp folder of its own; the system's Postfix is not touched. */
export interface PostfixInstance {
  port: number;
  /** The domain whose mailboxes it delivers to (virtual(8), Maildir). */
  domain: string;
  /** Local parts with a mailbox; any other recipient at `domain` is refused at RCPT TO with 550 5.1.1. */
  mailboxes: string[];
  /** Messages delivered to `localPart`'s Maildir so far, as Postfix wrote them (Return-Path etc. added). */
  delivered(localPart: string): Buffer[];
  /** Resolves once `localPart` holds `count` messages (Postfix delivers asynchronously). */
  waitForDelivery(localPart: string, count: number, timeoutMs?: number): Promise<Buffer[]>;
  /** Postfix's own log, for a failing test's message. */
  log(): string;
  /** Stops the instance and removes its folder. */
  stop(): Promise<void>;
}

export interface PostfixOptions {
  /** @defaultValue ['ann', 'bob'] */
  mailboxes?: string[];
  /**
   * transport(5) entries: domain → `smtp:[127.0.0.1]:2525`, so mail to (and bounces for) other
   * domains goes to servers of the test's own. Clients on 127.0.0.0/8 may relay (mynetworks).
   * @defaultValue none
   */
  transports?: Record<string, string>;
}

const DOMAIN = 'herald.test';
const START_TIMEOUT = 20 * 1000; // ms
const STOP_TIMEOUT = 10 * 1000; // ms
const POLL = 50; // ms

/**
 * Configures and starts Postfix (Debian package `postfix`, run as root) with `postfix -c <dir>
 * start`: its own main.cf, master.cf, queue and data folders, an smtpd on a free loopback port
 * offering STARTTLS with a throwaway self-signed certificate, and virtual(8) delivery into Maildirs.
 * Fails, never skips, when Postfix is not installed: `.ci/run` installs it.
 */
export async function startPostfix(options: PostfixOptions = {}): Promise<PostfixInstance> {
  const mailboxes = options.mailboxes ?? ['ann', 'bob'];
  const transports = options.transports ?? {};
  const postfix = '/usr/sbin/postfix';
  if (!existsSync(postfix)) {
    throw new Error('Postfix is not installed: run `apt-get install -y postfix` (as .ci/run does) to run the Postfix interoperability tests');
  }
  if (process.getuid?.() !== 0) throw new Error('the Postfix test instance must be started as root (postfix start needs it)');
  const { uid, gid } = await postfixIds();

  const dir = mkdtempSync(join(tmpdir(), 'herald-postfix-'));
  // Postfix daemons run as `postfix` and must reach their queue through this folder.
  chmodSync(dir, 0o755);
  const config = join(dir, 'config');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  const mail = join(dir, 'mail');
  const maillog = join(dir, 'maillog');
  for (const d of [config, queue, data, mail]) mkdirSync(d);
  chownSync(data, uid, gid);
  chownSync(mail, uid, gid);

  const stopInstance = async (): Promise<void> => {
    await run(postfix, ['-c', config, 'stop']).catch(() => undefined);
    await waitForMasterExit(queue);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=postfix.${DOMAIN}`, '-keyout', join(config, 'key.pem'), '-out', join(config, 'cert.pem')]);
    const port = await freePort();
    writeFileSync(join(config, 'main.cf'), mainCf({ queue, data, mail, maillog, config, uid, gid, mailboxes, transports }));
    writeFileSync(join(config, 'master.cf'), masterCf(port));
    // `check` creates the queue's subfolders with the owners and modes Postfix insists on.
    await run(postfix, ['-c', config, 'check']);
    await run(postfix, ['-c', config, 'start']);
    await waitForGreeting(port, () => readLog(maillog));

    const delivered = (localPart: string): Buffer[] => {
      const folder = join(mail, localPart, 'new');
      if (!existsSync(folder)) return [];
      return readdirSync(folder).sort().map((name) => readFileSync(join(folder, name)));
    };
    return {
      port,
      domain: DOMAIN,
      mailboxes,
      delivered,
      async waitForDelivery(localPart, count, timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const got = delivered(localPart);
          if (got.length >= count) return got;
          if (Date.now() > deadline) throw new Error(`postfix: ${got.length} of ${count} messages reached ${localPart}'s Maildir within ${timeoutMs} ms\n${readLog(maillog)}`);
          await sleep(POLL);
        }
      },
      log: () => readLog(maillog),
      stop: stopInstance,
    };
  } catch (error) {
    await stopInstance();
    throw error;
  }
}

function mainCf(p: { queue: string; data: string; mail: string; maillog: string; config: string; uid: number; gid: number; mailboxes: string[]; transports: Record<string, string> }): string {
  const mailboxMap = p.mailboxes.map((m) => `${m}@${DOMAIN}=${m}/`).join(', ');
  const transportMap = Object.entries(p.transports).map(([domain, next]) => `${domain}=${next}`).join(', ');
  return `# Written by test/support/postfix.ts for one test run; removed when it stops.
compatibility_level = 3.6
queue_directory = ${p.queue}
data_directory = ${p.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.${DOMAIN}
mydomain = ${DOMAIN}
myorigin = $myhostname
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = ${p.maillog}
maillog_file_prefixes = ${p.maillog}
smtpd_banner = $myhostname ESMTP Postfix (Herald test instance)
smtputf8_enable = yes
message_size_limit = 10240000
smtpd_tls_security_level = may
smtpd_tls_cert_file = ${p.config}/cert.pem
smtpd_tls_key_file = ${p.config}/key.pem
smtp_dns_support_level = disabled
in_flow_delay = 0
biff = no
virtual_mailbox_domains = ${DOMAIN}
virtual_mailbox_base = ${p.mail}
virtual_mailbox_maps = inline:{ ${mailboxMap} }
virtual_uid_maps = static:${p.uid}
virtual_gid_maps = static:${p.gid}
virtual_minimum_uid = 1
${transportMap ? `transport_maps = inline:{ ${transportMap} }\n` : ''}`;
}

/** Only the services this instance needs, none chrooted (a chroot would need a copy of /etc). */
function masterCf(port: number): string {
  return `# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

async function postfixIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postfix']);
  const { stdout: gid } = await run('id', ['-g', 'postfix']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once smtpd answers with a 220 greeting. */
async function waitForGreeting(port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT;
  for (;;) {
    const greeting = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let got = '';
      socket.setTimeout(2000, () => socket.destroy());
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString('latin1');
        if (got.includes('\n')) {
          socket.end('QUIT\r\n');
          resolve(got);
        }
      });
      socket.on('error', () => resolve(''));
      socket.on('close', () => resolve(got));
    });
    if (greeting.startsWith('220')) return;
    if (Date.now() > deadline) throw new Error(`postfix: no 220 greeting on port ${port} within ${START_TIMEOUT} ms\n${log()}`);
    await sleep(POLL);
  }
}

async function waitForMasterExit(queue: string): Promise<void> {
  const pidFile = join(queue, 'pid', 'master.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const deadline = Date.now() + STOP_TIMEOUT;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(POLL);
  }
  // The master did not stop in time: end it (its children follow) so the folder can go.
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '(no Postfix log)';
  }
}
