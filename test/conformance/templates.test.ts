import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import type { NewTemplateVersion, TemplateVersion } from '../../src/message/template-store.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

const version = (name: string, active = false, html: string | null = `<p>${name}</p>`): NewTemplateVersion => ({
  name,
  subject: `subject ${name}`,
  htmlContent: html,
  plainContent: null,
  active,
});

function added(result: TemplateVersion | 'not_found' | 'limit'): TemplateVersion {
  assert.ok(typeof result === 'object', `expected a version, got ${result}`);
  return result;
}

for (const [name, make] of backendsUnderTest()) {
  describe(`template store conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId } = fresh));

    test('creates a dynamic template with a d- id and reads it back', async () => {
      const created = (await backend.templates.create(accountId, { name: 'welcome', generation: 'dynamic' }, 300))!;
      assert.match(created.id, /^d-[0-9a-f]{32}$/);
      assert.deepEqual(created.versions, []);
      assert.deepEqual(await backend.templates.get(accountId, created.id), created);
    });

    test("another account's template is absent to every verb", async () => {
      const t = (await backend.templates.create(accountId, { name: 'mine', generation: 'dynamic' }, 300))!;
      const v = added(await backend.templates.addVersion(accountId, t.id, version('one'), 300));
      const s = backend.templates;
      assert.equal(await s.get(otherAccountId, t.id), null);
      assert.equal(await s.rename(otherAccountId, t.id, 'x'), null);
      assert.equal(await s.delete(otherAccountId, t.id), false);
      assert.equal(await s.addVersion(otherAccountId, t.id, version('x'), 300), 'not_found');
      assert.equal(await s.getVersion(otherAccountId, t.id, v.id), null);
      assert.equal(await s.updateVersion(otherAccountId, t.id, v.id, { name: 'x' }), null);
      assert.equal(await s.activateVersion(otherAccountId, t.id, v.id), null);
      assert.equal(await s.deleteVersion(otherAccountId, t.id, v.id), 'not_found');
      assert.equal(await s.activeVersion(otherAccountId, t.id), null);
      assert.deepEqual((await s.list(otherAccountId, { generations: ['dynamic'], limit: 10 })).templates, []);
      assert.equal((await s.get(accountId, t.id))!.name, 'mine');
    });

    test('the first version is active whatever it asks; exactly one is active after each change', async () => {
      const t = (await backend.templates.create(accountId, { name: 't', generation: 'dynamic' }, 300))!;
      const active = async () => (await backend.templates.get(accountId, t.id))!.versions.filter((v) => v.active).map((v) => v.name);
      const one = added(await backend.templates.addVersion(accountId, t.id, version('one', false), 300));
      assert.equal(one.active, true);
      const two = added(await backend.templates.addVersion(accountId, t.id, version('two', false), 300));
      assert.deepEqual(await active(), ['one']);
      added(await backend.templates.addVersion(accountId, t.id, version('three', true), 300));
      assert.deepEqual(await active(), ['three']);
      assert.equal((await backend.templates.activateVersion(accountId, t.id, two.id))!.active, true);
      assert.deepEqual(await active(), ['two']);
      const found = await backend.templates.activeVersion(accountId, t.id);
      assert.equal(found?.version?.id, two.id);
    });

    test('updating a version changes only the given fields', async () => {
      const t = (await backend.templates.create(accountId, { name: 't', generation: 'dynamic' }, 300))!;
      const v = added(await backend.templates.addVersion(accountId, t.id, version('one'), 300));
      const updated = (await backend.templates.updateVersion(accountId, t.id, v.id, { plainContent: 'text', subject: 'new' }))!;
      assert.equal(updated.subject, 'new');
      assert.equal(updated.plainContent, 'text');
      assert.equal(updated.htmlContent, '<p>one</p>');
      assert.equal(updated.name, 'one');
      assert.deepEqual(await backend.templates.getVersion(accountId, t.id, v.id), updated);
    });

    test('the active version is kept while others remain; the last one may go', async () => {
      const t = (await backend.templates.create(accountId, { name: 't', generation: 'dynamic' }, 300))!;
      const one = added(await backend.templates.addVersion(accountId, t.id, version('one'), 300));
      const two = added(await backend.templates.addVersion(accountId, t.id, version('two'), 300));
      assert.equal(await backend.templates.deleteVersion(accountId, t.id, one.id), 'active');
      assert.equal(await backend.templates.deleteVersion(accountId, t.id, two.id), 'deleted');
      assert.equal(await backend.templates.deleteVersion(accountId, t.id, two.id), 'not_found');
      assert.equal(await backend.templates.deleteVersion(accountId, t.id, one.id), 'deleted');
      assert.deepEqual(await backend.templates.activeVersion(accountId, t.id), { templateId: t.id, version: null });
    });

    test('deleting a template deletes its versions', async () => {
      const t = (await backend.templates.create(accountId, { name: 't', generation: 'dynamic' }, 300))!;
      const v = added(await backend.templates.addVersion(accountId, t.id, version('one'), 300));
      assert.equal(await backend.templates.delete(accountId, t.id), true);
      assert.equal(await backend.templates.getVersion(accountId, t.id, v.id), null);
      assert.equal(await backend.templates.activeVersion(accountId, t.id), null);
    });

    test('the template and version limits hold per account', async () => {
      const t = (await backend.templates.create(accountId, { name: 'a', generation: 'dynamic' }, 2))!;
      assert.ok(await backend.templates.create(accountId, { name: 'b', generation: 'dynamic' }, 2));
      assert.equal(await backend.templates.create(accountId, { name: 'c', generation: 'dynamic' }, 2), null);
      assert.ok(await backend.templates.create(otherAccountId, { name: 'c', generation: 'dynamic' }, 2));
      added(await backend.templates.addVersion(accountId, t.id, version('one'), 1));
      assert.equal(await backend.templates.addVersion(accountId, t.id, version('two'), 1), 'limit');
    });

    test('lists oldest first a page at a time, versions without their content', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await backend.templates.create(accountId, { name: `t${i}`, generation: 'dynamic' }, 300))!.id);
      added(await backend.templates.addVersion(accountId, ids[0]!, version('one'), 300));
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await backend.templates.list(accountId, { generations: ['dynamic'], limit: 2, ...(after !== undefined ? { after } : {}) });
        assert.equal(page.total, 5);
        seen.push(...page.templates.map((t) => t.id));
        if (pages === 0) {
          assert.equal(page.templates[0]!.versions.length, 1);
          assert.ok(!('htmlContent' in page.templates[0]!.versions[0]!));
        }
        after = page.next ?? undefined;
        pages++;
      } while (after !== undefined);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ids);
      assert.deepEqual((await backend.templates.list(accountId, { generations: [], limit: 2 })).templates, []);
    });
    test('versions are kept in creation order, those of one millisecond too', async () => {
      const t = (await backend.templates.create(accountId, { name: 't', generation: 'dynamic' }, 300))!;
      const names = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5'];
      for (const n of names) added(await backend.templates.addVersion(accountId, t.id, version(n), 300));
      assert.deepEqual((await backend.templates.get(accountId, t.id))!.versions.map((v) => v.name), names);
      const listed = (await backend.templates.list(accountId, { generations: ['dynamic'], limit: 10 })).templates[0]!;
      assert.deepEqual(listed.versions.map((v) => v.name), names);
    });

    test('an unreadable cursor gives an empty last page; an id with NUL names no template', async () => {
      const t = (await backend.templates.create(accountId, { name: 't', generation: 'dynamic' }, 300))!;
      const page = await backend.templates.list(accountId, { generations: ['dynamic'], limit: 10, after: 'not a cursor' });
      assert.deepEqual(page, { templates: [], next: null, total: 1 });
      assert.equal(await backend.templates.get(accountId, '\0'), null);
      assert.equal(await backend.templates.rename(accountId, '\0', 'x'), null);
      assert.equal(await backend.templates.delete(accountId, '\0'), false);
      assert.equal(await backend.templates.addVersion(accountId, '\0', version('x'), 300), 'not_found');
      assert.equal(await backend.templates.getVersion(accountId, t.id, '\0'), null);
      assert.equal(await backend.templates.deleteVersion(accountId, t.id, '\0'), 'not_found');
      assert.equal(await backend.templates.activeVersion(accountId, '\0'), null);
    });

    test('concurrent writers: the limits hold and exactly one version stays active', async () => {
      const made = await Promise.all(Array.from({ length: 8 }, (_, i) => backend.templates.create(accountId, { name: `c${i}`, generation: 'dynamic' }, 5)));
      assert.equal(made.filter((t) => t !== null).length, 5);
      const t = made.find((x) => x !== null)!;
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => backend.templates.addVersion(accountId, t.id, version(`v${i}`, true), 6)));
      assert.equal(outcomes.filter((o) => typeof o === 'object').length, 6);
      assert.equal(outcomes.filter((o) => o === 'limit').length, 2);
      const versions = (await backend.templates.get(accountId, t.id))!.versions;
      assert.equal(versions.length, 6);
      assert.equal(versions.filter((v) => v.active).length, 1);
      const others = versions.filter((v) => !v.active);
      await Promise.all(others.map((v) => backend.templates.activateVersion(accountId, t.id, v.id)));
      assert.equal((await backend.templates.get(accountId, t.id))!.versions.filter((v) => v.active).length, 1);
    });
  });
}
