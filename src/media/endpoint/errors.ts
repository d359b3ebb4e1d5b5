// The endpoint was closed (hangup, call torn down) while an operation waited
// on it. Apps let it propagate: the script ends with the call.
export class MediaClosedError extends Error {
  constructor(readonly reason = "closed") {
    super(`media endpoint closed: ${reason}`);
    this.name = "MediaClosedError";
  }
}
