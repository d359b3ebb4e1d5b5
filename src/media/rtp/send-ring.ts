// Preallocated send buffers for packets we originate. dgram.send() does not
// copy: the bytes are read after an asynchronous address lookup (a
// process.nextTick even for an IP literal) and, under pressure, when the
// socket becomes writable. A sender that rewrites one buffer for every
// packet would send the last packet N times after a burst (the pacer's
// catch-up ticks). So each packet takes a free slot of a ring; a slot is free
// again when its send completed. The ring grows only if every slot is still in
// flight, so the steady state allocates nothing.

export interface SendSlot {
  readonly buf: Buffer;
  busy: boolean;
  /** Pass to the socket's send: marks the slot free when the send completed. */
  readonly onSent: (err?: Error | null) => void;
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

  /** A slot not in flight, marked busy; the caller writes its packet and sends it with slot.onSent. */
  take(): SendSlot {
    const n = this.slots.length;
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
    const slot: SendSlot = {
      buf: Buffer.alloc(this.packetSize),
      busy: false,
      onSent: () => {
        slot.busy = false;
      },
    };
    return slot;
  }
}
