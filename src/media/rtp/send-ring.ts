// Preallocated send buffers for packets we originate. dgram.send() does not
// copy: on an unconnected socket the bytes are read after an asynchronous
// address lookup (a process.nextTick even for an IP literal), and on any
// socket, under pressure, only when it becomes writable. A sender that
// rewrote one buffer for every packet would send the last packet N times
// after a burst (the pacer's catch-up ticks). So each packet takes a slot of
// a ring, and slots are handed out again only once the socket holds none of
// them: the sender passes the leg's `sendIdle` to take(). On a connected
// socket that is almost always the case, so one slot serves every packet and
// no per-packet completion callback is needed. The ring grows only while
// every slot is in flight, so the steady state allocates nothing.

export interface SendSlot {
  readonly buf: Buffer;
  busy: boolean;
}

export class SendRing {
  private readonly slots: SendSlot[] = [];
  private cursor = 0;

  constructor(
    readonly packetSize: number,
    count = 8,
  ) {
    for (let i = 0; i < count; i++) this.slots.push(this.newSlot());
  }

  get capacity(): number {
    return this.slots.length;
  }

  /**
   * A slot not in flight, marked busy; the caller writes its packet into it
   * and sends it, or sets `busy = false` when it did not send. `idle`: the
   * socket holds none of the buffers handed to it (RtpLeg.sendIdle), so
   * every slot is free again.
   */
  take(idle: boolean): SendSlot {
    const n = this.slots.length;
    if (idle) {
      for (let k = 0; k < n; k++) this.slots[k].busy = false;
    }
    for (let k = 0; k < n; k++) {
      const slot = this.slots[this.cursor];
      this.cursor = (this.cursor + 1) % n;
      if (!slot.busy) {
        slot.busy = true;
        return slot;
      }
    }
    const slot = this.newSlot();
    this.slots.splice(this.cursor, 0, slot);
    slot.busy = true;
    return slot;
  }

  private newSlot(): SendSlot {
    return { buf: Buffer.alloc(this.packetSize), busy: false };
  }
}
