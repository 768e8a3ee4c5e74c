import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './test-herald.js';

/**
 * Herald as a separate process: the compiled CLI, started the way `npm start` starts it, so a test
 * can kill -9 it and start it again on the same data directory. Every child spawned here is
 * remembered; a test file calls `stopHeraldChildren()` in its `after` hook.
 */

/** The compiled CLI, as `npm start` runs it. */
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** ms; a cold start compiles nothing but may share the machine with other suites. */
export const START_TIMEOUT = 30_000;
/** ms; how long a process may take to exit once signalled. */
const EXIT_TIMEOUT = 60_000;
/** HERALD_HOSTNAME of every child unless its settings say otherwise: the right-hand side of its Message-IDs. */
export const CHILD_HOSTNAME = 'herald-child.test';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedHerald {
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string;
  exited: Promise<ChildExit>;
}

export interface HeraldChild extends SpawnedHerald {
  url: string;
  /** The first API key, printed only by the start that created the data directory. */
  apiKey: string | null;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every child still running (spawned here or handed to `trackChild`) and waits for them to exit. */
export async function stopHeraldChildren(): Promise<void> {
  const running = [...children].filter((proc) => proc.exitCode === null && proc.signalCode === null);
  const exits = running.map((proc) => new Promise((resolve) => proc.once('exit', resolve)));
  for (const proc of running) proc.kill('SIGKILL');
  await Promise.all(exits);
  children.clear();
}

/** Makes `stopHeraldChildren()` kill `proc` too (e.g. a bystander process a test spawned itself). */
export function trackChild(proc: ChildProcess): void {
  children.add(proc);
}

/** The environment of a child: none of this machine's HERALD_* settings, only the test's. */
function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return { ...env, HERALD_LOG_LEVEL: 'warn', HERALD_HOSTNAME: CHILD_HOSTNAME, HERALD_DELIVERY_POLL_MS: '50', ...settings };
}

/** Spawns `herald start` with `settings` (HERALD_* variables) and returns at once. */
export function spawnHerald(settings: Record<string, string>): SpawnedHerald {
  const proc = spawn(process.execPath, [MAIN, 'start'], { env: childEnv(settings), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<ChildExit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => output, exited };
}

/** Starts `herald start` and waits for its banner; fails with the output if it exits first. */
export async function startHerald(settings: Record<string, string>): Promise<HeraldChild> {
  const { proc, output, exited } = spawnHerald(settings);
  let gone = false;
  void exited.then(() => (gone = true));
  const url = await eventually(
    async () => {
      if (gone) throw new Error(`herald exited before listening:\n${output()}`);
      return /Herald is listening on (http:\/\/\S+?),/.exec(output())?.[1];
    },
    START_TIMEOUT,
    'the start-up banner',
  );
  const apiKey = /export HERALD_API_KEY=(\S+)/.exec(output())?.[1] ?? null;
  return { proc, url, apiKey, output, exited };
}

/** Waits (bounded) for a child to exit and returns how it ended. */
export async function waitForExit(child: SpawnedHerald, what: string): Promise<ChildExit> {
  let result: ChildExit | undefined;
  void child.exited.then((r) => (result = r));
  return eventually(async () => result, EXIT_TIMEOUT, what);
}
