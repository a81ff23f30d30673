// Each role's dashboard in a real browser (Debian's headless Chromium driven by playwright-core),
// over a real relay process: the office's team store with a partnership and a statistics space,
// a nurse's device with the team's health space, a SIAO device that joined the partnership only,
// and a statistics-only device. Each dashboard shows what its role may see and nothing else: the
// nurse reads the health note on the person's page where the office sees none; the SIAO sees the
// one person who consented, writes the shared assessment with a form and never reaches a team
// page; the office follows the SIAO's acknowledgement of a withdrawal; the statistics device
// reads the published report's figures.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.ALLERVERS_BIN ?? join(root, 'target', 'debug', 'allervers');
const relayBin = process.env.ALLERVERS_RELAY_BIN ?? join(dirname(bin), 'allervers-relay');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'allervers-roles-'));
const adminToken = 'jeton-admin-du-test-des-roles';
const env = { ...process.env, ALLERVERS_KEY: 'clé du test des rôles', ALLERVERS_RELAY_ADMIN_TOKEN: adminToken };
delete env.ALLERVERS_DATA;

const NOTE = 'Pansement au pied gauche, plaie propre (Qz8)';
const SOUGHT = 'pension de famille près du canal';
const today = new Date().toISOString().slice(0, 10);

function cli(store, ...args) {
  const out = execFileSync(bin, ['--data', join(work, store), '--json', ...args], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
}

/// Starts a process and resolves with the first match of `pattern` in its standard output.
function started(command, args, pattern, what) {
  const child = spawn(command, args, { env });
  const found = new Promise((ok, fail) => {
    let seen = '';
    child.stdout.on('data', (d) => {
      seen += d;
      const m = seen.match(pattern);
      if (m) ok(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`${what} exited: ${code}`)));
    setTimeout(() => fail(new Error(`no ${what} address within 20 s`)), 20_000);
  });
  return { child, found };
}

const children = [];
async function dashboard(store, ...flags) {
  const { child, found } = started(bin, ['--data', join(work, store), ...flags, 'dashboard'],
    /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/, 'dashboard');
  children.push(child);
  return found;
}

let browser;
let baptiste;
let urls = {};

before(async () => {
  const relay = started(relayBin, ['--addr', '127.0.0.1:0', '--data', join(work, 'relay'), '--admin-token', adminToken],
    /listening on (http:\/\/127\.0\.0\.1:\d+)/, 'relay');
  children.push(relay.child);
  const relayUrl = await relay.found;

  cli('office', 'init', '--device-name', 'Poste bureau', '--worker', 'Sophie');
  cli('nurse', 'init', '--device-name', 'Téléphone infirmière', '--worker', 'Amina');
  cli('siao', 'init', '--device-name', 'Poste SIAO', '--worker', 'Hélène');
  cli('stats', 'init', '--device-name', 'Poste financeur', '--worker', 'Marc');
  cli('office', 'space', 'create', 'Maraude nord', '--relay', relayUrl);
  cli('nurse', 'join', cli('office', 'invite').code);
  cli('office', 'sync');
  cli('nurse', 'sync');

  baptiste = cli('office', 'person', 'add', '--name', 'Baptiste Morel', '--situation', 'street').id;
  cli('office', 'person', 'add', '--name', 'Yasmine Haddad', '--situation', 'squat');
  cli('office', 'encounter', 'log', '--person', baptiste, '--place', 'quai de Jemmapes', '--service', 'food');
  cli('office', 'sync');
  cli('nurse', 'sync');

  // The health space: opened by the office, founded by the nurse's device, which writes a note.
  cli('nurse', 'health', 'found', cli('office', 'health', 'code').code);
  cli('nurse', 'health', 'note', baptiste, '--category', 'care', '--text', NOTE, '--next-step', 'revoir jeudi');
  cli('nurse', 'sync');
  cli('office', 'sync');

  // The partnership with the SIAO: Baptiste consents to his identity and the assessment;
  // Yasmine to nothing.
  cli('office', 'partnership', 'open', 'siao');
  cli('siao', 'partnership', 'join', cli('office', '--partner', 'siao', 'invite').code);
  cli('office', 'sync');
  cli('siao', 'sync');
  cli('office', 'consent', 'record', baptiste, '--partner', 'siao', '--category', 'identity_contact',
    '--category', 'shared_assessment', '--given', '--how', 'oral');
  cli('office', 'partnership', 'publish', 'siao');
  cli('office', 'sync');
  cli('siao', 'sync');

  // The statistics space, with this month's report.
  cli('office', 'statistics', 'open');
  cli('stats', 'statistics', 'join', cli('office', '--statistics', 'invite').code);
  cli('office', 'sync');
  cli('office', 'statistics', 'publish', '--from', today, '--to', today);
  cli('office', 'sync');
  cli('stats', 'sync');

  urls = {
    office: await dashboard('office'),
    nurse: await dashboard('nurse'),
    siao: await dashboard('siao'),
    stats: await dashboard('stats'),
  };
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGINT');
  rmSync(work, { recursive: true, force: true });
});

/// A new page whose Content-Security-Policy refusals are kept, to be checked by `noneRefused`.
async function newPage() {
  const page = await browser.newPage();
  page.refused = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) page.refused.push(m.text());
  });
  return page;
}

/// Closes `page` once sure the dashboard's policy refused nothing on it (no script, no inline
/// style on any role's pages).
async function noneRefused(page) {
  assert.deepEqual(page.refused, [], 'nothing the policy had to refuse');
  await page.close();
}

/// The address of `path` on the dashboard whose printed address is `url` (its token kept).
function at(url, path) {
  const u = new URL(url);
  u.pathname = path;
  return u.href;
}

test("the nurse's dashboard holds the health note on the person's page; the office's does not", async () => {
  const page = await newPage();
  await page.goto(urls.nurse);
  await page.click('nav a[href="/health"]');
  await page.click('#health-list a:has-text("Baptiste")');
  await page.waitForSelector('#health-notes');
  const notes = (await page.locator('#health-notes tr.health-note').allInnerTexts()).join('\n');
  assert.match(notes, /Qz8/);
  assert.match(notes, /revoir jeudi/);
  // The timeline still shows the team's encounter.
  assert.match((await page.locator('#timeline').innerText()), /Jemmapes/);
  // The reading is logged in the health space's own log.
  const log = cli('nurse', '--health', 'access-log');
  assert.ok(log.some((e) => e.what === 'health' && e.person === baptiste && e.via === 'dashboard'), JSON.stringify(log));

  await page.goto(urls.office);
  await page.goto(at(urls.office, `/person/${baptiste}`));
  await page.waitForSelector('#timeline');
  assert.equal(await page.locator('#health').count(), 0, 'no health section on the office');
  assert.doesNotMatch(await page.content(), /Qz8/);
  assert.equal(await page.locator('nav a[href="/health"]').count(), 0);
  const refused = await page.goto(at(urls.office, '/health'));
  assert.equal(refused.status(), 404);
  await noneRefused(page);
});

test('the SIAO sees only the person who consented, and writes the shared assessment', async () => {
  const page = await newPage();
  await page.goto(urls.siao);
  const rows = await page.locator('#projections tr.projection').allInnerTexts();
  assert.equal(rows.length, 1, rows.join('\n'));
  assert.match(rows[0], /Baptiste Morel/);
  assert.doesNotMatch(await page.content(), /Yasmine|Haddad/);
  await page.click('#projections a:has-text("Baptiste")');
  await page.waitForSelector('#projection');
  // Identity was consented; the situation was not.
  assert.equal(await page.locator('#projection tr[data-field="name"] td').innerText(), 'Baptiste Morel');
  assert.equal(await page.locator('#projection tr[data-field="situation"]').count(), 0);
  assert.doesNotMatch(await page.content(), /Jemmapes|Qz8/);

  await page.fill('#assessment textarea[name="housing_sought"]', SOUGHT);
  await page.click('#assessment button');
  await page.waitForSelector('#assessment-history tr.change');
  assert.equal(await page.locator('#assessment textarea[name="housing_sought"]').inputValue(), SOUGHT);
  const history = (await page.locator('#assessment-history tr.change').allInnerTexts()).join('\n');
  assert.match(history, /Hélène/);
  // Saving the form again with nothing changed writes nothing.
  await page.click('#assessment button');
  await page.waitForSelector('#assessment-history');
  assert.equal(await page.locator('#assessment-history tr.change').count(), 1);

  // No page of the team exists on a partner's dashboard.
  for (const path of ['/conflicts', '/report', '/access-log', `/person/${baptiste}`, '/retention']) {
    const response = await page.goto(at(urls.siao, path));
    assert.equal(response.status(), 404, path);
  }
  await noneRefused(page);

  // The office reads what the SIAO wrote, with its author.
  cli('siao', 'sync');
  cli('office', 'sync');
  const projection = cli('siao', 'partnership', 'list')[0].id;
  const shown = cli('office', '--partner', 'siao', 'partnership', 'show', projection);
  assert.equal(shown.projection.assessment.housing_sought, SOUGHT);
});

test("the office's partnership page follows a withdrawal until the SIAO's device acknowledges it", async () => {
  cli('office', 'consent', 'record', baptiste, '--partner', 'siao', '--category', 'identity_contact',
    '--refused', '--how', 'oral');
  cli('office', 'sync');
  cli('siao', 'sync');
  cli('siao', 'sync');
  cli('office', 'sync');
  const page = await newPage();
  await page.goto(urls.office);
  await page.click('nav a[href="/partnerships"]');
  await page.waitForSelector('#partner-siao');
  const orders = await page.locator('#partner-siao tr.order').allInnerTexts();
  assert.equal(orders.length, 1, orders.join('\n'));
  assert.match(await page.locator('#partner-siao tr.order td.acknowledged').innerText(), /Poste SIAO/);
  assert.equal(await page.locator('#partner-siao tr.order td.waiting').innerText(), '');

  // The SIAO's dashboard no longer shows his name.
  await page.goto(urls.siao);
  assert.doesNotMatch(await page.content(), /Baptiste Morel/);
  await noneRefused(page);
});

test('the statistics device reads the published report and nothing nominative', async () => {
  const page = await newPage();
  await page.goto(urls.stats);
  await page.click('#published a');
  await page.waitForSelector('#report');
  const figure = async (name) => Number(await page.locator(`tr[data-figure="${name}"] td.current`).innerText());
  const expected = cli('office', 'report', '--from', today, '--to', today);
  assert.equal(await figure('activity.encounters'), expected.encounters.current);
  assert.equal(await figure('activity.encounters'), 1);
  assert.equal(await figure('activity.persons_met'), expected.persons_met.current);
  assert.doesNotMatch(await page.content(), /Baptiste|Yasmine/);
  for (const path of ['/conflicts', `/person/${baptiste}`, '/report']) {
    const response = await page.goto(at(urls.stats, path));
    assert.equal(response.status(), 404, path);
  }
  await noneRefused(page);
});
