import type { Backend } from '../backends/backend.js';
import type { HeraldConfig } from '../config/settings.js';
import type { SigningKeys } from '../ops/signing-keys.js';
import type { AccountRateLimits } from '../accounts/rate-limits.js';

/** What every route needs: the ports, the configuration, and whether the process is draining. */
export interface ApiContext {
  backend: Backend;
  config: HeraldConfig;
  /** Throws 503 once shutdown has begun, so no request is accepted that might not be written. */
  refuseWhenDraining(): void;
  /** The HMAC keys for links and return paths (loaded, or made and stored, on first use). */
  signingKeys(): Promise<SigningKeys>;
  /** Per-account request rates and daily message quotas. */
  limits: AccountRateLimits;
}
