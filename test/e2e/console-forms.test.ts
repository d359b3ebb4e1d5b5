// The console's forms against the real API, in Chromium: what a provider and
// a company's administrator type is what the API stores (checked through
// the API), a typing error is said next to its field before anything is
// sent, and an error of the API is said next to the form. Companion of
// console.test.ts (which covers the live pages, the schedule, voicemail and
// isolation).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ensureConsoleBuilt } from "../../src/cli/console-build.ts";
import { writeWav } from "../../src/media/codec/wav.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { Phones } from "../support/phones.ts";
import { ADMIN_TOKEN, startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const ARTIFACTS = join(process.cwd(), "test-artifacts", "console");
const PASSWORD = "Correct-Horse-Battery-9271";

describe("the console's forms", { skip: chromiumSkip(), timeout: 600_000 }, () => {
  let pbx: TestPbx;
  let browser: Browser;
  let base: string;
  const phones = new Phones(() => pbx.sip);
  const contexts: BrowserContext[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureConsoleBuilt((line) => process.stderr.write(`${line}\n`));
    pbx = await startTestPbx();
    base = `http://127.0.0.1:${pbx.vpbx.httpPort}`;
    const r = await pbx.api("POST", "/api/v1/users", {
      username: "root",
      password: PASSWORD,
      role: "provider",
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
    await phones.cleanup();
    await browser?.close();
    await pbx?.stop();
  });

  async function login(username: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "fr-CH" });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByLabel("Nom d'utilisateur").fill(username);
    await page.getByLabel("Mot de passe").fill(PASSWORD);
    await page.getByRole("button", { name: "Se connecter" }).click();
    await page.getByRole("button", { name: "Se déconnecter" }).waitFor({ timeout: 15_000 });
    return page;
  }

  async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test("the provider creates a company, a trunk, a number and the company's administrator", async () => {
    const page = await login("root");
    // A typing error is said at once, and nothing is sent.
    const create = page.getByRole("form", { name: "Nouvelle société" });
    await create.getByLabel("Nom", { exact: true }).fill("Acme Corp");
    await create.getByLabel("Domaine SIP").fill("acme.test");
    await create.getByRole("button", { name: "Créer la société" }).click();
    await create
      .getByText("Minuscules, chiffres et tirets, en commençant par une lettre ou un chiffre.")
      .waitFor();
    assert.equal((await pbx.api<unknown[]>("GET", "/api/v1/tenants")).body.length, 0);
    await create.getByLabel("Nom", { exact: true }).fill("acme");
    await create.getByRole("button", { name: "Créer la société" }).click();
    await page.getByRole("heading", { name: "Société acme" }).waitFor();
    assert.equal((await pbx.api("GET", "/api/v1/tenants/acme")).status, 200);

    // The API's refusal is said under the form: the domain is taken.
    await page.getByRole("link", { name: "Sociétés" }).first().click();
    await create.getByLabel("Nom", { exact: true }).fill("other");
    await create.getByLabel("Domaine SIP").fill("acme.test");
    await create.getByRole("button", { name: "Créer la société" }).click();
    await create
      .getByRole("alert")
      .filter({ hasText: /acme\.test/ })
      .waitFor();

    await page.getByRole("link", { name: "Trunks" }).click();
    const trunk = page.getByRole("form", { name: "Nouveau trunk" });
    await trunk.getByLabel("Nom", { exact: true }).fill("carrier");
    await trunk.getByLabel("Serveur de l'opérateur").fill("127.0.0.2");
    await trunk.getByRole("button", { name: "Créer le trunk" }).click();
    await page.getByRole("rowheader", { name: /carrier/ }).waitFor();
    const trunks = await pbx.api<{ name: string; host: string; isDefault: boolean }[]>(
      "GET",
      "/api/v1/trunks",
    );
    assert.deepEqual(
      trunks.body.map((t) => [t.name, t.host, t.isDefault]),
      [["carrier", "127.0.0.2", true]],
    );

    await page.goto(`${base}/provider/tenants/acme`);
    const number = page.getByRole("form", { name: "Ajouter un numéro" });
    await number.getByLabel("Numéro", { exact: true }).fill("021 555 01 00");
    await number.getByRole("button", { name: "Ajouter le numéro" }).click();
    await page.getByRole("rowheader", { name: /\+41215550100/ }).waitFor();

    await page.getByRole("link", { name: "Utilisateurs" }).first().click();
    const user = page.getByRole("form", { name: "Nouvel utilisateur" });
    await user.getByLabel("Nom d'utilisateur").fill("boss@acme");
    await user.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
    await user.getByLabel("Rôle").selectOption("admin");
    await user.getByLabel("Société").selectOption("acme");
    await user.getByRole("button", { name: "Créer l'utilisateur" }).click();
    await page.getByRole("rowheader", { name: "boss@acme" }).waitFor();
    const users = await pbx.api<{ username: string; role: string; tenant: string | null }[]>(
      "GET",
      "/api/v1/users",
    );
    assert.ok(
      users.body.some((u) => u.username === "boss@acme" && u.role === "admin" && u.tenant === "acme"),
    );
  });

  test("the administrator creates an extension, a ring group, an exception and an API token that works", async () => {
    const page = await login("boss@acme");
    const ext = page.getByRole("form", { name: "Nouveau poste" });
    for (const [n, name] of [
      ["101", "Anna"],
      ["102", "Bruno"],
    ]) {
      await page.goto(`${base}/company/acme/extensions`);
      await ext.getByLabel("Poste").fill(n);
      await ext.getByLabel("Nom").fill(name);
      await ext.getByLabel("Mot de passe SIP").fill(`secret-${n}-pw`);
      await ext.getByRole("button", { name: "Créer le poste" }).click();
      await page.getByRole("heading", { name: `Poste ${n}` }).waitFor();
    }
    // The SIP password works: the phone registers.
    await phones.registered("101");

    await page.getByRole("link", { name: "Groupes d'appel" }).click();
    const group = page.getByRole("form", { name: "Nouveau groupe d'appel" });
    await group.getByLabel("Nom", { exact: true }).fill("shop");
    await group.getByLabel("101 · Anna").check();
    await group.getByLabel("102 · Bruno").check();
    await group.getByLabel("Sonnerie").selectOption("sequential");
    await group.getByRole("button", { name: "Créer le groupe d'appel" }).click();
    await page.getByRole("rowheader", { name: "shop" }).waitFor();
    const g = await pbx.api<{ members: string[]; strategy: string }>(
      "GET",
      "/api/v1/tenants/acme/ring-groups/shop",
    );
    assert.deepEqual([g.body.members, g.body.strategy], [["101", "102"], "sequential"]);

    await page.getByRole("link", { name: "Horaires" }).click();
    const exception = page.getByRole("form", { name: "Ajouter une exception" });
    await exception.getByLabel("Date").fill("2026-12-25");
    await exception.getByLabel("Mode").selectOption("closed");
    await exception.getByRole("button", { name: "Ajouter l'exception" }).click();
    await page.getByRole("button", { name: "Enregistrer les horaires" }).click();
    await waitUntil(async () => {
      const s = await pbx.api<{ exceptions: { date: string; mode: string }[] }>(
        "GET",
        "/api/v1/tenants/acme/schedule",
      );
      return s.body.exceptions.some((x) => x.date === "2026-12-25" && x.mode === "closed");
    }, "the exception saved");

    await page.getByRole("link", { name: "Utilisateurs et jetons" }).click();
    const token = page.getByRole("form", { name: "Nouveau jeton" });
    await token.getByLabel("Description").fill("CRM");
    await token.getByRole("button", { name: "Créer le jeton" }).click();
    const secret = (await page.locator("code.secret").textContent()) ?? "";
    assert.match(secret, /^vpbx_[A-Za-z0-9]{12}_/);
    const res = await fetch(`${base}/api/v1/tenants/acme/extensions`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(res.status, 200, "the token shown opens the API");
    await page.screenshot({ path: join(ARTIFACTS, "company-token-created.png"), fullPage: true });
  });

  test("a greeting uploaded as a WAV file is kept and played back", async () => {
    const r = await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true });
    assert.equal(r.status, 200);
    const page = await login("boss@acme");
    await page.goto(`${base}/company/acme/voicemail/101`);
    const samples = new Int16Array(8000);
    for (let i = 0; i < samples.length; i++)
      samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    const greeting = page.getByRole("region", { name: "Absent" });
    await greeting.getByLabel("Envoyer un fichier WAV").setInputFiles({
      name: "greeting.wav",
      mimeType: "audio/wav",
      buffer: writeWav(samples, 8000),
    });
    await greeting.locator("audio").waitFor();
    const got = await fetch(`${base}/api/v1/tenants/acme/extensions/101/voicemail/greetings/unavailable`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-type"), "audio/wav");
  });
});
