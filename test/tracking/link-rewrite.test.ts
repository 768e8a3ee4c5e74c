import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertBeforeBodyEnd, rewriteHtmlLinks, rewriteTextLinks } from '../../src/tracking/body-rewrite.js';
import { scanHtml } from '../../src/tracking/html-scan.js';

const seen: string[] = [];
const tracked = (url: string, index: number): string => {
  seen.push(url);
  return `https://t.test/c/${index}`;
};

test('only the href of <a> tags with http(s) links is rewritten; the rest of the markup stays byte for byte', () => {
  seen.length = 0;
  const html = [
    '<!doctype html><html><body>',
    '<a class="x" href="https://example.com/a?x=1&amp;y=2" target=_blank>A</a>',
    '<A HREF=\'http://example.com/b\'>B</A>',
    '<a href=https://example.com/c>C</a>',
    '<a href="mailto:ann@example.com">mail</a><a href="tel:+123">tel</a><a href="#top">anchor</a>',
    '<a href="https://example.com/off" clicktracking=off>off</a>',
    '<a href="https://example.com/off2" clicktracking="OFF">off2</a>',
    '<link href="https://example.com/style.css"><img src="https://example.com/i.png">',
    '<!-- <a href="https://example.com/comment">x</a> -->',
    '<script>var s = \'<a href="https://example.com/script">\';</script>',
    '<style>a[href="https://example.com/style"] {}</style>',
    '<a title="a > b" href="  https://example.com/d  ">D</a>',
    '</body></html>',
  ].join('\n');
  const out = rewriteHtmlLinks(html, tracked);
  assert.deepEqual(seen, ['https://example.com/a?x=1&y=2', 'http://example.com/b', 'https://example.com/c', 'https://example.com/d']);
  const expected = html
    .replace('https://example.com/a?x=1&amp;y=2', 'https://t.test/c/0')
    .replace("'http://example.com/b'", "'https://t.test/c/1'")
    .replace('href=https://example.com/c>', 'href="https://t.test/c/2">')
    .replace('"  https://example.com/d  "', '"https://t.test/c/3"');
  assert.equal(out, expected);
});

test('markup the tokenizer cannot finish is left alone, and a document without links is returned as is', () => {
  const cut = '<p>Hi</p><a href="https://example.com/x';
  assert.equal(rewriteHtmlLinks(cut, tracked), cut);
  const none = '<p>no links, a < b and c > d</p>';
  assert.equal(rewriteHtmlLinks(none, tracked), none);
  assert.deepEqual(
    scanHtml('<p a=1 b="2" c>').map((t) => t.attributes.map((a) => [a.name, a.raw])),
    [[['a', '1'], ['b', '2'], ['c', '']]],
  );
});

test('a rewritten link is escaped for its attribute', () => {
  const out = rewriteHtmlLinks('<a href="https://example.com/">x</a>', () => 'https://t.test/c/a"b&c');
  assert.equal(out, '<a href="https://t.test/c/a&quot;b&amp;c">x</a>');
});

test('links in plain text are rewritten without the punctuation that ends a sentence', () => {
  seen.length = 0;
  const out = rewriteTextLinks('See https://example.com/a. Or (http://example.com/b), and mailto:x@example.com!', tracked);
  assert.equal(out, 'See https://t.test/c/0. Or (https://t.test/c/1), and mailto:x@example.com!');
  assert.deepEqual(seen, ['https://example.com/a', 'http://example.com/b']);
});

test('the pixel goes before the last </body>, or at the end without one', () => {
  assert.equal(insertBeforeBodyEnd('<html><body>x<!-- </body> --></BODY></html>', '[P]'), '<html><body>x<!-- </body> -->[P]</BODY></html>');
  assert.equal(insertBeforeBodyEnd('<p>x</p>', '[P]'), '<p>x</p>[P]');
});
