// The one UDP port a WebRTC leg runs on, as the transport sees it: send a
// datagram, be told of received ones. An interface, so that the port can be
// an RtpLeg's socket on this thread, a socket on a media worker, or an
// in-memory pair in a test.
import type { RemoteInfo, Socket } from "node:dgram";
import type { Logger } from "../../util/log.ts";

export interface RemoteAddress {
  address: string;
  port: number;
}

export interface DatagramPort {
  /** Sends one datagram. `buf` is not copied: the caller hands it over. */
  send(buf: Buffer, port: number, address: string): void;
  /** Registers the receiver of every datagram; returns the function that unregisters it. */
  onMessage(handler: (msg: Buffer, from: RemoteAddress) => void): () => void;
}

/**
 * A bound dgram socket as a DatagramPort. The socket stays the caller's
 * (its pool binds and closes it); a send on a closed socket is dropped and
 * logged, and socket errors (ICMP unreachable) are logged, never thrown.
 */
export function udpSocketPort(socket: Socket, log?: Logger): DatagramPort {
  return {
    send(buf, port, address) {
      try {
        socket.send(buf, port, address);
      } catch (err) {
        log?.debug({ err }, "webrtc: send on a closed socket dropped");
      }
    },
    onMessage(handler) {
      const onMessage = (msg: Buffer, rinfo: RemoteInfo) => handler(msg, rinfo);
      const onError = (err: Error) => log?.debug({ err }, "webrtc: socket error");
      socket.on("message", onMessage);
      socket.on("error", onError);
      return () => {
        socket.off("message", onMessage);
        socket.off("error", onError);
      };
    },
  };
}
