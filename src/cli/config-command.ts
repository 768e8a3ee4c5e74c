import type { HeraldConfig } from '../config/settings.js';
import { LIVE_SETTINGS } from '../config/settings.js';
import { readLiveSettings, setLiveSetting, unsetLiveSetting } from '../config/live-config.js';

const USAGE = `herald config: live settings, shared by every process through NATS KV (natsUrl)

  herald config get                 the live settings set now, with their revisions
  herald config set KEY VALUE       VALUE as JSON (a number, "text", {"gmail.com": {...}})
  herald config unset KEY           back to each process's own configuration

Live settings: ${LIVE_SETTINGS.join(', ')}`;

/** `herald config get | set KEY VALUE | unset KEY`. */
export async function configCommand(config: HeraldConfig, sub: string | undefined, rest: string[]): Promise<number> {
  switch (sub) {
    case 'get': {
      const settings = await readLiveSettings(config);
      if (settings.length === 0) console.log('no live settings: every process runs its own configuration');
      for (const s of settings) console.log(`${s.key} = ${JSON.stringify(s.value)}  (revision ${s.revision})`);
      return 0;
    }
    case 'set': {
      const [key, text] = rest;
      if (!key || text === undefined) {
        console.error(`herald config set: KEY and VALUE are needed\n\n${USAGE}`);
        return 2;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        // A bare word is a string: `herald config set logLevel debug`.
        value = text;
      }
      const revision = await setLiveSetting(config, key, value);
      console.log(`${key} set (revision ${revision}); every running process applies it now`);
      return 0;
    }
    case 'unset': {
      const [key] = rest;
      if (!key) {
        console.error(`herald config unset: KEY is needed\n\n${USAGE}`);
        return 2;
      }
      await unsetLiveSetting(config, key);
      console.log(`${key} unset; processes go back to their own configuration`);
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}
