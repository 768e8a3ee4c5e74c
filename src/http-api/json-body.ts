import type { FastifyInstance } from 'fastify';
import { HeraldError } from '../errors.js';

/** Deepest nesting accepted in a JSON body; SendGrid payloads need a handful of levels. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bodies are JSON and nothing else: Fastify's text/plain parser is removed (415 instead), bytes
 * that are not UTF-8 are refused rather than silently replaced (RFC 8259 §8.1), and nesting is
 * bounded before anything walks the value recursively.
 */
export function acceptOnlyJson(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    // SendGrid's SDK sends Content-Type: application/json with no body on DELETE and on actions
    // such as activate: that is no body, not bad JSON. Routes that need a body say so themselves.
    if ((body as Buffer).length === 0) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new HeraldError('HERALD_ERR_BAD_JSON', { message: 'Bad Request: the request body is not valid UTF-8.' }), undefined);
      return;
    }
    const depth = nestingDepth(text);
    if (depth > MAX_JSON_DEPTH) {
      done(new HeraldError('HERALD_ERR_BAD_JSON', { message: `Bad Request: the JSON body is nested ${depth > 10_000 ? 'over 10000' : depth} levels deep; the limit is ${MAX_JSON_DEPTH}.` }), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

/**
 * Nesting depth of a JSON text, counted without parsing it (brackets inside strings ignored).
 * Strings are skipped with the native `indexOf`: in a mail body they are nearly all the text.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: the next one not escaped, i.e. after an even run of backslashes.
      for (let from = i + 1; ; ) {
        const quote = text.indexOf('"', from);
        if (quote === -1) return max; // unterminated: the parser refuses it
        let slash = quote - 1;
        while (slash > i && text.charCodeAt(slash) === 0x5c) slash--;
        if ((quote - 1 - slash) % 2 === 0) {
          i = quote;
          break;
        }
        from = quote + 1;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > 10_000) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}
