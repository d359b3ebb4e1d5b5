// The one file that names werift-dtls (MIT, github.com/shinyoshiaki/werift-dtls),
// the DTLS 1.2 implementation we run over our own port (see docs/WEBRTC.md
// for why this library and what we check that it does not). Version 0.5.8 is
// pinned: its package.json "main" points at a file it does not ship, so we
// import its DTLS entry point by path, and a new version may move it.

export type { Transport as WeriftTransport } from "werift-dtls/lib/common/src/transport.js";
export {
  CipherContext,
  // The client plays the browser in our tests; vpbx itself is always the DTLS server.
  DtlsClient,
  DtlsServer,
  DtlsSocket,
  HashAlgorithm,
  NamedCurveAlgorithm,
  SignatureAlgorithm,
} from "werift-dtls/lib/dtls/src/index.js";

/** use_srtp protection profile numbers (RFC 5764 §4.1.2, RFC 7714 §14.2) as werift types them. */
export type WeriftSrtpProfile = 1 | 7;
