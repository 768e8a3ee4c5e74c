import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096; // bytes; refilled in one call when used up

const pool = Buffer.allocUnsafe(POOL_SIZE);
let used = POOL_SIZE;

/**
 * `n` fresh bytes from the system CSPRNG, fetched in 4 KiB blocks: ids are drawn several times per
 * message (request, message and event ids), and a `randomBytes` call each cost more than the
 * bytes themselves (about 3 % of the CPU per message in a profile). Every byte is handed out once.
 * The result is a view valid until the next call: copy or consume it at once.
 */
export function randomView(n: number): Buffer {
  if (n > POOL_SIZE) throw new RangeError(`randomView: at most ${POOL_SIZE} bytes, asked for ${n}`);
  if (used + n > POOL_SIZE) {
    randomFillSync(pool);
    used = 0;
  }
  const view = pool.subarray(used, used + n);
  used += n;
  return view;
}
