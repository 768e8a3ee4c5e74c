import { decodeAttribute, escapeHtml, scanHtml } from './html-scan.js';

/** SendGrid tracks up to 1000 links per message; later ones are left as they are. */
export const MAX_TRACKED_LINKS = 1000;

/** Makes the tracked replacement of a link, or null to leave it. */
export type LinkRewriter = (url: string, index: number) => string | null;

/**
 * Rewrites the `href` of each `<a>` whose link is http or https, in document order. Links to
 * `mailto:`, `tel:`, anchors and anything else stay; so does a link whose tag carries
 * `clicktracking=off` (SendGrid's opt-out attribute). Only the value is replaced: the rest of the
 * markup stays byte for byte.
 */
export function rewriteHtmlLinks(html: string, rewrite: LinkRewriter): string {
  const out: string[] = [];
  let at = 0;
  let index = 0;
  for (const tag of scanHtml(html)) {
    if (tag.end || tag.name !== 'a' || index >= MAX_TRACKED_LINKS) continue;
    // The first of duplicate attributes is the one that counts (§13.2.5.33).
    const href = tag.attributes.find((a) => a.name === 'href');
    if (!href || href.valueStart < 0) continue;
    const off = tag.attributes.find((a) => a.name === 'clicktracking');
    if (off && decodeAttribute(off.raw).trim().toLowerCase() === 'off') continue;
    // URL parsers strip leading and trailing C0 controls and spaces (WHATWG URL §4.4).
    const url = decodeAttribute(href.raw).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
    if (!/^https?:\/\/[^\s]/i.test(url)) continue;
    const replacement = rewrite(url, index);
    if (replacement === null) continue;
    index++;
    out.push(html.slice(at, href.valueStart), href.quoted ? escapeHtml(replacement) : `"${escapeHtml(replacement)}"`);
    at = href.valueEnd;
  }
  if (at === 0) return html;
  out.push(html.slice(at));
  return out.join('');
}

/**
 * Rewrites the http and https links of a plain-text part. A link runs to the next space or angle
 * bracket; punctuation that ends a sentence is left out of it.
 */
export function rewriteTextLinks(text: string, rewrite: LinkRewriter): string {
  let index = 0;
  return text.replace(/https?:\/\/[^\s<>"]+/gi, (found) => {
    if (index >= MAX_TRACKED_LINKS) return found;
    const trail = /[.,;:!?)\]}'*]+$/.exec(found);
    const url = trail ? found.slice(0, trail.index) : found;
    if (url.length <= 'https://'.length) return found;
    const replacement = rewrite(url, index);
    if (replacement === null) return found;
    index++;
    return replacement + (trail ? trail[0] : '');
  });
}

/** Puts `snippet` just before the document's last `</body>` tag, or at the end when it has none. */
export function insertBeforeBodyEnd(html: string, snippet: string): string {
  const tags = scanHtml(html);
  for (let i = tags.length - 1; i >= 0; i--) {
    const tag = tags[i]!;
    if (tag.end && tag.name === 'body') return html.slice(0, tag.start) + snippet + html.slice(tag.start);
  }
  return html + snippet;
}

/** The open pixel: a 1×1 transparent GIF that takes no room. */
export function openPixel(url: string): string {
  const src = escapeHtml(url);
  return `<img src="${src}" alt="" width="1" height="1" border="0" style="height:1px !important;width:1px !important;border-width:0 !important;margin:0 !important;padding:0 !important" />`;
}

/**
 * SendGrid's subscription text: `<% link text %>` marks the link. In HTML the marked words become
 * the link; in plain text `<% %>` becomes the URL (after the words, when there are any).
 */
export function fillSubscriptionHtml(template: string, url: string): string {
  const marked = /<%\s*([\s\S]*?)\s*%>/;
  if (!marked.test(template)) return `${template} <a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;
  return template.replace(marked, (_m, words: string) => `<a href="${escapeHtml(url)}">${words === '' ? escapeHtml(url) : words}</a>`);
}

export function fillSubscriptionText(template: string, url: string): string {
  const marked = /<%\s*([\s\S]*?)\s*%>/;
  if (!marked.test(template)) return `${template} ${url}`;
  return template.replace(marked, (_m, words: string) => (words === '' ? url : `${words} ${url}`));
}
