// The dashboard talks to Herald's public API only, authenticated by the session cookie; every
// request that changes something carries the session's CSRF token in X-CSRF-Token.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export interface Session {
  email: string;
  account: string;
  csrf_token: string;
  expires_at: string;
}

let csrfToken = '';
let onSignedOut: () => void = () => {};

export function useSession(session: Session | null, signedOut: () => void): void {
  csrfToken = session?.csrf_token ?? '';
  onSignedOut = signedOut;
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { errors?: { message?: string; code?: string }[] };
    const first = body.errors?.[0];
    if (first?.message) return new ApiError(res.status, first.message, first.code ?? null);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(res.status, `${res.status} ${res.statusText}`);
}

/** Calls the API; resolves to the parsed JSON (null for 204), rejects with an ApiError. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  if (res.status === 401 && !path.startsWith('/v1/dashboard/session')) {
    onSignedOut();
    throw await errorOf(res);
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

export const signIn = (email: string, password: string) => api<Session>('/v1/dashboard/session', { method: 'POST', body: { email, password } });
export const currentSession = () => api<Session>('/v1/dashboard/session');
export const signOut = () => api<null>('/v1/dashboard/session', { method: 'DELETE' });

/** An endpoint this server does not have (yet): the page shows "not available" instead of an error. */
export const isMissingEndpoint = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
