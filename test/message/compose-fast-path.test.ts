import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { simpleParser, type ParsedMail } from 'mailparser';
import { buildSync, composeMessage, mailOptions, type ComposeInput } from '../../src/message/compose.js';
import type { MailRequest, Personalization } from '../../src/message/mail-request.js';

// composeMessage writes in-memory messages without nodemailer's streams (buildSync). It must give
// exactly what MailComposer's own build() gives: byte for byte on the same MIME tree, and the same
// headers, bodies and attachments when both are parsed back.

function personalization(p: Partial<Personalization> = {}): Personalization {
  return { to: [{ email: 'rcpt@example.com' }], cc: [], bcc: [], headers: {}, substitutions: {}, customArgs: {}, ...p };
}

function request(r: Partial<MailRequest> = {}): MailRequest {
  return {
    personalizations: [personalization()],
    from: { email: 'sender@example.org', name: 'Sender' },
    replyTo: [],
    subject: 'Hello',
    content: [{ type: 'text/plain', value: 'Hello there.\r\n' }],
    attachments: [],
    headers: {},
    categories: [],
    customArgs: {},
    sandbox: false,
    ...r,
  };
}

const longLine = 'word '.repeat(60).trim();
const latin = 'Grüße aus Köln, ça va? Ärger über Öl — “quotes” ';
const binaryish = '日本語のテキスト、絵文字 😀 と長い行 '.repeat(12);
const pdf = Buffer.from('%PDF-1.4 binary \x00\x01\x02\xff'.repeat(40), 'latin1').toString('base64');
const png = Buffer.alloc(300, 7).toString('base64');

const cases: [string, MailRequest][] = [
  ['plain ASCII text', request()],
  ['1 KB text with LF line ends', request({ content: [{ type: 'text/plain', value: 'line of text\n'.repeat(80) }] })],
  ['text without a final line break', request({ content: [{ type: 'text/plain', value: 'no newline at the end' }] })],
  ['text ending in CR', request({ content: [{ type: 'text/plain', value: 'ends in a CR\r' }] })],
  ['long lines (quoted-printable)', request({ content: [{ type: 'text/plain', value: `${longLine}\r\n${longLine} \t\r\n` }] })],
  ['trailing whitespace at the end', request({ content: [{ type: 'text/plain', value: `${latin}   ` }] })],
  ['latin text and subject', request({ subject: `Über ${latin}`, content: [{ type: 'text/plain', value: latin.repeat(10) }] })],
  ['mostly non-latin text (base64)', request({ subject: '件名 😀 '.repeat(8), content: [{ type: 'text/plain', value: binaryish }] })],
  ['html only', request({ content: [{ type: 'text/html', value: `<p>${latin}</p>`.repeat(20) }] })],
  [
    'text and html',
    request({ content: [{ type: 'text/plain', value: 'Plain part.\r\n' }, { type: 'text/html', value: `<html><body><p>${longLine}</p></body></html>` }] }),
  ],
  ['empty text', request({ content: [{ type: 'text/plain', value: '' }] })],
  [
    'names, cc, reply-to',
    request({
      from: { email: 'news@exämple.org', name: 'Zoë “The Sender”, Ltd.' },
      replyTo: [{ email: 'reply@example.org', name: 'Réponse' }],
      personalizations: [
        personalization({
          to: [{ email: 'a@example.com', name: 'Ana María' }, { email: 'b@example.com' }],
          cc: [{ email: 'c@example.com', name: 'Çağrı "Quoted" O\'Neil' }],
          bcc: [{ email: 'hidden@example.com' }],
        }),
      ],
    }),
  ],
  [
    'custom headers, substitutions, personalization subject',
    request({
      headers: { 'X-Campaign': 'spring -name-', 'List-Unsubscribe': '<mailto:unsub@example.org>', 'X-Long': longLine + longLine },
      content: [{ type: 'text/plain', value: 'Hi -name-, your code is -code-.' }, { type: 'text/html', value: '<b>Hi -name-</b>' }],
      personalizations: [
        personalization({
          subject: 'For -name- ✓',
          headers: { 'X-Per': 'Wert für -name-' },
          substitutions: { '-name-': 'Jürgen\nSmith', '-code-': '12345' },
        }),
      ],
    }),
  ],
  [
    'attachments, inline and not',
    request({
      content: [{ type: 'text/plain', value: 'See attached.' }, { type: 'text/html', value: '<img src="cid:logo">' }],
      attachments: [
        { content: pdf, filename: 'report ü.pdf', type: 'application/pdf', disposition: 'attachment' },
        { content: png, filename: 'logo.png', type: 'image/png', disposition: 'inline', contentId: 'logo' },
        { content: Buffer.from('a,b\n1,2\n').toString('base64'), filename: 'data.csv', disposition: 'attachment' },
      ],
    }),
  ],
  [
    'other content types',
    request({ content: [{ type: 'text/plain', value: 'plain' }, { type: 'text/html', value: '<p>html</p>' }, { type: 'text/x-amp-html', value: '<html amp4email>amp</html>' }] }),
  ],
  [
    'dynamic template',
    request({
      subject: undefined,
      content: [],
      template: { id: 't1', versionId: 'v1', subject: 'Hi {{name}} ✓', html: '<p>{{name}} — {{#each items}}{{this}} {{/each}}</p>', plain: '{{name}}\n' },
      personalizations: [personalization({ dynamicTemplateData: { name: 'Þór', items: ['a', 'b'] } })],
    }),
  ],
];

function input(r: MailRequest): ComposeInput {
  return { request: r, personalizationIndex: 0, messageId: 'msg-123', hostname: 'herald.test', date: Date.UTC(2026, 0, 2, 3, 4, 5) };
}

/** Multipart boundaries are random per composer: numbered in order of appearance instead. */
function sameBoundaries(message: string): string {
  const boundaries = [...message.matchAll(/boundary="([^"]+)"/g)].map((m) => m[1]!);
  return boundaries.reduce((out, b, i) => out.split(b).join(`BOUNDARY-${i}`), message);
}

function headersOf(m: ParsedMail): [string, string][] {
  return m.headerLines.map((h) => [h.key, h.line.replace(/boundary="[^"]*"/g, 'boundary=…')] as [string, string]).sort();
}

describe('compose without streams', () => {
  for (const [name, r] of cases) {
    test(`${name}: the same bytes as MailComposer's build() on the same tree`, async () => {
      const tree = new MailComposer(mailOptions(input(r))).compile();
      const fast = buildSync(tree);
      assert.ok(fast, 'in-memory content takes the fast path');
      const slow = await tree.build();
      assert.equal(fast.toString('latin1'), slow.toString('latin1'));
    });

    test(`${name}: parses to the same message as MailComposer's`, async () => {
      const fast = await simpleParser(await composeMessage(input(r)));
      const slow = await simpleParser(await new MailComposer(mailOptions(input(r))).compile().build());
      assert.deepEqual(headersOf(fast), headersOf(slow));
      assert.equal(fast.subject, slow.subject);
      assert.equal(fast.text, slow.text);
      assert.equal(fast.html, slow.html);
      assert.equal(fast.attachments.length, slow.attachments.length);
      fast.attachments.forEach((a, i) => {
        const b = slow.attachments[i]!;
        assert.equal(a.filename, b.filename);
        assert.equal(a.contentType, b.contentType);
        assert.equal(a.contentDisposition, b.contentDisposition);
        assert.equal(a.cid, b.cid);
        assert.ok(a.content.equals(b.content));
      });
    });
  }

  const shapes: [string, Partial<MailRequest>][] = [
    ['text', {}],
    ['text and html with an attachment', { content: [{ type: 'text/plain', value: latin }, { type: 'text/html', value: `<p>${longLine}</p>` }], attachments: [{ content: png, filename: 'logo.png', type: 'image/png', disposition: 'attachment' }] }],
    ['custom headers with a To of their own', { headers: { To: 'ignored@example.com', 'X-Campaign': 'c1' } }],
  ];
  for (const [name, shape] of shapes) {
    test(`personalizations sharing one message (${name}) are what MailComposer makes for each`, async () => {
      const ps: Personalization[] = [
        personalization({ to: [{ email: 'first@example.com', name: 'First' }] }),
        personalization({ to: [{ email: 'zweite@example.com', name: 'Zweite Empfängerin mit einem recht langen Namen, der gefaltet wird' }, { email: 'x@example.com' }] }),
        personalization({ to: [{ email: 'third@example.com' }], cc: [{ email: 'cc@example.com', name: 'Cé' }], bcc: [{ email: 'b@example.com' }] }),
        personalization({ to: [{ email: 'fourth@example.com' }], cc: [{ email: 'cc2@example.com' }] }),
        personalization({ to: [{ email: 'fifth@example.com' }], subject: 'Own subject' }),
        personalization({ to: [{ email: 'sixth@example.com' }] }),
      ];
      const r = request({ ...shape, personalizations: ps });
      for (let i = 0; i < ps.length; i++) {
        const at = { ...input(r), personalizationIndex: i, messageId: `msg-${i}` };
        const fast = await composeMessage(at);
        const slow = await new MailComposer(mailOptions(at)).compile().build();
        assert.equal(sameBoundaries(fast.toString('utf8')), sameBoundaries(slow.toString('utf8')), `personalization ${i}`);
      }
    });
  }

  test('requests alike but for recipients, subject and date are each what MailComposer makes', async () => {
    const subjects = ['bench 1', 'bench 2', `Ünïcödé ${latin}`, '', '件名 😀 '.repeat(10), 'x'.repeat(200), 'bench 3'];
    const bodies: Partial<MailRequest>[] = [
      { content: [{ type: 'text/plain', value: 'Same body for everyone.\r\n' }] },
      { content: [{ type: 'text/plain', value: latin }, { type: 'text/html', value: `<p>${latin}</p>` }], headers: { 'X-Kind': 'alike' } },
      { content: [{ type: 'text/plain', value: 'With a custom Subject header.' }], headers: { Subject: 'from the headers' } },
    ];
    for (const body of bodies) {
      for (let i = 0; i < subjects.length; i++) {
        const r = request({ ...body, subject: subjects[i], personalizations: [personalization({ to: [{ email: `r${i}@example.com`, name: i % 2 ? 'Ödön' : undefined }], cc: i === 3 ? [{ email: 'c@example.com' }] : [] })] });
        const at = { ...input(r), messageId: `alike-${i}`, date: Date.UTC(2026, 0, 2, 3, 4, i * 7) };
        const fast = await composeMessage(at);
        const slow = await new MailComposer(mailOptions(at)).compile().build();
        assert.equal(sameBoundaries(fast.toString('utf8')), sameBoundaries(slow.toString('utf8')), `subject ${JSON.stringify(subjects[i])}`);
      }
    }
  });

  test('line breaks are CRLF only, whatever the content used: alone, shared by personalizations, alike across requests', async () => {
    const bare = /(?<!\r)\n|\r(?!\n)/;
    const crlf = (b: Buffer): string => b.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
    const bodies = ['line of text\n'.repeat(80), 'ends in a CR\r', 'mixed\r\nline\nends\rhere\n', `${latin}\n${latin}\n`];
    for (const [k, value] of bodies.entries()) {
      const ps = [personalization({ to: [{ email: 'one@example.com' }] }), personalization({ to: [{ email: 'two@example.com' }] })];
      const r = request({ content: [{ type: 'text/plain', value }], personalizations: ps });
      for (let i = 0; i < ps.length; i++) {
        const at = { ...input(r), personalizationIndex: i, messageId: `crlf-${k}-${i}` };
        const fast = await composeMessage(at);
        assert.doesNotMatch(fast.toString('latin1'), bare, `body ${k}, personalization ${i}`);
        // The same bytes as nodemailer's, but for its line breaks.
        assert.equal(fast.toString('latin1'), crlf(await new MailComposer(mailOptions(at)).compile().build()));
      }
      // A later request alike but for its recipient is made from the first one's body.
      const again = { ...input(request({ content: [{ type: 'text/plain', value }], personalizations: [personalization({ to: [{ email: 'three@example.com' }] })] })), messageId: `crlf-${k}-alike` };
      assert.doesNotMatch((await composeMessage(again)).toString('latin1'), bare);
    }
  });

  test('addresses without a name give the header nodemailer writes for the bare address', async () => {
    // Addresses reach nodemailer as objects, never through its address parser: for an address
    // validated at accept, both write the same field.
    const emails = ['rcpt@example.com', 'First.Last+tag@Sub.Example.COM', 'user@bücher.example', 'josé@example.com', "o'neil_x-y@example.co.uk"];
    for (const email of emails) {
      const r = request({ personalizations: [personalization({ to: [{ email }], cc: [{ email }] })], from: { email } });
      const at = { ...input(r), messageId: 'bare-address' };
      const ours = (await composeMessage(at)).toString('utf8');
      const theirs = (await new MailComposer({ ...mailOptions(at), from: email, to: email, cc: email }).compile().build()).toString('utf8');
      for (const name of ['From', 'To', 'Cc']) {
        const field = (m: string): string | undefined => m.split('\r\n').find((l) => l.startsWith(`${name}: `));
        assert.equal(field(ours), field(theirs), `${name} for ${email}`);
      }
    }
  });

  test('a tree with streamed content falls back to the streaming build', async () => {
    const { Readable } = await import('node:stream');
    const tree = new MailComposer({ from: 'a@example.com', to: 'b@example.com', text: Readable.from(['streamed']) }).compile();
    assert.equal(buildSync(tree), null);
    assert.match((await tree.build()).toString(), /streamed/);
  });
});
