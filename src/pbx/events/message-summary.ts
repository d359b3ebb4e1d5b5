// The message-summary package's body (RFC 3842 §5.2): the message-waiting
// lamp. Phones read "Messages-Waiting" for the lamp and the
// "Voice-Message: new/old" counts for the display.

export const MESSAGE_SUMMARY_TYPE = "application/simple-message-summary";

export interface MessageSummary {
  /** The mailbox's URI, e.g. sip:101@acme.test (§5.2 Message-Account). */
  account: string;
  newMessages: number;
  oldMessages: number;
}

/** A count as the grammar allows it (1*DIGIT): a bad one reads as 0 rather than breaking the body. */
function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

export function messageSummaryText(s: MessageSummary): string {
  const fresh = count(s.newMessages);
  const old = count(s.oldMessages);
  // The account is our own URI (digits and the tenant's domain): no CR/LF can slip in.
  return [
    `Messages-Waiting: ${fresh > 0 ? "yes" : "no"}`,
    `Message-Account: ${s.account.replace(/[\r\n]/g, "")}`,
    `Voice-Message: ${fresh}/${old}`,
    "",
  ].join("\r\n");
}
