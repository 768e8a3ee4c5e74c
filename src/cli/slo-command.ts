import type { HeraldConfig } from '../config/settings.js';
import { SloEvaluator } from '../ops/slo/slo-evaluator.js';
import { sloList } from '../ops/slo/slo-definitions.js';
import { sloJson, sloTable } from '../ops/slo/slo-report.js';
import { HeraldError } from '../errors.js';
import { withBackend } from './keys-command.js';
import type { CommandFlags } from './main.js';

export const SLO_USAGE = `Usage:
  herald slo status [--json]    each SLO: objective, window, counts, error budget left, burn rates, firing alerts

Read from the store (--data-dir, or databaseUrl in cluster mode), whether or not herald start runs
on it; SLOs as configured (setting slos). Burn rates are over the alert windows: see docs/operations.md.`;

/** `herald slo status`: the same numbers as `GET /v1/slos`, from the store, as a table. */
export async function sloCommand(config: HeraldConfig, sub: string | undefined, rest: string[], flags: CommandFlags, now: () => number = Date.now): Promise<number> {
  if ((sub ?? 'status') !== 'status') {
    console.error(`herald slo: unknown subcommand "${String(sub).slice(0, 100)}"\n\n${SLO_USAGE}`);
    return 2;
  }
  if (rest.length > 0) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { message: `slo status takes no argument "${rest[0]!.slice(0, 100)}"` });
  return withBackend(config, async (backend) => {
    const evaluator = new SloEvaluator(sloList(config.slos), backend.slos, now, { minEvents: config.sloAlertMinEvents, flushMs: config.sloFlushMs });
    const [statuses, alerts] = await Promise.all([evaluator.statuses(), evaluator.alerts()]);
    if (flags.json === true) {
      console.log(JSON.stringify({ slos: statuses.map((s) => sloJson(s, alerts)) }, null, 2));
      return 0;
    }
    if (statuses.length === 0) {
      console.log('no SLOs are configured (setting slos)');
      return 0;
    }
    const { header, rows } = sloTable(statuses, alerts);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === 0 || i === cells.length - 1 ? (i === cells.length - 1 ? c : c.padEnd(widths[i]!)) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd();
    console.log(line(header));
    for (const r of rows) console.log(line(r));
    for (const a of alerts) console.log(`\n${a.severity.toUpperCase()} ${a.slo} since ${new Date(a.since).toISOString()}: ${a.reason}`);
    return 0;
  });
}
