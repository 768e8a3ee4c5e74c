import { spawn } from 'node:child_process';

/** Runs Debian's promtool on the exposition text; its lint findings fail the test. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.env.PROMTOOL ?? 'promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    proc.on('error', (error) => reject(new Error(`promtool is needed (apt-get install prometheus, as .ci/run does): ${error.message}`)));
    proc.on('close', (code) => resolve({ code, output }));
    proc.stdin.end(text);
  });
}
