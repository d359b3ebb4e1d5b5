import assert from "node:assert/strict";
import { test } from "node:test";
import { pidfXml } from "./pidf.ts";

test("closed without a device: one tuple, basic closed, no note (RFC 3863 §4.1)", () => {
  assert.equal(
    pidfXml("sip:102@acme.test", "102", { open: false, onThePhone: false }),
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:102@acme.test">',
      '<tuple id="t102">',
      "<status><basic>closed</basic></status>",
      "<contact>sip:102@acme.test</contact>",
      "</tuple>",
      "</presence>",
      "",
    ].join("\r\n"),
  );
});

test("open and on the phone: the note and the RPID activity as baresip and linphone read them", () => {
  const xml = pidfXml("sip:102@acme.test", "102", { open: true, onThePhone: true });
  assert.match(xml, /<basic>open<\/basic>/);
  assert.match(xml, /<note>On the phone<\/note>/);
  assert.match(xml, /<dm:person id="p102">\r\n<rpid:activities><rpid:on-the-phone\/><\/rpid:activities>/);
  assert.doesNotMatch(pidfXml("sip:102@acme.test", "102", { open: true, onThePhone: false }), /note|person/);
  assert.doesNotMatch(pidfXml("sip:102@acme.test", "102", { open: false, onThePhone: true }), /note|person/);
});

test("ids stay XML IDs and the entity is escaped", () => {
  const xml = pidfXml('sip:a&b@x"y', "*1 2", { open: true, onThePhone: false });
  assert.match(xml, /<tuple id="t_1_2">/);
  assert.match(xml, /entity="sip:a&amp;b@x&quot;y"/);
});
