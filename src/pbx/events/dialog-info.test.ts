import assert from "node:assert/strict";
import { test } from "node:test";
import { dialogInfoXml, extensionDialogInfo, featureLampInfo, partyUri } from "./dialog-info.ts";

test("a full-state document: namespace, version, entity; dialogs with state, local and remote identity (RFC 4235 §4.1)", () => {
  const xml = extensionDialogInfo(
    "sip:101@acme.test",
    "acme.test",
    [
      { id: "s1", state: "early", direction: "recipient", remote: { number: "102", displayName: "Bob" } },
      { id: "s2", state: "confirmed", direction: "initiator" },
    ],
    7,
    "101",
  );
  assert.equal(
    xml,
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="7" state="full" entity="sip:101@acme.test">',
      '<dialog id="s1" direction="recipient">',
      "<state>early</state>",
      "<local>",
      "<identity>sip:101@acme.test</identity>",
      '<target uri="sip:101@acme.test"/>',
      "</local>",
      "<remote>",
      '<identity display="Bob">sip:102@acme.test</identity>',
      '<target uri="sip:102@acme.test"/>',
      "</remote>",
      "</dialog>",
      '<dialog id="s2" direction="initiator">',
      "<state>confirmed</state>",
      "<local>",
      "<identity>sip:101@acme.test</identity>",
      '<target uri="sip:101@acme.test"/>',
      "</local>",
      "</dialog>",
      "</dialog-info>",
      "",
    ].join("\r\n"),
  );
});

test("an idle line lists one terminated dialog, so every desk phone switches its key off", () => {
  const xml = extensionDialogInfo("sip:101@acme.test", "acme.test", [], 0, "101");
  assert.match(xml, /version="0" state="full"/);
  assert.match(xml, /<dialog id="101">\r\n<state>terminated<\/state>\r\n<\/dialog>/);
  assert.doesNotMatch(xml, /<local>|<remote>/);
});

test("what users wrote is escaped: display names, ids; odd numbers are escaped in the URI", () => {
  const xml = extensionDialogInfo(
    "sip:101@acme.test",
    "acme.test",
    [
      {
        id: "a<b",
        state: "early",
        direction: "recipient",
        remote: { number: "+41 79<1>", displayName: `"Rock" & <Roll>\u0001` },
      },
    ],
    1,
    "101",
  );
  assert.match(xml, /<dialog id="a&lt;b"/);
  assert.match(xml, /display="&quot;Rock&quot; &amp; &lt;Roll&gt;"/);
  assert.match(xml, /sip:\+41%2079%3C1%3E@acme\.test/);
  assert.doesNotMatch(xml, /\u0001/);
});

test("a feature lamp: confirmed while on, terminated when off", () => {
  assert.match(
    featureLampInfo("sip:*11@acme.test", "*11", true, 2),
    /<dialog id="\*11" direction="initiator">\r\n<state>confirmed<\/state>/,
  );
  assert.match(
    featureLampInfo("sip:*11@acme.test", "*11", false, 3),
    /<dialog id="\*11">\r\n<state>terminated<\/state>/,
  );
});

test("dialogInfoXml without dialogs is an empty full document", () => {
  assert.match(
    dialogInfoXml({ entity: "sip:x@y", version: 1, dialogs: [] }),
    /entity="sip:x@y">\r\n<\/dialog-info>/,
  );
  assert.equal(partyUri("102", "acme.test"), "sip:102@acme.test");
});

test("a withheld caller shows as the anonymous URI (RFC 3323)", () => {
  const xml = extensionDialogInfo(
    "sip:101@acme.test",
    "acme.test",
    [{ id: "s1", state: "early", direction: "recipient", remote: { number: "anonymous" } }],
    0,
    "101",
  );
  assert.match(xml, /<identity>sip:anonymous@anonymous\.invalid<\/identity>/);
});
