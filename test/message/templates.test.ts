import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@sendgrid/client';
import sgMail from '@sendgrid/mail';
import { startTestHerald, mailBody, eventually, type TestHerald } from '../support/test-herald.js';

// SendGrid's Dynamic Transactional Templates end to end: templates and versions are managed per
// account over the API, one version is active, mail sent with template_id renders that version
// with Handlebars per personalization, and the version is fixed at accept time.

interface ErrorEntry {
  message: string;
  field: string | null;
  code: string;
}
interface VersionJson {
  id: string;
  template_id: string;
  active: 0 | 1;
  name: string;
  subject: string;
  html_content?: string;
  plain_content?: string;
  updated_at: string;
}
interface TemplateJson {
  id: string;
  name: string;
  generation: string;
  updated_at: string;
  versions: VersionJson[];
}
interface InboxDetail {
  id: string;
  msg_id: string;
  subject: string;
  text: string | null;
  html: string | null;
}

const SENDGRID_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const DYNAMIC_ID = /^d-[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let herald: TestHerald;
/** Each test mails its own recipients, so captures never mix. */
let unique = 0;
const rcpt = (label: string) => `${label}-${process.pid}-${++unique}@example.com`;

before(async () => {
  herald = await startTestHerald();
});

after(async () => {
  await herald.close();
});

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Asserts a refusal with this status, code and field; returns the error for further checks. */
async function refused(res: Response, status: number, code: string, field: string | null): Promise<ErrorEntry> {
  const body = await json<{ errors: ErrorEntry[] }>(res, status);
  const error = body.errors[0]!;
  assert.equal(error.code, code, JSON.stringify(body));
  assert.equal(error.field, field, JSON.stringify(body));
  return error;
}

const post = (path: string, body: unknown, key?: string) => herald.api(path, { method: 'POST', json: body, ...(key ? { key } : {}) });
const patch = (path: string, body: unknown, key?: string) => herald.api(path, { method: 'PATCH', json: body, ...(key ? { key } : {}) });
const del = (path: string, key?: string) => herald.api(path, { method: 'DELETE', ...(key ? { key } : {}) });
const get = (path: string, key?: string) => herald.api(path, key ? { key } : {});

async function createTemplate(name = 'welcome', key?: string): Promise<TemplateJson> {
  return json<TemplateJson>(await post('/v3/templates', { name, generation: 'dynamic' }, key), 201);
}

async function addVersion(templateId: string, version: Record<string, unknown>, key?: string): Promise<VersionJson> {
  return json<VersionJson>(await post(`/v3/templates/${templateId}/versions`, { name: 'v', subject: 'Subject', ...version }, key), 201);
}

async function getTemplate(id: string, key?: string): Promise<TemplateJson> {
  return json<TemplateJson>(await get(`/v3/templates/${id}`, key), 200);
}

const activeIds = (t: TemplateJson) => t.versions.filter((v) => v.active === 1).map((v) => v.id);

/** Sends and returns the X-Message-Id. */
async function send(body: Record<string, unknown>, key?: string): Promise<string> {
  const res = await post('/v3/mail/send', body, key);
  assert.equal(res.status, 202, await res.clone().text());
  return res.headers.get('x-message-id')!;
}

/** Waits for the capture addressed to `to` and returns it parsed. */
async function capturedFor(to: string): Promise<InboxDetail> {
  const entry = await eventually(async () => {
    const list = await json<{ messages: { id: string }[] }>(await get(`/v1/inbox?to=${encodeURIComponent(to)}`), 200);
    return list.messages[0];
  }, 15000, `a capture for ${to}`);
  return json<InboxDetail>(await get(`/v1/inbox/${entry.id}`), 200);
}

describe('templates and versions', () => {
  test('a dynamic template is created, read, listed, renamed and deleted', async () => {
    const created = await createTemplate('Order receipt');
    assert.match(created.id, DYNAMIC_ID);
    assert.equal(created.name, 'Order receipt');
    assert.equal(created.generation, 'dynamic');
    assert.match(created.updated_at, SENDGRID_TIME);
    assert.deepEqual(created.versions, []);

    assert.deepEqual(await getTemplate(created.id), created);

    const renamed = await json<TemplateJson>(await patch(`/v3/templates/${created.id}`, { name: 'Receipt' }), 200);
    assert.equal(renamed.name, 'Receipt');
    assert.equal((await getTemplate(created.id)).name, 'Receipt');

    const list = await json<{ result: TemplateJson[] }>(await get('/v3/templates?generations=dynamic&page_size=200'), 200);
    assert.ok(list.result.some((t) => t.id === created.id && t.name === 'Receipt'));

    await json(await del(`/v3/templates/${created.id}`), 204);
    await refused(await get(`/v3/templates/${created.id}`), 404, 'HERALD_ERR_NOT_FOUND', 'template_id');
    await refused(await del(`/v3/templates/${created.id}`), 404, 'HERALD_ERR_NOT_FOUND', 'template_id');
  });

  test('listing pages through templates with page_size and the next page_token', async () => {
    const { apiKey } = await herald.newAccount(`pager-${process.pid}-${++unique}`);
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await createTemplate(`t${i}`, apiKey)).id);
    const seen: string[] = [];
    let url: string | undefined = '/v3/templates?generations=dynamic&page_size=2';
    let pages = 0;
    while (url) {
      const page: { result: TemplateJson[]; _metadata: { next?: string; count: number } } = await json(await get(url, apiKey), 200);
      assert.ok(page.result.length <= 2);
      assert.equal(page._metadata.count, 5);
      seen.push(...page.result.map((t) => t.id));
      url = page._metadata.next ? new URL(page._metadata.next).pathname + new URL(page._metadata.next).search : undefined;
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, made);
    // Herald stores dynamic templates only: asking for legacy alone finds none.
    const legacy = await json<{ result: TemplateJson[] }>(await get('/v3/templates?generations=legacy&page_size=10', apiKey), 200);
    assert.deepEqual(legacy.result, []);
  });

  test('the first version is active, and exactly one version is active after every change', async () => {
    const t = await createTemplate();
    const first = await addVersion(t.id, { name: 'first', active: 0, html_content: '<p>1</p>' });
    assert.match(first.id, UUID);
    assert.equal(first.template_id, t.id);
    assert.equal(first.active, 1, 'the first version is always active');
    assert.equal(first.html_content, '<p>1</p>');
    assert.match(first.updated_at, SENDGRID_TIME);

    const second = await addVersion(t.id, { name: 'second', active: 0 });
    assert.equal(second.active, 0);
    assert.deepEqual(activeIds(await getTemplate(t.id)), [first.id]);

    const third = await addVersion(t.id, { name: 'third', active: 1 });
    assert.equal(third.active, 1);
    assert.deepEqual(activeIds(await getTemplate(t.id)), [third.id]);

    const activated = await json<VersionJson>(await post(`/v3/templates/${t.id}/versions/${second.id}/activate`, undefined), 200);
    assert.equal(activated.active, 1);
    assert.deepEqual(activeIds(await getTemplate(t.id)), [second.id]);

    const edited = await json<VersionJson>(await patch(`/v3/templates/${t.id}/versions/${first.id}`, { subject: 'New {{x}}', html_content: '<p>{{x}}</p>', active: 1 }), 200);
    assert.equal(edited.subject, 'New {{x}}');
    assert.equal(edited.html_content, '<p>{{x}}</p>');
    assert.equal(edited.active, 1);
    assert.deepEqual(activeIds(await getTemplate(t.id)), [first.id]);
    const fetched = await json<VersionJson>(await get(`/v3/templates/${t.id}/versions/${first.id}`), 200);
    assert.deepEqual(fetched, edited);

    await refused(await patch(`/v3/templates/${t.id}/versions/${first.id}`, { active: 0 }), 400, 'HERALD_ERR_ACTIVE_VERSION', 'active');
    await refused(await del(`/v3/templates/${t.id}/versions/${first.id}`), 400, 'HERALD_ERR_ACTIVE_VERSION', 'active');
    await json(await del(`/v3/templates/${t.id}/versions/${third.id}`), 204);
    await refused(await get(`/v3/templates/${t.id}/versions/${third.id}`), 404, 'HERALD_ERR_NOT_FOUND', 'version_id');
    const after = await getTemplate(t.id);
    assert.deepEqual(after.versions.map((v) => v.name), ['first', 'second']);
    assert.deepEqual(activeIds(after), [first.id]);
  });

  test('keys need the templates scopes', async () => {
    const t = await createTemplate();
    const readOnly = await herald.newKey(['templates.read']);
    await json(await get(`/v3/templates/${t.id}`, readOnly), 200);
    await refused(await post('/v3/templates', { name: 'x' }, readOnly), 403, 'HERALD_ERR_FORBIDDEN', null);
    await refused(await patch(`/v3/templates/${t.id}`, { name: 'x' }, readOnly), 403, 'HERALD_ERR_FORBIDDEN', null);
    await refused(await del(`/v3/templates/${t.id}`, readOnly), 403, 'HERALD_ERR_FORBIDDEN', null);
  });
});

describe('tenancy', () => {
  test("another account can neither read, edit, delete nor send with a template", async () => {
    const a = await herald.newAccount(`owner-${process.pid}-${++unique}`);
    const b = await herald.newAccount(`other-${process.pid}-${++unique}`);
    const t = await createTemplate('private', a.apiKey);
    const v = await addVersion(t.id, { html_content: '<p>secret</p>' }, a.apiKey);
    const before = await getTemplate(t.id, a.apiKey);

    const notFound = async (res: Response, field: string) => refused(res, 404, 'HERALD_ERR_NOT_FOUND', field);
    await notFound(await get(`/v3/templates/${t.id}`, b.apiKey), 'template_id');
    await notFound(await patch(`/v3/templates/${t.id}`, { name: 'stolen' }, b.apiKey), 'template_id');
    await notFound(await del(`/v3/templates/${t.id}`, b.apiKey), 'template_id');
    await notFound(await post(`/v3/templates/${t.id}/versions`, { name: 'x', subject: 'x' }, b.apiKey), 'template_id');
    await notFound(await get(`/v3/templates/${t.id}/versions/${v.id}`, b.apiKey), 'version_id');
    await notFound(await patch(`/v3/templates/${t.id}/versions/${v.id}`, { html_content: 'x' }, b.apiKey), 'version_id');
    await notFound(await del(`/v3/templates/${t.id}/versions/${v.id}`, b.apiKey), 'version_id');
    await notFound(await post(`/v3/templates/${t.id}/versions/${v.id}/activate`, undefined, b.apiKey), 'version_id');
    const listB = await json<{ result: TemplateJson[] }>(await get('/v3/templates?generations=dynamic&page_size=200', b.apiKey), 200);
    assert.deepEqual(listB.result, []);

    const to = rcpt('tenancy');
    const error = await refused(
      await post('/v3/mail/send', mailBody({ personalizations: [{ to: [{ email: to }] }], template_id: t.id, content: undefined }), b.apiKey),
      400,
      'HERALD_ERR_UNKNOWN_TEMPLATE',
      'template_id',
    );
    assert.match(error.message, new RegExp(t.id));
    assert.deepEqual(await getTemplate(t.id, a.apiKey), before, "A's template is unchanged");
  });
});

describe('sending with a template', () => {
  const HTML = [
    '<h1>Hi {{name}}</h1>',
    '<ul>{{#each items}}<li>{{title}} x{{qty}}</li>{{/each}}</ul>',
    '{{#if vip}}<b>VIP</b>{{else}}<i>regular</i>{{/if}}',
    '<span>[{{name.constructor}}|{{lookup this "constructor"}}|{{__proto__}}]</span>',
  ].join('\n');
  const PLAIN = 'Hi {{name}}{{#each items}}, {{title}}{{/each}}{{#unless vip}} (regular){{/unless}}';

  test('each personalization gets its own rendered subject, HTML and text, HTML-escaped in the HTML only', async () => {
    const t = await createTemplate('receipt');
    await addVersion(t.id, { subject: 'Receipt for {{name}}', html_content: HTML, plain_content: PLAIN });
    const alice = rcpt('alice');
    const bob = rcpt('bob');
    await send({
      personalizations: [
        { to: [{ email: alice }], dynamic_template_data: { name: '<script>alert(1)</script>', items: [{ title: 'Tea & cake', qty: 2 }], vip: true } },
        { to: [{ email: bob }], dynamic_template_data: { name: 'Bob', items: [{ title: 'Pen', qty: 1 }, { title: 'Ink', qty: 3 }], vip: false } },
      ],
      from: { email: 'shop@example.com' },
      template_id: t.id,
    });

    const a = await capturedFor(alice);
    assert.equal(a.subject, 'Receipt for <script>alert(1)</script>');
    assert.ok(a.html!.includes('<h1>Hi &lt;script&gt;alert(1)&lt;/script&gt;</h1>'), a.html!);
    assert.ok(!a.html!.includes('<script>'), 'data never reaches the HTML unescaped');
    assert.ok(a.html!.includes('<li>Tea &amp; cake x2</li>'), a.html!);
    assert.ok(a.html!.includes('<b>VIP</b>') && !a.html!.includes('regular'), a.html!);
    assert.ok(a.html!.includes('<span>[||]</span>'), `no prototype access: ${a.html}`);
    assert.equal(a.text!.trim(), 'Hi <script>alert(1)</script>, Tea & cake');

    const b = await capturedFor(bob);
    assert.equal(b.subject, 'Receipt for Bob');
    assert.ok(b.html!.includes('<h1>Hi Bob</h1>'), b.html!);
    assert.ok(b.html!.includes('<ul><li>Pen x1</li><li>Ink x3</li></ul>'), b.html!);
    assert.ok(b.html!.includes('<i>regular</i>') && !b.html!.includes('VIP'), b.html!);
    assert.equal(b.text!.trim(), 'Hi Bob, Pen, Ink (regular)');
  });

  test('a line break in the data never reaches the Subject header', async () => {
    const t = await createTemplate();
    await addVersion(t.id, { subject: 'Hello {{name}}', plain_content: 'x' });
    const to = rcpt('inject');
    await send({ personalizations: [{ to: [{ email: to }], dynamic_template_data: { name: 'Eve\r\nBcc: victim@example.com' } }], from: { email: 's@example.com' }, template_id: t.id });
    const captured = await capturedFor(to);
    assert.equal(captured.subject, 'Hello Eve Bcc: victim@example.com');
    const raw = await (await get(`/v1/inbox/${captured.id}/raw`)).text();
    assert.ok(!/^Bcc:/im.test(raw), raw);
  });

  test('subject comes from the personalization, then the request, then the template; content fills only what the template lacks', async () => {
    const t = await createTemplate();
    await addVersion(t.id, { subject: 'Template subject {{n}}', html_content: '<p>template html {{n}}</p>' });
    const fromPersonalization = rcpt('psubject');
    const fromRequest = rcpt('rsubject');
    await send({
      personalizations: [
        { to: [{ email: fromPersonalization }], subject: 'Personal subject', dynamic_template_data: { n: 1 } },
        { to: [{ email: fromRequest }], dynamic_template_data: { n: 2 } },
      ],
      from: { email: 's@example.com' },
      subject: 'Request subject',
      content: [
        { type: 'text/plain', value: 'request text' },
        { type: 'text/html', value: '<p>request html</p>' },
      ],
      template_id: t.id,
    });
    const p = await capturedFor(fromPersonalization);
    assert.equal(p.subject, 'Personal subject');
    assert.equal(p.html!.trim(), '<p>template html 1</p>', 'the template provides HTML: the request HTML is ignored');
    assert.equal(p.text!.trim(), 'request text', 'the template has no text part: the request text is used');
    const r = await capturedFor(fromRequest);
    assert.equal(r.subject, 'Request subject');
    assert.equal(r.html!.trim(), '<p>template html 2</p>');

    const fromTemplate = rcpt('tsubject');
    await send({ personalizations: [{ to: [{ email: fromTemplate }], dynamic_template_data: { n: 3 } }], from: { email: 's@example.com' }, template_id: t.id });
    assert.equal((await capturedFor(fromTemplate)).subject, 'Template subject 3');
  });

  test('mail renders the version as it was when accepted, and an edit applies to mail accepted after it', async () => {
    const t = await createTemplate();
    const v = await addVersion(t.id, { subject: 'Snapshot', html_content: '<p>one {{n}}</p>' });
    const body = (to: string, sendAt?: number) => ({
      personalizations: [{ to: [{ email: to }], dynamic_template_data: { n: 7 } }],
      from: { email: 's@example.com' },
      template_id: t.id,
      ...(sendAt !== undefined ? { send_at: sendAt } : {}),
    });

    const first = rcpt('snap1');
    await send(body(first));
    assert.equal((await capturedFor(first)).html!.trim(), '<p>one 7</p>');

    // Same version id, new content: the compiled-template cache must not serve the old one.
    await json(await patch(`/v3/templates/${t.id}/versions/${v.id}`, { html_content: '<p>two {{n}}</p>' }), 200);
    const second = rcpt('snap2');
    await send(body(second));
    assert.equal((await capturedFor(second)).html!.trim(), '<p>two 7</p>');

    // Held for a few seconds; edited and replaced by another active version in the meantime.
    const third = rcpt('snap3');
    await send(body(third, Math.floor(Date.now() / 1000) + 3));
    await json(await patch(`/v3/templates/${t.id}/versions/${v.id}`, { html_content: '<p>three {{n}}</p>' }), 200);
    await addVersion(t.id, { subject: 'Other', html_content: '<p>other</p>', active: 1 });
    assert.deepEqual((await json<{ messages: unknown[] }>(await get(`/v1/inbox?to=${encodeURIComponent(third)}`), 200)).messages, [], 'still held');
    const held = await capturedFor(third);
    assert.equal(held.subject, 'Snapshot');
    assert.equal(held.html!.trim(), '<p>two 7</p>');
  });

  /** Sends mail whose HTML is valid Handlebars but 100 × 100 × 100 iterations, beyond the render budget. */
  async function sendUnrenderable(to: string): Promise<string> {
    const t = await createTemplate();
    await addVersion(t.id, { html_content: '{{#each a}}{{#each ../a}}{{#each ../../a}}x{{/each}}{{/each}}{{/each}}' });
    return send({ personalizations: [{ to: [{ email: to }], dynamic_template_data: { a: Array.from({ length: 100 }, (_, i) => i) } }], from: { email: 's@example.com' }, template_id: t.id });
  }

  async function firstOutcome(msgId: string): Promise<{ event_name: string; reason: string | null; response: string | null; bounce_type: string | null }> {
    return eventually(async () => {
      const res = await get(`/v3/messages/${msgId}`);
      if (res.status !== 200) return undefined;
      const m = (await res.json()) as { events: { event_name: string; reason: string | null; response: string | null; bounce_type: string | null }[] };
      return m.events.find((e) => e.event_name !== 'processed');
    }, 15000, 'the outcome of the first attempt');
  }

  test('a template that cannot be rendered at delivery does not reach the inbox, and delivery goes on', async () => {
    const to = rcpt('budget');
    const outcome = await firstOutcome(`${await sendUnrenderable(to)}.0`);
    assert.notEqual(outcome.event_name, 'delivered');
    assert.match(outcome.reason ?? outcome.response ?? '', /html part failed to render: more than 100000 loop iterations/);
    assert.deepEqual((await json<{ messages: unknown[] }>(await get(`/v1/inbox?to=${encodeURIComponent(to)}`), 200)).messages, []);

    const after = rcpt('after');
    await send(mailBody({ personalizations: [{ to: [{ email: after }] }] }));
    assert.equal((await capturedFor(after)).subject, 'Hello');
  });

  test(
    'a template that cannot be rendered bounces at once instead of being retried',
    {},
    async () => {
      const outcome = await firstOutcome(`${await sendUnrenderable(rcpt('bounce'))}.0`);
      assert.equal(outcome.event_name, 'bounced');
      assert.match(outcome.reason ?? '', /failed to render/);
    },
  );
});

describe('the official SendGrid client', () => {
  test(
    '@sendgrid/client manages a dynamic template and @sendgrid/mail sends with it',
    {},
    async () => {
      const client = new Client();
      client.setApiKey(herald.apiKey);
      client.setDefaultRequest('baseUrl', herald.url);
      const [created, template] = await client.request({ method: 'POST', url: '/v3/templates', body: { name: 'sdk', generation: 'dynamic' } });
      assert.equal(created.statusCode, 201);
      const templateId = (template as { id: string }).id;
      const [, version] = await client.request({ method: 'POST', url: `/v3/templates/${templateId}/versions`, body: { name: 'v1', subject: 'Hi {{name}}', html_content: '<p>Hi {{name}}</p>', active: 1 } });
      const versionId = (version as { id: string }).id;
      const [listed] = await client.request({ method: 'GET', url: '/v3/templates', qs: { generations: 'dynamic', page_size: 10 } });
      assert.equal(listed.statusCode, 200);

      sgMail.setClient(client);
      const to = rcpt('sdk');
      const [sent] = await sgMail.send({ to, from: 's@example.com', templateId, dynamicTemplateData: { name: 'Ada' } });
      assert.equal(sent.statusCode, 202);
      const captured = await capturedFor(to);
      assert.equal(captured.subject, 'Hi Ada');

      const [activated] = await client.request({ method: 'POST', url: `/v3/templates/${templateId}/versions/${versionId}/activate` });
      assert.equal(activated.statusCode, 200);
      const [deleted] = await client.request({ method: 'DELETE', url: `/v3/templates/${templateId}` });
      assert.equal(deleted.statusCode, 204);
    },
  );
});

describe('bad input', () => {
  test('template bodies with missing or wrong fields are 400s naming the field', async () => {
    await refused(await post('/v3/templates', {}), 400, 'HERALD_ERR_MISSING_FIELD', 'name');
    await refused(await post('/v3/templates', { name: 42 }), 400, 'HERALD_ERR_INVALID_FIELD', 'name');
    await refused(await post('/v3/templates', { name: 'x'.repeat(101) }), 400, 'HERALD_ERR_INVALID_FIELD', 'name');
    await refused(await post('/v3/templates', { name: 'x', generation: 'modern' }), 400, 'HERALD_ERR_INVALID_FIELD', 'generation');
    const legacy = await refused(await post('/v3/templates', { name: 'x', generation: 'legacy' }), 400, 'HERALD_ERR_INVALID_FIELD', 'generation');
    assert.match(legacy.message, /legacy templates are not supported/);
    await refused(await post('/v3/templates', [1]), 400, 'HERALD_ERR_INVALID_FIELD', null);
    const t = await createTemplate();
    await refused(await patch(`/v3/templates/${t.id}`, { name: '' }), 400, 'HERALD_ERR_INVALID_FIELD', 'name');
    await refused(await get('/v3/templates?page_size=0'), 400, 'HERALD_ERR_INVALID_FIELD', 'page_size');
    await refused(await get('/v3/templates?page_size=201'), 400, 'HERALD_ERR_INVALID_FIELD', 'page_size');
    await refused(await get('/v3/templates?page_size=ten'), 400, 'HERALD_ERR_INVALID_FIELD', 'page_size');
    await refused(await get('/v3/templates?generations=modern'), 400, 'HERALD_ERR_INVALID_FIELD', 'generations');
    await refused(await get('/v3/templates/d-00000000000000000000000000000000'), 404, 'HERALD_ERR_NOT_FOUND', 'template_id');
  });

  test('version bodies with missing or wrong fields are 400s naming the field, and nothing is saved', async () => {
    const t = await createTemplate();
    const path = `/v3/templates/${t.id}/versions`;
    await refused(await post(path, { name: 'v' }), 400, 'HERALD_ERR_MISSING_FIELD', 'subject');
    await refused(await post(path, { subject: 's' }), 400, 'HERALD_ERR_MISSING_FIELD', 'name');
    await refused(await post(path, { name: 'v', subject: 5 }), 400, 'HERALD_ERR_INVALID_FIELD', 'subject');
    await refused(await post(path, { name: 'v', subject: 'a\r\nBcc: x@example.com' }), 400, 'HERALD_ERR_HEADER_INJECTION', 'subject');
    await refused(await post(path, { name: 'v', subject: 's'.repeat(256) }), 400, 'HERALD_ERR_INVALID_FIELD', 'subject');
    await refused(await post(path, { name: 'v', subject: 's', html_content: ['<p>'] }), 400, 'HERALD_ERR_INVALID_FIELD', 'html_content');
    await refused(await post(path, { name: 'v', subject: 's', plain_content: {} }), 400, 'HERALD_ERR_INVALID_FIELD', 'plain_content');
    await refused(await post(path, { name: 'v', subject: 's', active: true }), 400, 'HERALD_ERR_INVALID_FIELD', 'active');
    await refused(await post(path, { name: 'v', subject: 's', active: 2 }), 400, 'HERALD_ERR_INVALID_FIELD', 'active');
    await refused(await post('/v3/templates/d-00000000000000000000000000000000/versions', { name: 'v', subject: 's' }), 404, 'HERALD_ERR_NOT_FOUND', 'template_id');
    assert.deepEqual((await getTemplate(t.id)).versions, []);
  });

  test('a Handlebars syntax error is refused at save time, naming the field and the line', async () => {
    const t = await createTemplate();
    const path = `/v3/templates/${t.id}/versions`;
    const html = await refused(await post(path, { name: 'v', subject: 's', html_content: '<p>\n{{#if paid}}\npaid\n{{/each}}' }), 400, 'HERALD_ERR_TEMPLATE_SYNTAX', 'html_content');
    assert.match(html.message, /^html_content, line 2: if doesn't match each/);
    const plain = await refused(await post(path, { name: 'v', subject: 's', plain_content: 'one\ntwo\n{{#each items}}x' }), 400, 'HERALD_ERR_TEMPLATE_SYNTAX', 'plain_content');
    assert.match(plain.message, /^plain_content, line 3: /);
    await refused(await post(path, { name: 'v', subject: 'Hi {{name' }), 400, 'HERALD_ERR_TEMPLATE_SYNTAX', 'subject');
    const helper = await refused(await post(path, { name: 'v', subject: 's', html_content: '{{#equals a b}}x{{/equals}}' }), 400, 'HERALD_ERR_TEMPLATE_SYNTAX', 'html_content');
    assert.match(helper.message, /equals is not a helper Herald supports/);
    await refused(await post(path, { name: 'v', subject: 's', html_content: '{{> footer}}' }), 400, 'HERALD_ERR_TEMPLATE_SYNTAX', 'html_content');
    assert.deepEqual((await getTemplate(t.id)).versions, []);

    const v = await addVersion(t.id, { html_content: '<p>{{ok}}</p>' });
    await refused(await patch(`${path}/${v.id}`, { html_content: '{{#if}}{{/if}}' }), 400, 'HERALD_ERR_TEMPLATE_SYNTAX', 'html_content');
    assert.equal((await json<VersionJson>(await get(`${path}/${v.id}`), 200)).html_content, '<p>{{ok}}</p>', 'unchanged');
  });

  test('a version over 1 MiB of content is refused', async () => {
    const t = await createTemplate();
    const error = await refused(
      await post(`/v3/templates/${t.id}/versions`, { name: 'v', subject: 's', html_content: 'x'.repeat(1024 * 1024) }),
      400,
      'HERALD_ERR_TEMPLATE_TOO_LARGE',
      'html_content',
    );
    assert.match(error.message, /1048576 bytes/);
    const v = await addVersion(t.id, { html_content: 'x'.repeat(600 * 1024) });
    // The limit holds for the version as a PATCH leaves it, not only for the fields it sends.
    await refused(await patch(`/v3/templates/${t.id}/versions/${v.id}`, { plain_content: 'y'.repeat(500 * 1024) }), 400, 'HERALD_ERR_TEMPLATE_TOO_LARGE', 'html_content');
  });

  test('sending with an unknown template, or one without an active version, is a 400 on template_id', async () => {
    const send = (templateId: unknown) =>
      post('/v3/mail/send', { personalizations: [{ to: [{ email: rcpt('never') }] }], from: { email: 's@example.com' }, template_id: templateId });
    await refused(await send('d-00000000000000000000000000000000'), 400, 'HERALD_ERR_UNKNOWN_TEMPLATE', 'template_id');
    const empty = await createTemplate('no versions yet');
    const error = await refused(await send(empty.id), 400, 'HERALD_ERR_UNKNOWN_TEMPLATE', 'template_id');
    assert.match(error.message, /no active version/);
    await refused(await send(12345), 400, 'HERALD_ERR_INVALID_FIELD', 'template_id');
  });
});
