// The voicemail lamp's body (RFC 3842 §5.2, application/simple-message-summary):
// "Messages-Waiting: yes|no" lights the lamp, "Voice-Message: new/old
// (urgent new/urgent old)" gives the counts. Read leniently: a header we do
// not know is skipped, a count that does not read is 0.

export interface Mailbox {
  waiting: boolean;
  newMessages: number;
  oldMessages: number;
}

/** The lamp and counts of a NOTIFY body; undefined when it says nothing about waiting messages. */
export function readMessageSummary(body: string | undefined): Mailbox | undefined {
  if (!body) return undefined;
  let waiting: boolean | undefined;
  let newMessages = 0;
  let oldMessages = 0;
  for (const raw of body.split(/\r\n|\r|\n/)) {
    const colon = raw.indexOf(":");
    if (colon < 0) continue;
    const name = raw.slice(0, colon).trim().toLowerCase();
    const value = raw.slice(colon + 1).trim();
    if (name === "messages-waiting") waiting = value.toLowerCase() === "yes";
    else if (name === "voice-message") {
      const m = /^(\d+)\s*\/\s*(\d+)/.exec(value);
      if (m) {
        newMessages = Number(m[1]);
        oldMessages = Number(m[2]);
      }
    }
  }
  if (waiting === undefined) return undefined;
  return { waiting, newMessages, oldMessages };
}
