// A WebSocket client for the harness, as a browser's SIP stack (JsSIP, SIP.js)
// opens one: the `ws` package, which @fastify/websocket brings. Its types
// are not installed (no @types/ws), so the little the harness uses of it is
// typed here.
import type { ClientRequest, IncomingMessage } from "node:http";
import { createRequire } from "node:module";

export interface WsClient {
  /** The subprotocol the server agreed to. */
  readonly protocol: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed (RFC 6455 via the WebSocket API). */
  readonly readyState: number;
  send(data: string | Buffer, options?: { binary?: boolean }, done?: (err?: Error) => void): void;
  ping(data?: Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: "open", listener: () => void): this;
  on(event: "close", listener: (code: number, reason: Buffer) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  on(event: "pong", listener: (data: Buffer) => void): this;
  on(
    event: "unexpected-response",
    listener: (request: ClientRequest, response: IncomingMessage) => void,
  ): this;
  off(event: string, listener: (...args: never[]) => void): this;
}

export interface WsClientOptions {
  /** WSS: the server's certificate is not verified (the PBX's may be self-signed). */
  rejectUnauthorized?: boolean;
  localAddress?: string;
}

type WsConstructor = new (url: string, protocols?: string[], options?: WsClientOptions) => WsClient;

const require = createRequire(import.meta.url);
const WebSocket = require("ws") as WsConstructor;

/** An upgrade the server answered with an HTTP status instead of 101. */
export class WebSocketRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`WebSocket upgrade refused: HTTP ${status} ${body}`);
    this.name = "WebSocketRefused";
  }
}

/**
 * Opens a WebSocket to `url` offering `protocols`; resolves once open.
 * Rejects with WebSocketRefused (status and body) when the server refuses
 * the upgrade, with the socket error otherwise.
 */
export function openWebSocket(
  url: string,
  protocols: string[],
  opts: WsClientOptions = {},
): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { rejectUnauthorized: false, ...opts });
    const onError = (err: Error) => reject(err);
    ws.on("error", onError);
    ws.on("unexpected-response", (request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => {
        request.destroy();
        reject(new WebSocketRefused(response.statusCode ?? 0, body));
      });
    });
    ws.on("open", () => {
      ws.off("error", onError);
      resolve(ws);
    });
  });
}
