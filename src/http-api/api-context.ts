import type { Backend } from '../backends/backend.js';
import type { HeraldConfig } from '../config/settings.js';

/** What every route needs: the ports, the configuration, and whether the process is draining. */
export interface ApiContext {
  backend: Backend;
  config: HeraldConfig;
  /** Throws 503 once shutdown has begun, so no request is accepted that might not be written. */
  refuseWhenDraining(): void;
}
