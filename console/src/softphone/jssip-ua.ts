// The real user agent: JsSIP (bundled by Vite) over the server's SIP
// WebSocket (RFC 7118), authenticated with the extension's HA1 and realm
// instead of a password (JsSIP's `ha1`), registered as the extension.
import { UA, WebSocketInterface } from "jssip";
import type { SipUa, SoftphoneCredentials } from "./phone.ts";

/** How the PBX lists this phone (GET …/registrations: userAgent). */
const USER_AGENT = "vpbx console softphone (JsSIP)";

export function createJsSipUa(c: SoftphoneCredentials): SipUa {
  const ua = new UA({
    sockets: [new WebSocketInterface(c.wsUrl)],
    uri: c.uri,
    authorization_user: c.authorizationUser,
    realm: c.realm,
    ha1: c.ha1,
    display_name: c.displayName,
    register: true,
    // The PBX keeps its dialogs alive itself; RFC 4028 refreshes would only add re-INVITEs.
    session_timers: false,
    user_agent: USER_AGENT,
  });
  return ua as unknown as SipUa;
}
