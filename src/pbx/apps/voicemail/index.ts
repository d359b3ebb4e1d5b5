// The voicemail voice menus: leaving a message (with `*` remote access and
// `0` to the operator) and the mailbox menu (`*97`). They touch mailboxes
// only through CallControl.voicemail (src/pbx/voicemail).
import type { AppRegistry } from "../dispatcher.ts";
import { mailboxMenu } from "./mailbox-menu.ts";

export { leaveMessage } from "./leave-message.ts";
export { mailboxMenu } from "./mailbox-menu.ts";

export const voicemailApps: AppRegistry = {
  "voicemail.access": (call) => mailboxMenu(call),
};
