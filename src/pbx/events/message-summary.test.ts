import assert from "node:assert/strict";
import { test } from "node:test";
import { messageSummaryText } from "./message-summary.ts";

test("RFC 3842 §5.2: Messages-Waiting, Message-Account and the voice counts new/old", () => {
  assert.equal(
    messageSummaryText({ account: "sip:101@acme.test", newMessages: 2, oldMessages: 0 }),
    "Messages-Waiting: yes\r\nMessage-Account: sip:101@acme.test\r\nVoice-Message: 2/0\r\n",
  );
  assert.equal(
    messageSummaryText({ account: "sip:101@acme.test", newMessages: 0, oldMessages: 4 }),
    "Messages-Waiting: no\r\nMessage-Account: sip:101@acme.test\r\nVoice-Message: 0/4\r\n",
  );
});

test("counts that are not whole numbers >= 0 read as 0; no line break slips into the account", () => {
  assert.equal(
    messageSummaryText({ account: "sip:1\r\nX: y@acme.test", newMessages: Number.NaN, oldMessages: -3 }),
    "Messages-Waiting: no\r\nMessage-Account: sip:1X: y@acme.test\r\nVoice-Message: 0/0\r\n",
  );
  assert.match(messageSummaryText({ account: "a", newMessages: 2.7, oldMessages: 1 }), /Voice-Message: 2\/1/);
});
