// SIP over WebSocket (RFC 7118): what the transport layer needs of an
// accepted WebSocket, and the rules of the wire. The HTTP server does the
// upgrade (it owns the HTTP port) and hands the socket over; the transport
// layer then treats it as one more connection (transport-layer.ts).
import { isUtf8 } from "node:buffer";
import type { ConnectionSink } from "./connection.ts";

/** RFC 7118 §4: the WebSocket subprotocol a SIP client asks for, and without which it is refused. */
export const SIP_WEBSOCKET_PROTOCOL = "sip";

/** What a message event carries (the `ws` package: a Buffer, unless fragments or an ArrayBuffer were asked for). */
export type WebSocketData = Buffer | ArrayBuffer | Buffer[];

/**
 * The part of a `ws` WebSocket (the one @fastify/websocket hands to a route)
 * that the transport layer uses; tests give a fake.
 */
export interface WebSocketLike {
  /** The subprotocol agreed in the handshake. */
  readonly protocol: string;
  send(data: Buffer, options: { binary: boolean }, done?: (err?: Error) => void): void;
  /** Destroys the connection without a closing handshake. */
  terminate(): void;
  on(event: "message", listener: (data: WebSocketData, isBinary: boolean) => void): unknown;
  on(event: "ping" | "pong", listener: (data: Buffer) => void): unknown;
  on(event: "close", listener: (code: number, reason: Buffer) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
}

/**
 * One SIP message per WebSocket message (RFC 7118 §5.1). A message goes as
 * a text frame when it is UTF-8 (what SIP is, and what JsSIP and SIP.js read
 * best), else as a binary frame, which §5.1 requires for a body that is not.
 * A close is a terminate: the peer (a browser) reconnects either way, and a
 * closing handshake would keep the socket of a peer we are dropping for a
 * while longer.
 */
export function webSocketSink(socket: WebSocketLike): ConnectionSink {
  return {
    write: (data, done) => {
      try {
        socket.send(data, { binary: !isUtf8(data) }, done);
      } catch (err) {
        // ws throws when the socket is not open yet or any more.
        done?.(err instanceof Error ? err : new Error(String(err)));
      }
    },
    destroy: () => socket.terminate(),
  };
}

/** The bytes of one WebSocket message, whichever form `ws` gave it in. */
export function messageBytes(data: WebSocketData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * A keep-alive that wants an answer: the double CRLF of RFC 5626 §4.4.1,
 * which SIP.js sends as a WebSocket message and to which it expects a single
 * CRLF back. Anything else made of white space only is dropped unanswered.
 */
export function isCrlfPing(buf: Buffer): boolean {
  return buf.length === 4 && buf.toString("latin1") === "\r\n\r\n";
}
