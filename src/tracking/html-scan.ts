/**
 * A small HTML tokenizer after the WHATWG HTML tokenization rules (§13.2.5), just deep enough to
 * find tags and the exact place of each attribute value: comments, doctypes and processing
 * instructions are skipped whole, the contents of raw-text elements (script, style, textarea,
 * title...) are never read as tags, and quoted values may hold `>`. The caller rewrites the
 * document by splicing at the offsets given, so everything else stays byte for byte.
 */

export interface HtmlAttribute {
  /** Lower-cased. */
  name: string;
  /** The value as written (entities not decoded); '' for an attribute without one. */
  raw: string;
  /** Offsets of the value in the document (inside the quotes); -1 when it has none. */
  valueStart: number;
  valueEnd: number;
  quoted: boolean;
}

export interface HtmlTag {
  /** Lower-cased tag name. */
  name: string;
  end: boolean;
  /** Offset of `<` and just past `>`. */
  start: number;
  stop: number;
  attributes: HtmlAttribute[];
}

/** Elements whose content is text up to their own end tag (RCDATA and RAWTEXT, and script). */
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'plaintext']);
/** HTML's ASCII whitespace (§13.2.5.32): tab, LF, FF, CR, space. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f';
}

/** Every tag of `html` in order. A tag cut off by the end of the document is not a tag. */
export function scanHtml(html: string): HtmlTag[] {
  const tags: HtmlTag[] = [];
  let i = 0;
  const n = html.length;
  let lower: string | null = null;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0 || lt + 1 >= n) break;
    const next = html[lt + 1]!;
    if (html.startsWith('<!--', lt)) {
      // §13.2.5.43: `<!-->` and `<!--->` are empty comments.
      if (html.startsWith('<!-->', lt)) i = lt + 5;
      else if (html.startsWith('<!--->', lt)) i = lt + 6;
      else {
        const close = html.indexOf('-->', lt + 4);
        if (close < 0) break;
        i = close + 3;
      }
      continue;
    }
    if (next === '!' || next === '?') {
      // Doctype, CDATA outside foreign content and processing instructions: bogus comments to `>`.
      const close = html.indexOf('>', lt + 2);
      if (close < 0) break;
      i = close + 1;
      continue;
    }
    const end = next === '/';
    const nameAt = end ? lt + 2 : lt + 1;
    if (!/[A-Za-z]/.test(html[nameAt] ?? '')) {
      // `</>` is dropped; `</ x>` is a bogus comment; a `<` before anything else is text.
      if (end && html[nameAt] === '>') i = nameAt + 1;
      else if (end) {
        const close = html.indexOf('>', nameAt);
        if (close < 0) break;
        i = close + 1;
      } else i = lt + 1;
      continue;
    }
    const tag = readTag(html, lt, nameAt, end);
    if (!tag) break;
    tags.push(tag);
    i = tag.stop;
    if (!end && RAW_TEXT.has(tag.name)) {
      if (tag.name === 'plaintext') break;
      // Up to `</name` followed by a space, `/` or `>`, in any case.
      lower ??= html.toLowerCase();
      let from = i;
      for (;;) {
        const at = lower.indexOf(`</${tag.name}`, from);
        if (at < 0) return tags;
        const after = html[at + 2 + tag.name.length];
        if (after === undefined || after === '>' || after === '/' || isSpace(after)) {
          i = at;
          break;
        }
        from = at + 1;
      }
    }
  }
  return tags;
}

function readTag(html: string, start: number, nameAt: number, end: boolean): HtmlTag | null {
  const n = html.length;
  let i = nameAt;
  while (i < n && !isSpace(html[i]) && html[i] !== '/' && html[i] !== '>') i++;
  const name = html.slice(nameAt, i).toLowerCase();
  const attributes: HtmlAttribute[] = [];
  for (;;) {
    while (i < n && (isSpace(html[i]) || html[i] === '/')) i++;
    if (i >= n) return null;
    if (html[i] === '>') return { name, end, start, stop: i + 1, attributes };
    // §13.2.5.33: the name runs to a space, `/`, `>` or `=` (a leading `=` belongs to it).
    const attrStart = i;
    i++;
    while (i < n && !isSpace(html[i]) && html[i] !== '/' && html[i] !== '>' && html[i] !== '=') i++;
    const attrName = html.slice(attrStart, i).toLowerCase();
    let j = i;
    while (j < n && isSpace(html[j])) j++;
    if (html[j] !== '=') {
      attributes.push({ name: attrName, raw: '', valueStart: -1, valueEnd: -1, quoted: false });
      continue;
    }
    j++;
    while (j < n && isSpace(html[j])) j++;
    if (j >= n) return null;
    const quote = html[j];
    if (quote === '"' || quote === "'") {
      const close = html.indexOf(quote, j + 1);
      if (close < 0) return null;
      attributes.push({ name: attrName, raw: html.slice(j + 1, close), valueStart: j + 1, valueEnd: close, quoted: true });
      i = close + 1;
    } else {
      let k = j;
      while (k < n && !isSpace(html[k]) && html[k] !== '>') k++;
      attributes.push({ name: attrName, raw: html.slice(j, k), valueStart: j, valueEnd: k, quoted: false });
      i = k;
    }
  }
}

/** The value an attribute holds: character references decoded (the ones URLs carry; others kept). */
export function decodeAttribute(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos|nbsp);?/g, (whole, ref: string) => {
    switch (ref) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      case 'nbsp':
        return '\u00a0';
    }
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
  });
}

/** Text safe inside a quoted attribute value and in element content. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
