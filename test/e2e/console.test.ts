// The web console end to end: a whole vpbx on loopback (test-pbx.ts) with
// the console built (console/dist, built here when missing or stale), and
// Debian's Chromium driven by playwright-core, headless. Users log in through
// the page as a person would; harness phones and a harness carrier place
// real calls. What must hold:
// - the provider switches a feature on in the page (checked through the API)
//   and finds it in the company's log, beside its own (trunks, companies);
// - a company administrator sets forwarding in the page, and a phone's *72
//   shows up in the open page without a reload (server-sent events);
// - the schedule edited in the page (a range drawn with the mouse) decides
//   where a call from the trunk lands (SIPp as the carrier);
// - a voicemail message left by a phone plays in the browser;
// - an administrator cannot read another company's data (page and fetch: 403);
// - every page renders without script errors or CSP violations, its form
//   controls are labelled, it holds at 375 px wide, and a screenshot of it is
//   kept under test-artifacts/console/.
//
// Real time: the browser runs on its own clock; waits poll with a deadline.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ensureConsoleBuilt } from "../../src/cli/console-build.ts";
import { concat, silence, speechLike } from "../harness/audio.ts";
import type { SipPhone } from "../harness/sip-phone.ts";
import { runSipp } from "../harness/sipp.ts";
import { requireTool } from "../harness/tools.ts";
import { addCarrier, CARRIER_CALLER } from "../support/carrier.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { Phones } from "../support/phones.ts";
import { untilQuietAfterSound } from "../support/prompt-end.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

export const ARTIFACTS = join(process.cwd(), "test-artifacts", "console");
const PASSWORD = "Correct-Horse-Battery-9271";
const DID = "+41215550111";
const ZONE = "Europe/Zurich";

const skip = chromiumSkip();

interface Session {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors, console errors and CSP violations of the page. */
  problems: string[];
}

describe("the web console in Chromium", { skip, timeout: 600_000 }, () => {
  let pbx: TestPbx;
  let browser: Browser;
  let base: string;
  let carrier: SipPhone;
  const phones = new Phones(() => pbx.sip);
  const open: Session[] = [];

  const ok = (r: { status: number; body: unknown }, what: string) =>
    assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureConsoleBuilt((line) => process.stderr.write(`${line}\n`));
    pbx = await startTestPbx();
    base = `http://127.0.0.1:${pbx.vpbx.httpPort}`;
    await pbx.addTenant("acme", "acme.test");
    await pbx.addTenant("globex", "globex.test");
    for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
    await pbx.addExtension("globex", "201", "secret-201-pw", "Globex 201");
    ok(await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true }), "voicemail on");
    ok(
      await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/102", {
        voicemail: { enabled: true, pin: "4826" },
      }),
      "mailbox of 102",
    );
    const users: [string, Record<string, string>][] = [
      ["provider", { role: "provider" }],
      ["alice@acme", { role: "admin", tenant: "acme" }],
      ["bob@acme", { role: "user", tenant: "acme", extension: "102" }],
      ["gina@globex", { role: "admin", tenant: "globex" }],
    ];
    for (const [username, rest] of users) {
      ok(
        await pbx.api("POST", "/api/v1/users", { username, password: PASSWORD, ...rest }),
        `user ${username}`,
      );
    }
    carrier = await addCarrier(pbx);
    ok(
      await pbx.api("POST", "/api/v1/tenants/acme/numbers", {
        number: DID,
        destination: { type: "inbound-flow" },
      }),
      "number",
    );
    browser = await launchChromium();
  });

  after(async () => {
    for (const s of open.splice(0)) await s.context.close().catch(() => undefined);
    await browser?.close();
    await carrier?.close();
    await pbx?.stop();
  });

  afterEach(() => phones.cleanup());

  /** A fresh browser (its own cookies) logged in as `username` through the login page. */
  async function login(username: string, opts: { width?: number; locale?: string } = {}): Promise<Session> {
    const context = await browser.newContext({
      viewport: { width: opts.width ?? 1280, height: 900 },
      locale: opts.locale ?? "fr-CH",
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // A refused request (403, 404) is logged by Chromium as a console error: the tests cause those on purpose.
      if (m.type() === "error" && !/Failed to load resource/.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    const session = { context, page, problems };
    open.push(session);
    await page.goto(`${base}/`);
    await page.getByLabel("Nom d'utilisateur").fill(username);
    await page.getByLabel("Mot de passe").fill(PASSWORD);
    await page.getByRole("button", { name: "Se connecter" }).click();
    await page.getByRole("button", { name: "Se déconnecter" }).waitFor({ timeout: 15_000 });
    return session;
  }

  async function close(s: Session): Promise<void> {
    assert.deepEqual(s.problems, [], "the page logged no error");
    await s.context.close();
    open.splice(open.indexOf(s), 1);
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test("the console is served with its security headers; a login page in French", async () => {
    const res = await fetch(`${base}/company/acme/schedule`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.match(await res.text(), /<div id="app">/);
    const context = await browser.newContext({ locale: "fr-CH" });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByRole("heading", { name: "Connexion à vpbx" }).waitFor();
    await page.getByLabel("Nom d'utilisateur").fill("provider");
    await page.getByLabel("Mot de passe").fill("not the password at all");
    await page.getByRole("button", { name: "Se connecter" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: "Nom d'utilisateur ou mot de passe incorrect" })
      .waitFor();
    await shot(page, "login");
    await context.close();
  });

  test("the provider switches a company's feature on in the page", async () => {
    const s = await login("provider");
    const { page } = s;
    await page.getByRole("link", { name: "Sociétés" }).first().click();
    await page.getByRole("link", { name: "acme" }).click();
    await page.getByRole("heading", { name: "Société acme" }).waitFor();
    const toggle = page.getByRole("switch", { name: /^Horaires/ });
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
    await toggle.click();
    await waitUntil(
      async () => (await toggle.getAttribute("aria-checked")) === "true",
      "the switch turns on",
    );
    const features = await pbx.api<{ schedules: boolean }>("GET", "/api/v1/tenants/acme/features");
    assert.equal(features.body.schedules, true, "switched on through the API too");
    const audit = await pbx.api<{ action: string; actor: { kind: string; id: string } }[]>(
      "GET",
      "/api/v1/tenants/acme/audit?limit=5",
    );
    assert.ok(
      audit.body.some((e) => e.actor.kind === "user" && e.actor.id === "provider"),
      `the change is audited with the user: ${JSON.stringify(audit.body)}`,
    );
    await shot(page, "provider-tenant");
    // The audit page opens on the provider's own log (the trunk and the
    // companies made in `before`), and shows a company's when picked.
    await page.getByRole("link", { name: "Journal" }).first().click();
    await page.getByRole("heading", { name: "Changements du fournisseur" }).waitFor();
    await page.getByRole("cell", { name: "trunk.create", exact: true }).waitFor();
    assert.equal(await page.getByRole("cell", { name: "tenant.create", exact: true }).count(), 2);
    assert.equal(await page.getByText("unused-by-trunks").count(), 0, "never a trunk's password");
    await page.getByLabel("Journal", { exact: true }).selectOption("acme");
    await page.getByRole("heading", { name: "Changements de acme" }).waitFor();
    await page.getByRole("cell", { name: "features.update", exact: true }).first().waitFor();
    await close(s);
  });

  test("an administrator sets forwarding in the page; a phone's *72 appears without a reload", async () => {
    const s = await login("alice@acme");
    const { page } = s;
    await page.getByRole("link", { name: "101" }).click();
    await page.getByRole("heading", { name: "Poste 101" }).waitFor();
    // Set in the page: forwarding when busy, to a mobile number as a person writes it.
    await page.getByLabel("Si occupé (*90)").fill("079 123 12 12");
    await page.getByRole("form", { name: "Déviations" }).getByRole("button", { name: "Enregistrer" }).click();
    await waitUntil(async () => {
      const r = await pbx.api<{ busy: string | null }>(
        "GET",
        "/api/v1/tenants/acme/extensions/101/forwarding",
      );
      return r.body.busy === "+41791231212";
    }, "forwarding when busy saved");
    await page.getByTestId("forwarding-now").getByText("+41791231212").waitFor();

    // *72 on the phone: the page hears of it (events) and shows it, the same page, no reload.
    // A mark on the page's window: a reload would lose it.
    const marker = await page.evaluate("window.marker = 42");
    const phone = await phones.registered("101");
    const code = await phone.call("*72103");
    await code.waitFor("ended", 30_000);
    await page.getByTestId("forwarding-now").getByText("103", { exact: true }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByLabel("Sans condition (*72)").inputValue(), "103");
    assert.equal(await page.evaluate("window.marker"), marker, "no reload");
    await shot(page, "company-extension");
    const off = await phone.call("*73");
    await off.waitFor("ended", 30_000);
    await page
      .getByTestId("forwarding-now")
      .getByText("103", { exact: true })
      .waitFor({ state: "detached", timeout: 15_000 });
    await close(s);
  });

  test("a range drawn on the week decides where a call from the trunk lands", async () => {
    ok(await pbx.api("PATCH", "/api/v1/tenants/acme/features", { schedules: true }), "schedules on");
    ok(
      await pbx.api("PUT", "/api/v1/tenants/acme/schedule", {
        modes: {
          open: { label: "Ouvert", destination: { type: "extension", number: "102" } },
          closed: { label: "Fermé", destination: { type: "extension", number: "103" } },
        },
        default: "closed",
        weekly: [],
        exceptions: [],
      }),
      "a schedule closed all week",
    );
    const s = await login("alice@acme");
    const { page } = s;
    await page.getByRole("link", { name: "Horaires" }).click();
    await page.getByRole("heading", { name: "Horaires", exact: true }).waitFor();
    await page.locator('[data-testid="schedule-state"][data-mode="closed"]').waitFor();

    // Today in the company's zone; the range covers the whole day, drawn with the mouse.
    const weekday = new Intl.DateTimeFormat("en-US", { timeZone: ZONE, weekday: "short" }).format(new Date());
    const day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(weekday);
    const column = page.locator(`.week-col[data-day="${day}"]`);
    await column.scrollIntoViewIfNeeded();
    const box = await column.boundingBox();
    assert.ok(box, "the day's column is drawn");
    await page.getByLabel("Tracer des plages de").selectOption("open");
    await page.mouse.move(box.x + box.width / 2, box.y + 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
    await page.mouse.move(box.x + box.width / 2, box.y + box.height - 1, { steps: 5 });
    await page.mouse.up();
    const block = column.locator('.block[data-mode="open"]');
    await block.waitFor();
    assert.equal(await block.getAttribute("data-from"), "00:00");
    assert.equal(await block.getAttribute("data-to"), "24:00");
    // The keyboard way: a range added by the form, moved with an arrow key, then removed.
    const other = (day + 3) % 7;
    // The range just drawn is the chosen one, in the form beside the grid: closed, the form adds.
    await page
      .getByRole("form", { name: "La plage choisie" })
      .getByRole("button", { name: "Fermer" })
      .click();
    const form = page.getByRole("form", { name: "Ajouter une plage" });
    for (const box of await form.getByRole("checkbox").all()) await box.uncheck();
    await form.getByRole("checkbox").nth(other).check();
    await form.getByLabel("De", { exact: true }).selectOption("09:00");
    await form.getByLabel("À", { exact: true }).selectOption("12:00");
    await form.getByRole("button", { name: "Ajouter" }).click();
    const added = page.locator(`.week-col[data-day="${other}"] .block[data-mode="open"]`);
    await added.waitFor();
    await added.focus();
    await page.keyboard.press("ArrowDown");
    await page.locator(`.week-col[data-day="${other}"] .block[data-from="09:15"][data-to="12:15"]`).waitFor();
    assert.ok(
      await page.evaluate("document.activeElement.dataset.from === '09:15'"),
      "the moved range keeps the focus",
    );
    await page.keyboard.press("Delete");
    await added.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Enregistrer les horaires" }).click();
    await waitUntil(async () => {
      const r = await pbx.api<{ weekly: { days: string[]; from: string; to: string; mode: string }[] }>(
        "GET",
        "/api/v1/tenants/acme/schedule",
      );
      return (
        r.body.weekly.length === 1 &&
        r.body.weekly.some((w) => w.mode === "open" && w.from === "00:00" && w.to === "24:00")
      );
    }, "the week saved");
    // The mode now follows (the schedule notice refetches the state).
    await page.locator('[data-testid="schedule-state"][data-mode="open"]').waitFor({ timeout: 15_000 });
    await shot(page, "company-schedule");

    const open = await phones.registered("102");
    const closed = await phones.registered("103");
    let rungClosed = false;
    closed.onIncomingCall = (c) => {
      rungClosed = true;
      c.reject(486);
    };
    open.autoAnswer({ afterMs: 200 });
    // The call comes from the public network: SIPp as the carrier, from the trunk's address.
    if (!requireTool("sipp")) return;
    const sipp = await runSipp({
      scenario: "carrier-uac-call.xml",
      server: `127.0.0.1:${pbx.sip.port}`,
      localAddress: "127.0.0.2",
      target: DID,
      vars: { caller: CARRIER_CALLER },
      pauseMs: 1000,
      timeoutMs: 20_000,
    });
    assert.equal(sipp.code, 0, `${sipp.command}\nexit ${sipp.code}\n${sipp.messages.slice(-3000)}`);
    const answered = await open.waitForCall(15_000);
    assert.equal((await answered.waitFor("ended")).reason, "bye", "SIPp hung up the call 102 took");
    assert.equal(rungClosed, false, "the closed mode's extension did not ring");
    await close(s);
  });

  test("a voicemail message left by a phone plays in the browser", async () => {
    // 102 is busy: the caller gets its mailbox and leaves a message.
    const owner = await phones.registered("102");
    owner.autoAnswer({ status: 486 });
    const caller = await phones.registered("101");
    const call = await caller.call("102");
    await call.waitFor("answered", 20_000);
    await untilQuietAfterSound(call, 30_000);
    await call.playAudio(concat(speechLike(2000), silence(300)));
    await call.bye();
    let id = "";
    await waitUntil(async () => {
      const r = await pbx.api<{ id: string; folder: string }[]>(
        "GET",
        "/api/v1/tenants/acme/extensions/102/voicemail/messages",
      );
      id = r.body.find((m) => m.folder === "new")?.id ?? "";
      return id !== "";
    }, "the message is stored");

    const s = await login("bob@acme");
    const { page } = s;
    await page.getByRole("link", { name: "Boîte vocale" }).click();
    const audio = page.locator(`[data-message="${id}"] audio`);
    await audio.waitFor();
    const played = (await page.evaluate(`(async () => {
      const el = document.querySelector('[data-message="${id}"] audio');
      el.muted = true;
      await el.play();
      const started = Date.now();
      while (el.currentTime < 0.3 && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 50));
      return { currentTime: el.currentTime, duration: el.duration, error: el.error ? el.error.message : null };
    })()`)) as { currentTime: number; duration: number; error: string | null };
    assert.equal(played.error, null);
    assert.ok(played.currentTime >= 0.3, `the audio plays: ${JSON.stringify(played)}`);
    assert.ok(played.duration > 1.5, `the whole message loaded: ${JSON.stringify(played)}`);
    // Playing it marks it heard.
    await waitUntil(async () => {
      const r = await pbx.api<{ id: string; folder: string }[]>(
        "GET",
        "/api/v1/tenants/acme/extensions/102/voicemail/messages",
      );
      return r.body.find((m) => m.id === id)?.folder === "old";
    }, "the message is marked heard");
    await shot(page, "user-voicemail");
    await close(s);
  });

  test("an announcement recorded in the browser (fake microphone) is uploaded as WAV and plays", async () => {
    ok(await pbx.api("PATCH", "/api/v1/tenants/acme/features", { announcements: true }), "announcements on");
    const s = await login("alice@acme");
    const { page } = s;
    await page.getByRole("link", { name: "Annonces" }).click();
    const card = page.locator("#audio-welcome");
    await card.getByRole("button", { name: /Enregistrer/ }).click();
    await card.getByRole("timer").waitFor();
    await new Promise((r) => setTimeout(r, 1500));
    await card.getByRole("button", { name: /Arrêter/ }).click();
    await card.getByRole("button", { name: "Garder cet enregistrement" }).click();
    await waitUntil(async () => {
      const r = await pbx.api<{ kind: string; custom: boolean; durationMs: number | null }[]>(
        "GET",
        "/api/v1/tenants/acme/announcements",
      );
      const welcome = r.body.find((a) => a.kind === "welcome");
      return welcome?.custom === true && (welcome.durationMs ?? 0) > 500;
    }, "the recording is the company's welcome");
    const audio = card.locator("audio");
    await audio.waitFor();
    const played = (await page.evaluate(`(async () => {
      const el = document.querySelector("#audio-welcome audio");
      el.muted = true;
      await el.play();
      const started = Date.now();
      while (el.currentTime < 0.2 && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 50));
      return { currentTime: el.currentTime, error: el.error ? el.error.message : null };
    })()`)) as { currentTime: number; error: string | null };
    assert.equal(played.error, null);
    assert.ok(played.currentTime >= 0.2, `the announcement plays: ${JSON.stringify(played)}`);
    await shot(page, "company-announcements-recorded");
    await close(s);
  });

  test("an administrator cannot read another company's data, in the page or by fetch", async () => {
    const s = await login("alice@acme");
    const { page } = s;
    await page.goto(`${base}/company/globex/extensions`);
    await page.getByRole("alert").first().waitFor();
    assert.equal(await page.getByText("Globex 201").count(), 0, "nothing of globex is shown");
    const statuses = await page.evaluate(`(async () => {
      const get = async (path) => (await fetch(path, { credentials: "same-origin" })).status;
      return {
        extensions: await get("/api/v1/tenants/globex/extensions"),
        tenant: await get("/api/v1/tenants/globex"),
        forwarding: await get("/api/v1/tenants/globex/extensions/201/forwarding"),
        history: await get("/api/v1/tenants/globex/calls/history"),
        own: await get("/api/v1/tenants/acme/extensions"),
      };
    })()`);
    assert.deepEqual(statuses, { extensions: 403, tenant: 403, forwarding: 403, history: 403, own: 200 });
    await shot(page, "company-forbidden");
    s.problems.length = 0;
    await close(s);

    const user = await login("bob@acme");
    const other = await user.page.evaluate(`(async () => {
      const get = async (path) => (await fetch(path, { credentials: "same-origin" })).status;
      return {
        colleague: await get("/api/v1/tenants/acme/extensions/101/forwarding"),
        own: await get("/api/v1/tenants/acme/extensions/102/forwarding"),
      };
    })()`);
    assert.deepEqual(other, { colleague: 403, own: 200 });
    await close(user);
  });

  test("a change without the CSRF token is refused", async () => {
    const s = await login("alice@acme");
    const status = await s.page.evaluate(`(async () => {
      const res = await fetch("/api/v1/tenants/acme/extensions/101/forwarding", {
        method: "PUT",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ unconditional: "103" }),
      });
      return res.status;
    })()`);
    assert.equal(status, 403);
    s.problems.length = 0;
    await close(s);
  });

  test("the language menu changes the console's language", async () => {
    const s = await login("alice@acme");
    const { page } = s;
    await page.getByLabel("Langue").selectOption("de");
    await page.getByRole("link", { name: "Nebenstellen" }).waitFor();
    assert.equal(await page.evaluate("document.documentElement.lang"), "de");
    await page.getByLabel("Sprache").selectOption("fr");
    await page.getByRole("link", { name: "Postes" }).waitFor();
    await close(s);
  });

  /** What sticks out to the right of the window (outside the tables' own scrolling boxes). */
  async function wide(page: Page): Promise<string> {
    return JSON.stringify(
      await page.evaluate(`[...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".table-wrap, .week-scroll"))
        .slice(0, 6)
        .map((e) => e.tagName + "." + e.className + " " + (e.textContent || "").slice(0, 40))`),
    );
  }

  /** Every form control of the page has a name a screen reader says. */
  async function unlabelled(page: Page): Promise<string[]> {
    return (await page.evaluate(`[...document.querySelectorAll("input, select, textarea, button")]
      .filter((e) => {
        if (e.type === "hidden") return false;
        const named =
          (e.labels && e.labels.length > 0) ||
          e.getAttribute("aria-label") ||
          e.getAttribute("aria-labelledby") ||
          (e.tagName === "BUTTON" && (e.textContent || "").trim() !== "");
        return !named;
      })
      .map((e) => e.outerHTML.slice(0, 120))`)) as string[];
  }

  const PAGES: { user: string; pages: [string, string][] }[] = [
    {
      user: "provider",
      pages: [
        ["provider-tenants", "/provider/tenants"],
        ["provider-tenant", "/provider/tenants/acme"],
        ["provider-trunks", "/provider/trunks"],
        ["provider-live", "/provider/live?tenant=acme"],
        ["provider-audit", "/provider/audit"],
        ["provider-metrics", "/provider/metrics"],
        ["provider-users", "/provider/users"],
      ],
    },
    {
      user: "alice@acme",
      pages: [
        ["company-extensions", "/company/acme/extensions"],
        ["company-extension", "/company/acme/extensions/101"],
        ["company-ring-groups", "/company/acme/ring-groups"],
        ["company-schedule", "/company/acme/schedule"],
        ["company-announcements", "/company/acme/announcements"],
        ["company-voicemail", "/company/acme/voicemail"],
        ["company-mailbox", "/company/acme/voicemail/102"],
        ["company-history", "/company/acme/history"],
        ["company-users", "/company/acme/users"],
        ["company-audit", "/company/acme/audit"],
        ["company-settings", "/company/acme/settings"],
      ],
    },
    {
      user: "bob@acme",
      pages: [
        ["user-phone", "/me/phone"],
        ["user-forwarding", "/me/forwarding"],
        ["user-voicemail", "/me/voicemail"],
        ["user-history", "/me/history"],
      ],
    },
  ];

  for (const { user, pages } of PAGES) {
    test(`every page of ${user}: no error, labelled controls, a screenshot, and 375 px wide`, async () => {
      for (const width of [1280, 375]) {
        const s = await login(user, { width });
        for (const [name, path] of pages) {
          await s.page.goto(`${base}${path}`);
          await s.page.locator("#page-title").waitFor();
          // Not "networkidle": the events stream stays open. The page is done when nothing says it loads.
          await waitUntil(async () => (await s.page.getByText("Chargement…").count()) === 0, `${path} loads`);
          assert.deepEqual(await unlabelled(s.page), [], `${path}: every control is labelled`);
          const overflow = (await s.page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth",
          )) as number;
          if (overflow > 1) await shot(s.page, `${name}-${width}-overflow`);
          assert.ok(
            overflow <= 1,
            `${path} at ${width} px: the page does not scroll sideways (${overflow} px: ${await wide(s.page)})`,
          );
          await shot(s.page, width === 375 ? `${name}-375` : name);
        }
        await close(s);
      }
    });
  }
});
