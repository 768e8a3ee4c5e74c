import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HeraldError } from '../errors.js';

/** Where `vite build` puts the dashboard (vite.config.mjs): dist/dashboard, beside dist/src. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may load only its own scripts and styles; e-mail HTML shown in the inbox's sandboxed
 * iframe (srcdoc) inherits this policy, so it cannot load remote images or fonts (tracking pixels)
 * either. uPlot and Preact set inline styles, hence 'unsafe-inline' for styles only.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface StaticFile {
  body: Buffer;
  type: string;
  /** Vite names built assets after their content hash: they never change, so they are cached for a year. */
  immutable: boolean;
}

/**
 * Every file of the built dashboard, read once at start-up. Requests are answered from this table
 * only, by exact name: a path with `..`, an encoded slash or anything not built is simply not in
 * it, so nothing outside the folder can be reached.
 */
function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(dir, path).split(sep).join('/');
        files.set(rel, { body: readFileSync(path), type: TYPES[extname(name)] ?? 'application/octet-stream', immutable: rel.startsWith('assets/') });
      }
    }
  };
  try {
    walk(dir);
  } catch {
    // Not built (e.g. a test run of tsc output only): /dashboard says so.
  }
  return files;
}

/** Serves the dashboard at /dashboard: index.html for the app's own routes, hashed assets under /dashboard/assets. */
export function dashboardStaticRoutes(app: FastifyInstance, dir = DASHBOARD_DIR): void {
  const files = loadFiles(dir);
  const send = (reply: FastifyReply, file: StaticFile) =>
    reply
      .header('content-type', file.type)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY')
      .send(file.body);
  const index = (reply: FastifyReply) => {
    const file = files.get('index.html');
    if (!file) throw new HeraldError('HERALD_ERR_NOT_FOUND', { message: 'The dashboard is not built: run npm run build.' });
    return send(reply, file);
  };
  app.get('/dashboard', async (_request, reply) => reply.redirect('/dashboard/', 301));
  app.get('/dashboard/', async (_request, reply) => index(reply));
  app.get<{ Params: { '*': string } }>('/dashboard/*', async (request, reply) => {
    const path = request.params['*'];
    // Nothing outside the table is reachable anyway; a traversal attempt gets a plain 404, not the app.
    if (/\.\.|\\|\0|%/.test(path)) throw new HeraldError('HERALD_ERR_NOT_FOUND', { message: 'No such dashboard file.' });
    const file = files.get(path);
    if (file) return send(reply, file);
    // A missing asset is a 404 (a stale page asking for an old hash); any other path is a page of the app.
    if (path.startsWith('assets/') || extname(path) !== '') throw new HeraldError('HERALD_ERR_NOT_FOUND', { message: 'No such dashboard file.' });
    return index(reply);
  });
}
