// Tessera's pages in Chromium, by keyboard alone, checked with axe-core, and photographed
// at 1280 px and 360 px in the light and the dark colour scheme. Started by
// tests/api/browser.rs, which serves Tessera (TESSERA_URL) and a relying party (RP_URL)
// that redeems every code it receives and shows the result in #outcome.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const TESSERA = process.env.TESSERA_URL;
const RP = process.env.RP_URL;
const PASSWORD = process.env.TEST_PASSWORD;
const SHOTS = process.env.SCREENSHOT_DIR;
const AXE = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
}

// axe-core in the page (evaluated through DevTools: the pages' CSP allows no script, and
// stays on), at each width and colour scheme; serious or critical violations fail the run.
// Then the page's screenshots.
async function review(page, name) {
  for (const width of [1280, 360]) {
    for (const colorScheme of ['light', 'dark']) {
      await page.setViewportSize({ width, height: width > 400 ? 800 : 720 });
      await page.emulateMedia({ colorScheme });
      await page.evaluate(AXE);
      const result = await page.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
      for (const v of result.violations) {
        if (v.impact === 'serious' || v.impact === 'critical') {
          const where = v.nodes.map((n) => n.target.join(' ')).join(', ');
          check(false, `${name} ${width}px ${colorScheme}: ${v.id} (${v.impact}): ${v.help} at ${where}`);
        }
      }
      // Readable from 360 px: nothing wider than the window.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `${name} ${width}px: ${overflow}px wider than the window`);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${width}-${colorScheme}.png`), fullPage: true });
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  console.log(`reviewed ${name}: ${page.url()}`);
}

// Presses Tab until the focused element matches `want` (a description of it), as a keyboard
// user would; checks that the focus is visible.
async function tabTo(page, want, matches) {
  for (let i = 0; i < 25; i++) {
    const focused = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const style = getComputedStyle(e);
      return { id: e.id, tag: e.tagName, text: (e.innerText || e.value || '').trim(), outline: style.outlineStyle };
    });
    if (focused && matches(focused)) {
      check(focused.outline !== 'none', `focus on ${want} is not visible`);
      return;
    }
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${want} on ${page.url()}`);
}

async function login(page, username) {
  await tabTo(page, 'the username field', (f) => f.id === 'username');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

async function answer(page, label) {
  await tabTo(page, `the ${label} button`, (f) => f.tag === 'BUTTON' && f.text === label);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

async function outcome(page) {
  check(page.url().startsWith(RP), `expected to be back at the app, at ${page.url()}`);
  return (await page.textContent('#outcome').catch(() => '')).trim();
}

function path_of(page) {
  return new URL(page.url()).pathname;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Root in CI and containers: Chromium's sandbox needs user namespaces it may not have.
  args: ['--no-sandbox'],
});
try {
  // 1. A keyboard login, consent, back at the app with a redeemed code.
  const alice = await browser.newContext({ locale: 'en-US' });
  const page = await alice.newPage();
  await page.goto(`${RP}/start`);
  check(path_of(page) === '/login', `expected the login page, at ${page.url()}`);
  check((await page.getAttribute('html', 'lang')) === 'en', 'login page lang is en');
  await review(page, 'login');
  // A wrong password first: the error is announced.
  await login(page, 'alice-typo');
  check((await page.textContent('[role=alert]'))?.includes('incorrect'), 'a failed login is announced');
  await review(page, 'login-error');
  await tabTo(page, 'the username field', (f) => f.id === 'username');
  await page.keyboard.press('Control+A');
  await login(page, 'alice');
  check(path_of(page) === '/consent', `expected the consent page, at ${page.url()}`);
  const scopes = await page.$$eval('ul.scopes li', (lis) => lis.map((li) => li.dataset.scope));
  check(scopes[0] === 'openid', `openid is listed first: ${scopes}`);
  await review(page, 'consent');
  await answer(page, 'Allow');
  check((await outcome(page)) === 'signed-in alice', 'alice is signed in at the app');

  // 2. The same browser again: no login, no consent asked.
  const visited = [];
  page.on('framenavigated', (frame) => visited.push(frame.url()));
  await page.goto(`${RP}/start`);
  check(!visited.some((u) => u.includes('/login') || u.includes('/consent')), `no page asked: ${visited}`);
  check((await outcome(page)) === 'signed-in alice', 'alice is signed in again');
  // While alice is away, the app refreshes its first login's token.
  await page.goto(`${RP}/refresh`);
  check((await outcome(page)) === 'refreshed', 'the app refreshes while alice is away');

  // 3. A denied consent: access_denied at the app.
  const bob = await browser.newContext();
  const bobPage = await bob.newPage();
  await bobPage.goto(`${RP}/start`);
  await login(bobPage, 'bob');
  await answer(bobPage, 'Deny');
  check((await outcome(bobPage)) === 'error access_denied', 'a denial reaches the app');

  // 4. The German pages (ui_locales=de), in a browser that prefers English.
  const carla = await browser.newContext({ locale: 'en-US' });
  const carlaPage = await carla.newPage();
  await carlaPage.goto(`${RP}/start?ui_locales=de`);
  check((await carlaPage.getAttribute('html', 'lang')) === 'de', 'login page lang is de');
  check((await carlaPage.textContent('h1')) === 'Anmelden', 'the login page is in German');
  await review(carlaPage, 'login-de');
  await login(carlaPage, 'carla');
  check((await carlaPage.getAttribute('html', 'lang')) === 'de', 'consent page lang is de');
  await review(carlaPage, 'consent-de');
  await answer(carlaPage, 'Erlauben');
  check((await outcome(carlaPage)) === 'signed-in carla', 'carla is signed in at the app');

  // 4b. The organization selection page: dora belongs to two and chooses Globex.
  const dora = await browser.newContext({ locale: 'en-US' });
  const doraPage = await dora.newPage();
  await doraPage.goto(`${RP}/start?scope=organization`);
  await login(doraPage, 'dora');
  check(path_of(doraPage) === '/organization', `expected the organization page, at ${doraPage.url()}`);
  await review(doraPage, 'organization');
  await answer(doraPage, 'Globex (globex)');
  check(path_of(doraPage) === '/consent', `expected the consent page, at ${doraPage.url()}`);
  await answer(doraPage, 'Allow');
  check((await outcome(doraPage)) === 'signed-in dora at Globex', 'dora is signed in for Globex');

  // 5. The account page, in a second browser of alice's (the first stays signed in at
  // the app): sign in by keyboard, remove the app, sign the first browser out.
  const aliceAccount = await browser.newContext({ locale: 'en-US' });
  const account = await aliceAccount.newPage();
  await account.goto(`${TESSERA}/account`);
  check(path_of(account) === '/login', `the account page asks to sign in, at ${account.url()}`);
  check((await account.textContent('.lead'))?.includes('to continue to your account'), 'the login says it leads to the account');
  await login(account, 'alice');
  check(path_of(account) === '/account', `back at the account page after sign-in, at ${account.url()}`);
  check((await account.textContent('h1')) === 'Your account', 'the account page');
  check((await account.textContent('#apps-heading + ul'))?.includes('Notes'), 'Notes is a connected app');
  const sessions = await account.$$eval('section[aria-labelledby=sessions-heading] ul.items > li', (l) => l.length);
  check(sessions === 2, `alice is signed in in two browsers: ${sessions}`);
  const autocomplete = await account.$$eval('form[action="/account/password"] input[type=password]', (l) => l.map((i) => i.autocomplete));
  check(autocomplete.join() === 'current-password,new-password,new-password', `password autocomplete: ${autocomplete}`);
  await review(account, 'account');
  await answer(account, 'Remove access');
  check((await account.textContent('[role=status]'))?.includes('Notes no longer has access'), 'the removal is announced');
  check((await account.$$('input[name=client_id]')).length === 0, 'Notes is no longer listed');
  // The app's refresh token no longer works.
  await page.goto(`${RP}/refresh`);
  check((await outcome(page)) === 'error invalid_grant', 'the removed app cannot refresh');
  // Sign the first browser out from here.
  await answer(account, 'Sign out');
  check((await account.textContent('[role=status]'))?.includes('Signed out 1 session'), 'the sign-out is announced');
  check(path_of(account) === '/account', 'this browser stays signed in');
  await page.goto(`${RP}/start`);
  check(path_of(page) === '/login', `the signed-out browser is asked to sign in again, at ${page.url()}`);
  // An API key for alice's scripts: made from the keyboard, shown once, then listed.
  await account.focus('#api_key_name');
  await account.keyboard.type('Backup script');
  await answer(account, 'Create key');
  check((await account.textContent('h1')) === 'Your new API key', 'the new key has a page of its own');
  check((await account.inputValue('#api_key')).startsWith('tsk_'), 'the key is shown');
  await review(account, 'api-key-created');
  await account.goto(`${TESSERA}/account`);
  check((await account.textContent('#keys-heading ~ ul'))?.includes('Backup script'), 'the key is listed');

  // 6. The account page in German (a browser that prefers German).
  const carlaDe = await browser.newContext({ locale: 'de-DE' });
  const carlaAccount = await carlaDe.newPage();
  await carlaAccount.goto(`${TESSERA}/account`);
  check((await carlaAccount.textContent('.lead'))?.includes('Ihrem Konto'), 'the German login leads to the account');
  await login(carlaAccount, 'carla');
  check((await carlaAccount.textContent('h1')) === 'Ihr Konto', 'the account page is in German');
  await review(carlaAccount, 'account-de');
  // What a form answers is in German too: a saved name, then a refused password change.
  await carlaAccount.fill('#name', 'Carla Díaz');
  await answer(carlaAccount, 'Namen speichern');
  check((await carlaAccount.textContent('[role=status]'))?.includes('Ihr Name wurde gespeichert.'), 'the saved name is announced in German');
  check((await carlaAccount.inputValue('#name')) === 'Carla Díaz', 'the name is kept');
  await carlaAccount.fill('#current_password', 'not-the-password');
  await carlaAccount.fill('#new_password', 'a-new-password-1');
  await carlaAccount.fill('#new_password_again', 'a-new-password-1');
  await answer(carlaAccount, 'Passwort ändern');
  check((await carlaAccount.textContent('[role=alert]'))?.includes('Das aktuelle Passwort ist falsch.'), 'the wrong current password is explained in German');
  check((await carlaAccount.getAttribute('html', 'lang')) === 'de', 'the answer page is German');
  await review(carlaAccount, 'account-de-error');

  // 7. Signing out: the confirmation, then the signed-out page.
  await account.goto(`${TESSERA}/logout`);
  await review(account, 'logout');
  await answer(account, 'Sign out');
  check((await account.textContent('h1')) === 'You are signed out', 'signed out');
  await review(account, 'signed-out');
  await account.goto(`${TESSERA}/account`);
  check(path_of(account) === '/login', 'signed out, the account page asks to sign in again');

  // 8. An error page: a sign-in link this browser does not have.
  await page.goto(`${TESSERA}/login?request_id=gone`);
  check(!(await page.textContent('main')).toLowerCase().includes('expired'), 'no "expired" for what is not');
  await review(page, 'error');
} finally {
  await browser.close();
}

if (failures.length) {
  console.error(`${failures.length} check(s) failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('all browser checks passed');
