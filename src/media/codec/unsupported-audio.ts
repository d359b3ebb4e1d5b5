// What the audio decoders throw on input they cannot turn into sound. The
// media room knows nothing of tenants or HTTP: the PBX turns these into its
// own errors (AudioRejected) with the message kept, so the message is
// written for the person who sent the file.

/** Unknown format, undecodable or empty audio. */
export class UnsupportedAudio extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedAudio";
  }
}

/** Audio longer than the caller allows; thrown before the costly resampling. */
export class AudioTooLong extends UnsupportedAudio {
  constructor(
    readonly seconds: number,
    readonly maxSeconds: number,
  ) {
    super(`the audio lasts ${Math.round(seconds)} s, longer than the ${maxSeconds} s allowed`);
    this.name = "AudioTooLong";
  }
}
