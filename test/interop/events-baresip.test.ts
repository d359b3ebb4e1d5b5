// Interop with baresip 1.0's desk-phone events and chat: its presence
// module subscribes to a colleague (RFC 3856, contact `;presence=p2p`) and
// sees them go online, busy in a call, and offline; it PUBLISHes its own
// state (answered 200, the PBX derives presence itself); its mwi module
// subscribes to its own message summary (RFC 3842) after registering; two
// baresips chat with SIP MESSAGE (RFC 3428) through the PBX. Every request
// is digest-challenged as a REGISTER is. With CI=true a missing baresip
// fails these tests.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import {
  type Baresip,
  type BaresipOptions,
  type BaresipSipMessage,
  startBaresip,
} from "../harness/baresip.ts";
import { sippHeader } from "../harness/sipp.ts";
import { requireTool } from "../harness/tools.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse())
    await c().catch((err: unknown) => console.warn("events-baresip cleanup failed:", err));
  await phones.cleanup();
});

/** A registered baresip for extension `user`, with the SIP trace on. */
async function baresip(user: string, opts: Partial<BaresipOptions> = {}): Promise<Baresip> {
  const bs = await startBaresip({
    user,
    password: `secret-${user}-pw`,
    domain: "acme.test",
    server: `127.0.0.1:${pbx.sip.port}`,
    sipTrace: true,
    ...opts,
  });
  cleanups.push(() => bs.stop());
  await bs.waitForRegistration(8000);
  return bs;
}

/** The messages of one method in baresip's trace, in order: "> SUBSCRIBE" sent, "< 401" received. */
function exchange(bs: Baresip, method: string, match: (m: BaresipSipMessage) => boolean = () => true) {
  return bs
    .sipMessages()
    .filter((m) => (sippHeader(m, "CSeq") ?? "").endsWith(` ${method}`) && match(m))
    .map((m) => {
      const arrow = m.direction === "sent" ? ">" : "<";
      const [first, second] = m.firstLine.split(" ");
      return first === "SIP/2.0" ? `${arrow} ${second}` : `${arrow} ${first}`;
    });
}

const event = (name: string) => (m: BaresipSipMessage) =>
  sippHeader(m, "Event") === name || !sippHeader(m, "Event");

/** Every message of baresip's trace on one line each, to show when an assertion fails. */
function flow(bs: Baresip): string {
  const lines = bs
    .sipMessages()
    .map((m) => `${m.direction === "sent" ? ">" : "<"} ${m.firstLine} (${sippHeader(m, "CSeq") ?? ""})`);
  return `baresip's SIP messages:\n${lines.join("\n")}`;
}

async function until(check: () => boolean, what: string, timeoutMs = 8000, bs?: Baresip): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms${bs ? `\n${flow(bs)}\n${bs.output().slice(-2000)}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("baresip's presence module sees a colleague online, busy in a call, offline; its PUBLISH is taken", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const watcher = await baresip("101", {
    modules: ["contact.so", "presence.so"],
    contacts: ['"Bob" <sip:102@acme.test>;presence=p2p'],
    // pubint: baresip PUBLISHes its own presence (RFC 3903) every 60 s.
    accountParams: "pubint=60",
  });
  const bob = "sip:102@acme.test";
  // The presence module subscribes a second after it starts.
  await watcher.waitForPresence(bob, "Offline", 8000);

  const desk = await phones.registered("102");
  await watcher.waitForPresence(bob, "Online");

  desk.autoAnswer();
  const carol = await phones.registered("103");
  const call = await carol.call("102");
  await call.waitFor("answered");
  // The PBX says "on the phone" as <rpid:on-the-phone/>, which baresip reads as Busy.
  await watcher.waitForPresence(bob, "Busy");
  assert.equal((await call.bye()).status, 200);
  await watcher.waitForPresence(bob, "Online");

  assert.equal((await desk.unregister()).status, 200);
  await watcher.waitForPresence(bob, "Offline");
  // baresip prints its SIP trace on another stream than the contact list: wait for the last NOTIFY there.
  await until(
    () => exchange(watcher, "NOTIFY", event("presence")).filter((e) => e === "< NOTIFY").length >= 5,
    "five NOTIFYs in the trace",
    5000,
    watcher,
  );

  // What went over the wire: a challenged SUBSCRIBE, PIDF NOTIFYs, a challenged PUBLISH.
  const subscribe = watcher
    .sipMessages()
    .filter((m) => m.direction === "sent" && m.firstLine.startsWith("SUBSCRIBE sip:102@acme.test"));
  assert.equal(sippHeader(subscribe[0]!, "Event"), "presence");
  assert.deepEqual(
    exchange(watcher, "SUBSCRIBE", event("presence")).slice(0, 4),
    ["> SUBSCRIBE", "< 401", "> SUBSCRIBE", "< 200"],
    flow(watcher),
  );
  const notifies = watcher
    .sipMessages()
    .filter((m) => m.direction === "received" && m.firstLine.startsWith("NOTIFY"));
  assert.ok(notifies.length >= 5, `closed, open, busy, open, closed: ${notifies.length} NOTIFYs`);
  for (const n of notifies) assert.equal(sippHeader(n, "Content-Type"), "application/pidf+xml");
  assert.ok(notifies.some((n) => n.text.includes("<rpid:on-the-phone/>")));
  // baresip 1.0 starts two publications at once (two Call-IDs): each is challenged, then taken.
  const publications = new Set(
    watcher
      .sipMessages()
      .filter((m) => m.direction === "sent" && m.firstLine.startsWith("PUBLISH"))
      .map((m) => sippHeader(m, "Call-ID")),
  );
  assert.ok(publications.size >= 1, "baresip published its presence");
  for (const callId of publications) {
    const same = (m: BaresipSipMessage) => sippHeader(m, "Call-ID") === callId;
    assert.deepEqual(
      exchange(watcher, "PUBLISH", same).slice(0, 4),
      ["> PUBLISH", "< 401", "> PUBLISH", "< 200"],
      flow(watcher),
    );
    const ok = watcher.sipMessages().find((m) => same(m) && m.firstLine.startsWith("SIP/2.0 200"));
    assert.ok(sippHeader(ok!, "SIP-ETag"), "the 200 to PUBLISH carries an entity tag (RFC 3903 §6, step 8)");
  }
  const sentPidf = watcher
    .sipMessages()
    .find((m) => m.direction === "sent" && m.firstLine.startsWith("PUBLISH"));
  assert.equal(sippHeader(sentPidf!, "Content-Type"), "application/pidf+xml");
});

/**
 * A registered baresip with mwi.so, once its MWI NOTIFY has come. baresip
 * 1.0's mwi module has a start-up race of its own: its first timer walks the
 * list of subscriptions while subscribing each one again, which appends to
 * that list, so when the REGISTER's 200 came before that timer fired, it
 * subscribes in an endless loop (thousands of SUBSCRIBEs in a few seconds,
 * and its event loop never reads an answer). Seen once in CI. A baresip
 * caught in it is started again (the PBX is not at fault: baresip never
 * reads its answers).
 */
async function baresipWithMwi(user: string, t: { diagnostic(message: string): void }): Promise<Baresip> {
  for (let attempt = 1; ; attempt++) {
    const bs = await baresip(user, { modules: ["mwi.so"] });
    const subscribing = () => bs.output().split("mwi: subscribing to messages").length - 1;
    try {
      // menu.so prints each MWI NOTIFY's body under this line (the MWI_NOTIFY
      // ctrl_tcp event may come before the harness has connected).
      await until(
        () => bs.output().includes(`----- MWI for sip:${user}@acme.test -----`) || subscribing() > 5,
        "the MWI NOTIFY",
        8000,
        bs,
      );
    } catch (err) {
      await bs.stop();
      throw err;
    }
    if (subscribing() <= 5) return bs;
    t.diagnostic(`attempt ${attempt}: baresip's mwi module looped on its SUBSCRIBE; starting it again`);
    await bs.stop();
    if (attempt === 3) throw new Error("baresip's mwi module looped on its SUBSCRIBE three times in a row");
  }
}

test("baresip's mwi module subscribes to its own message summary after registering; the PBX says nothing waits", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const bs = await baresipWithMwi("101", t);
  // The SIP trace is printed on another stream than menu.so's lines.
  await until(() => exchange(bs, "NOTIFY").length >= 2, "the NOTIFY and its 200 in the trace", 5000, bs);
  assert.deepEqual(
    exchange(bs, "SUBSCRIBE").slice(0, 4),
    ["> SUBSCRIBE", "< 401", "> SUBSCRIBE", "< 200"],
    flow(bs),
  );
  const sub = bs.sipMessages().find((m) => m.direction === "sent" && m.firstLine.startsWith("SUBSCRIBE"))!;
  assert.equal(sippHeader(sub, "Event"), "message-summary");
  assert.equal(sippHeader(sub, "Accept"), "application/simple-message-summary");
  const notify = bs
    .sipMessages()
    .find((m) => m.direction === "received" && m.firstLine.startsWith("NOTIFY"))!;
  assert.equal(sippHeader(notify, "Event"), "message-summary");
  assert.equal(sippHeader(notify, "Content-Type"), "application/simple-message-summary");
  assert.match(sippHeader(notify, "Subscription-State") ?? "", /^active/);
  assert.match(notify.text, /\r\n\r\nMessages-Waiting: no\r\n/);
  assert.match(notify.text, /Message-Account: sip:101@acme\.test/);
  assert.deepEqual(exchange(bs, "NOTIFY").slice(0, 2), ["< NOTIFY", "> 200"], flow(bs));
  const listed = await pbx.api<Array<{ package: string; resource: string }>>(
    "GET",
    "/api/v1/tenants/acme/subscriptions",
  );
  assert.ok(listed.body.some((s) => s.package === "message-summary" && s.resource === "101"));
});

test("an unsolicited message summary reaches baresip when it registers (baresip 1.0 refuses it with 481)", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const patched = await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/103", { mwiUnsolicited: true });
  assert.equal(patched.status, 200);
  cleanups.push(() => pbx.api("PATCH", "/api/v1/tenants/acme/extensions/103", { mwiUnsolicited: false }));
  const bs = await baresip("103");
  await until(
    () => exchange(bs, "NOTIFY").length >= 2,
    "the unsolicited NOTIFY and baresip's answer",
    8000,
    bs,
  );
  const notify = bs
    .sipMessages()
    .find((m) => m.direction === "received" && m.firstLine.startsWith("NOTIFY"))!;
  assert.equal(sippHeader(notify, "Event"), "message-summary");
  assert.match(notify.text, /Messages-Waiting: no/);
  assert.doesNotMatch(sippHeader(notify, "To") ?? "", /tag=/, "out of any dialog");
  // baresip 1.0 has no handler for a NOTIFY outside a subscription of its own.
  assert.deepEqual(exchange(bs, "NOTIFY").slice(0, 2), ["< NOTIFY", "> 481"], flow(bs));
});

test("two baresips chat through the PBX with SIP MESSAGE", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const alice = await baresip("101", {
    modules: ["contact.so"],
    contacts: ['"Bob" <sip:102@acme.test>', '"Carol" <sip:103@acme.test>'],
    console: true,
  });
  const bob = await baresip("102", {
    modules: ["contact.so"],
    contacts: ['"Alice" <sip:101@acme.test>'],
    console: true,
  });
  await alice.message('Lunch at noon? Bring the "specs": page 2');
  const got = await bob.waitForMessage('Lunch at noon? Bring the "specs": page 2');
  assert.equal(got.from, "sip:101@acme.test");
  await bob.message("Yes, see you");
  assert.equal((await alice.waitForMessage("Yes, see you")).from, "sip:102@acme.test");
  // The SIP traces are printed on another stream than the console's lines.
  await until(() => exchange(alice, "MESSAGE").includes("< 200"), "the 200 to alice's MESSAGE", 5000, alice);
  await until(() => exchange(bob, "MESSAGE").includes("< MESSAGE"), "the MESSAGE bob received", 5000, bob);

  assert.deepEqual(
    exchange(alice, "MESSAGE").slice(0, 4),
    ["> MESSAGE", "< 401", "> MESSAGE", "< 200"],
    flow(alice),
  );
  const sent = alice.sipMessages().find((m) => m.direction === "sent" && m.firstLine.startsWith("MESSAGE"))!;
  assert.equal(sippHeader(sent, "Content-Type"), "text/plain");
  const relayed = bob
    .sipMessages()
    .find((m) => m.direction === "received" && m.firstLine.startsWith("MESSAGE"))!;
  assert.equal(sippHeader(relayed, "Content-Type"), "text/plain");
  assert.match(sippHeader(relayed, "From") ?? "", /<sip:101@acme\.test>/);
  assert.match(relayed.firstLine, new RegExp(`^MESSAGE sip:102[^ ]*@127\\.0\\.0\\.1:${bob.sipPort} `));

  // Carol (103) has no device: the PBX says 480, which baresip prints.
  assert.equal((await alice.command("contact_next")).ok, true);
  await alice.message("anyone?");
  await until(() => exchange(alice, "MESSAGE").includes("< 480"), "the 480 for 103", 8000, alice);
});

// What these interop tests found the PBX doing wrong (docs/INTEROP.md,
// "Desk-phone events and chat"), fixed since: they stay as tests.

test("baresip's MESSAGE is answered at once when one device of the colleague took it and another is silent", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const alice = await baresip("101", { modules: ["contact.so"], contacts: ['"Bob" <sip:102@acme.test>'] });
  const bob = await baresip("102", { console: true });
  // A second device of 102 that does not answer (unplugged without unregistering).
  const unplugged = await phones.registered("102");
  unplugged.onRequest = () => "ignore";
  await alice.message("Are you there?");
  await bob.waitForMessage("Are you there?");
  await until(() => exchange(alice, "MESSAGE").includes("< 200"), "the 200 to baresip's MESSAGE", 3000);
});

test("baresip withdraws its presence (PUBLISH Expires: 0) and the PBX confirms the withdrawal", async (t) => {
  if (!requireTool("baresip")) return t.skip("baresip not installed");
  const bs = await baresip("101", { modules: ["contact.so", "presence.so"], accountParams: "pubint=60" });
  const publishOk = () =>
    bs
      .sipMessages()
      .filter((m) => m.firstLine.startsWith("SIP/2.0 200") && / PUBLISH$/.test(sippHeader(m, "CSeq") ?? ""));
  await until(() => publishOk().length >= 1, "the 200 to baresip's PUBLISH");
  const before = publishOk().length;
  // On shutdown baresip 1.0 sends PUBLISH with Expires: 0 and SIP-If-Match (RFC 3903 §4.5).
  await bs.stop();
  const withdrawal = bs
    .sipMessages()
    .find(
      (m) => m.direction === "sent" && m.firstLine.startsWith("PUBLISH") && sippHeader(m, "Expires") === "0",
    );
  assert.ok(withdrawal && sippHeader(withdrawal, "SIP-If-Match"), "baresip withdrew its publication");
  const answer = publishOk().at(-1);
  assert.ok(publishOk().length > before && answer, "the withdrawal was answered 200");
  assert.equal(
    sippHeader(answer, "Expires"),
    "0",
    "RFC 3903 §6 step 8: the 2xx gives the state's lifetime, 0",
  );
});
