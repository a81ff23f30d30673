// The supervisor's dashboard in a real browser: Debian's headless Chromium driven by
// playwright-core (never a browser it downloads). Two workers' stores are made with the command
// line; the dashboard of one is opened on localhost; the test opens a person, sees encounters
// from both devices in one timeline, resolves a conflict with a button, and checks the report's
// figures against `allervers report --json`; every page runs under the dashboard's
// Content-Security-Policy (no script, no inline style) with its style sheet applied.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.ALLERVERS_BIN ?? join(root, 'target', 'debug', 'allervers');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const work = mkdtempSync(join(tmpdir(), 'allervers-dashboard-'));
const env = { ...process.env, ALLERVERS_KEY: 'clé du test navigateur', ALLERVERS_BUNDLE_PASSPHRASE: 'phrase du test' };
delete env.ALLERVERS_DATA;

function cli(store, ...args) {
  const out = execFileSync(bin, ['--data', join(work, store), '--json', ...args], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
}

let dashboard;
let browser;
let url;
let karim;
const today = new Date().toISOString().slice(0, 10);

before(async () => {
  cli('a', 'init', '--device-name', 'Téléphone maraude 1', '--worker', 'Amina');
  cli('b', 'init', '--device-name', 'Téléphone maraude 2', '--worker', 'Julien');
  karim = cli('a', 'person', 'add', '--name', 'Karim', '--nickname', 'le Grand', '--situation', 'street').id;
  const bundle = (s) => join(work, `${s}.bundle`);
  cli('a', 'changes', 'export', '--out', bundle('a'));
  cli('b', 'changes', 'import', bundle('a'));
  cli('a', 'encounter', 'log', '--person', karim, '--place', "parvis de la gare de l'Est", '--service', 'drink');
  cli('a', 'person', 'edit', karim, '--situation', 'emergency_shelter');
  cli('b', 'encounter', 'log', '--person', karim, '--place', 'quai de Valmy', '--service', 'food', '--anonymous', '2');
  cli('b', 'person', 'edit', karim, '--situation', 'squat');
  cli('a', 'changes', 'export', '--out', bundle('a'));
  cli('b', 'changes', 'export', '--out', bundle('b'));
  cli('a', 'changes', 'import', bundle('b'));
  cli('b', 'changes', 'import', bundle('a'));
  assert.equal(cli('a', 'conflicts').length, 1);

  dashboard = spawn(bin, ['--data', join(work, 'a'), 'dashboard'], { env });
  url = await new Promise((ok, fail) => {
    let seen = '';
    dashboard.stdout.on('data', (d) => {
      seen += d;
      const m = seen.match(/Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/);
      if (m) ok(m[1]);
    });
    dashboard.on('exit', (code) => fail(new Error(`dashboard exited: ${code}`)));
    setTimeout(() => fail(new Error('no dashboard address within 20 s')), 20_000);
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  dashboard?.kill('SIGINT');
  rmSync(work, { recursive: true, force: true });
});

test('without the token the dashboard refuses', async () => {
  const page = await browser.newPage();
  const response = await page.goto(url.replace(/\?token=.*/, ''));
  assert.equal(response.status(), 401);
  await page.close();
});

test('a person found by search shows encounters from both devices in one timeline', async () => {
  const page = await browser.newPage();
  await page.goto(url);
  await page.fill('input[name=q]', 'KARIM');
  await page.click('form button');
  await page.click('#persons a:has-text("Karim")');
  await page.waitForSelector('#timeline');
  const rows = await page.locator('#timeline tr.entry').allInnerTexts();
  const text = rows.join('\n');
  assert.match(text, /gare de l'Est/);
  assert.match(text, /quai de Valmy/);
  const authors = await page.locator('#timeline td.author').allInnerTexts();
  assert.ok(authors.some((a) => a.includes('Amina')), authors.join(', '));
  assert.ok(authors.some((a) => a.includes('Julien')), authors.join(', '));
  await page.screenshot({ path: join(work, 'person.png') });
  await page.close();
});

test('opening a person is listed in the access log, and their dossier downloads', async () => {
  const page = await browser.newPage();
  await page.goto(url);
  await page.click('#persons a:has-text("Karim")');
  await page.waitForSelector('#access-log');
  const readers = await page.locator('#access-log td.worker').allInnerTexts();
  assert.ok(readers.length >= 2 && readers.every((w) => w.length > 0), readers.join(', '));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dossier')]);
  assert.match(download.suggestedFilename(), /^dossier-.*\.html$/);
  await page.click('nav a[href="/access-log"]');
  await page.waitForSelector('#access-log');
  const whats = (await page.locator('#access-log tr.access').allInnerTexts()).join('\n');
  assert.match(whats, /dossier établi/);
  await page.close();
});

test('a conflict is resolved with a button and the choice is recorded', async () => {
  const page = await browser.newPage();
  await page.goto(url);
  await page.click('nav a[href="/conflicts"]');
  await page.waitForSelector('#conflicts tr.conflict');
  await page.click('button.resolve[data-value="emergency_shelter"]');
  await page.waitForSelector('#no-conflict');
  assert.deepEqual(cli('a', 'conflicts'), []);
  const person = cli('a', 'person', 'show', karim);
  assert.equal(person.situation, 'emergency_shelter');
  const history = cli('a', 'history', karim);
  const resolved = history.filter((h) => h.op === 'resolved');
  assert.equal(resolved.length, 1);
  assert.equal(resolved[0].author.worker, 'Amina');
  await page.close();
});

test('the report page shows the same figures as the command line', async () => {
  const page = await browser.newPage();
  await page.goto(url);
  await page.goto(new URL(`/report?from=${today}&to=${today}&lang=en`, url).href);
  const figure = async (name) => Number(await page.locator(`tr[data-figure="${name}"] td.current`).innerText());
  const expected = cli('a', 'report', '--from', today, '--to', today);
  assert.equal(await figure('activity.encounters'), expected.encounters.current);
  assert.equal(await figure('activity.encounters'), 2);
  assert.equal(await figure('activity.persons_met'), expected.persons_met.current);
  assert.equal(await figure('activity.anonymous_contacts'), expected.anonymous_contacts.current);
  assert.equal(await figure('activity.new_persons'), expected.new_persons.current);
  assert.ok(await page.locator('svg.chart').count() >= 1, 'charts are drawn');
  assert.match(await page.locator('h1').innerText(), /Activity report/);
  await page.close();
});

test('every page runs under the Content-Security-Policy with its style sheet applied', async () => {
  const page = await browser.newPage();
  const refused = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) refused.push(m.text());
  });
  const response = await page.goto(url);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(response.headers()['x-frame-options'], 'DENY');
  assert.equal(response.headers()['cache-control'], 'no-store');
  for (const href of ['/conflicts', '/duplicates', '/households', '/homes', '/offers', '/report', '/access-log', '/']) {
    await page.click(`nav a[href="${href}"]`);
    await page.waitForLoadState('load');
    const nav = await page.locator('nav').evaluate((n) => getComputedStyle(n).backgroundColor);
    assert.equal(nav, 'rgb(29, 59, 90)', `${href}: the style sheet is applied`);
  }
  await page.click('#persons a:has-text("Karim")');
  await page.waitForSelector('#timeline');
  assert.deepEqual(refused, [], 'nothing the policy had to refuse');
  await page.close();
});

test('a duplicate is merged with a button, counted once, and the merge undone from the person page', async () => {
  const first = cli('a', 'person', 'add', '--name', 'Moussa', '--birth-year', '1984').id;
  const second = cli('a', 'person', 'add', '--name', 'MOUSSA', '--nickname', 'Mouss', '--birth-year', '1985').id;
  cli('a', 'encounter', 'log', '--person', second, '--place', 'square Villemin');
  const before = cli('a', 'report', '--from', today, '--to', today).persons_met.current;
  const page = await browser.newPage();
  await page.goto(url);
  await page.click('nav a[href="/duplicates"]');
  await page.waitForSelector('#duplicates tr.pair');
  await page.click(`button.merge[data-keep="${first}"]`);
  await page.waitForSelector('#merged-in');
  assert.match(await page.locator('#merged-in').innerText(), new RegExp(second));
  const text = (await page.locator('#timeline tr.entry').allInnerTexts()).join('\n');
  assert.match(text, /square Villemin/, "the merged record's encounter is in the timeline");
  assert.equal(cli('a', 'report', '--from', today, '--to', today).persons_met.current, before);
  assert.deepEqual(cli('a', 'person', 'duplicates'), []);
  const listed = cli('a', 'person', 'list', '--search', 'moussa').map((p) => p.id);
  assert.deepEqual(listed, [first]);
  await page.click('button.unmerge');
  await page.waitForSelector('#timeline');
  const again = cli('a', 'person', 'list', '--search', 'moussa').map((p) => p.id).sort();
  assert.deepEqual(again, [first, second].sort());
  await page.close();
});

test('a journey shows as a line of periods, a household and its home at risk on their pages, and an offer with whom it could suit', async () => {
  const awa = cli('a', 'person', 'add', '--name', 'Awa Koné', '--situation', 'car').id;
  const family = cli('a', 'household', 'new', '--label', 'Famille Koné', '--unrecorded', '1', '--unrecorded-children', '1').id;
  cli('a', 'household', 'join', family, awa, '--relation', 'reference', '--on', '2026-09-01');
  cli('a', 'journey', 'add', '--household', family, '--situation', 'car', '--from', '2026-09-01');
  cli('a', 'journey', 'application', 'add', '--household', family, '--kind', 'social_housing', '--areas', 'Pantin');
  const home = cli('a', 'home', 'add', '--household', family, '--landlord', 'Pantin Habitat', '--address', '8 rue Hoche',
    '--entered-on', today, '--situation', 'social_housing').id;
  cli('a', 'home', 'risk', home, '--kind', 'rent_arrears', '--by', 'le bailleur');
  const jules = cli('a', 'person', 'add', '--name', 'Jules Marchand', '--situation', 'street', '--need', 'housing').id;
  const offer = cli('a', 'offer', 'add', '--kind', 'social_housing', '--rooms', '1', '--area', 'Pantin', '--rent', '390').id;

  const page = await browser.newPage();
  await page.goto(url);
  await page.goto(new URL(`/person/${awa}`, url).href);
  const steps = await page.locator('#journey li strong').allTextContents();
  assert.deepEqual(steps, ['véhicule', 'logement social']);
  assert.equal(await page.locator('#journey li.housing').count(), 1);

  await page.click('nav a[href="/households"]');
  await page.click('#households a:has-text("Famille Koné")');
  assert.match(await page.locator('#members').textContent(), /Awa Koné/);
  assert.match(await page.locator('main').textContent(), /Taille 2/);

  await page.click('nav a[href="/homes"]');
  const homes = await page.locator('#homes').textContent();
  assert.match(homes, /Famille Koné/);
  assert.match(homes, /impayés de loyer/);

  await page.click('nav a[href="/offers"]');
  await page.click(`#offers a[href="/offer/${offer}"]`);
  const suits = await page.locator('#candidates').textContent();
  assert.match(suits, /Jules Marchand/);
  assert.doesNotMatch(suits, /Famille Koné/, 'housed now');
  assert.ok(jules);
  await page.close();
});
