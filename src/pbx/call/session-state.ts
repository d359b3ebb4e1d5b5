// The states of a call session and the moves between them, written down so
// that an impossible move (answering twice, ringing after the end) is a bug
// that shows in the logs instead of a message sent on a dead dialog.
//
//   offered ──▶ early ──▶ answered ──▶ ended
//      │          │                     ▲
//      └──────────┴─────────────────────┘
//   offered:  the caller's INVITE is here, nothing but 100 sent
//   early:    180/183 sent (ringing, early media, an announcement)
//   answered: the caller's dialog is confirmed by our 2xx
//   ended:    BYE, CANCEL, rejection or shutdown; nothing more is sent

export type SessionState = "offered" | "early" | "answered" | "ended";

const MOVES: Record<SessionState, readonly SessionState[]> = {
  offered: ["early", "answered", "ended"],
  early: ["answered", "ended"],
  answered: ["ended"],
  ended: [],
};

export class IllegalTransition extends Error {
  constructor(from: SessionState, to: SessionState) {
    super(`call session cannot go from ${from} to ${to}`);
    this.name = "IllegalTransition";
  }
}

export function canMove(from: SessionState, to: SessionState): boolean {
  return from === to || MOVES[from].includes(to);
}
