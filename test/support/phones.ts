// The phones of one test file: created against the test PBX with the
// password convention of the tests ("secret-<number>-pw"), and cleaned up
// as a well-behaved phone would (unregister, then close), so that a binding
// left behind does not ring into the void in the next test.
import assert from "node:assert/strict";
import { SipPhone, type SipPhoneOptions } from "../harness/sip-phone.ts";

export class Phones {
  private readonly open: SipPhone[] = [];

  constructor(private readonly server: () => { host: string; port: number }) {}

  /** A phone of extension `user` (not registered yet). */
  async phone(user: string, opts: Partial<SipPhoneOptions> = {}): Promise<SipPhone> {
    const p = await SipPhone.create({
      user,
      password: `secret-${user}-pw`,
      domain: "acme.test",
      server: this.server(),
      ...definedOnly(opts),
    });
    this.open.push(p);
    return p;
  }

  /** A phone of extension `user`, registered (the test fails otherwise). */
  async registered(user: string, opts: Partial<SipPhoneOptions> = {}): Promise<SipPhone> {
    const p = await this.phone(user, opts);
    const res = await p.register({ expires: 300 });
    assert.equal(res.status, 200, `register ${user}`);
    return p;
  }

  /**
   * `caller` calls `callee` (both registered here), the callee answers at
   * once, and both sides are up: the caller has its 200, the callee its ACK.
   */
  async answeredCall(caller: string, callee: string) {
    const from = await this.registered(caller);
    const to = await this.registered(callee);
    to.autoAnswer();
    const call = await from.call(callee);
    await call.waitFor("answered");
    const incoming = await to.waitForCall();
    await incoming.waitForAck();
    return { from, to, call, incoming };
  }

  /** Unregisters and closes every phone of the test. */
  async cleanup(): Promise<void> {
    await Promise.all(
      this.open.splice(0).map(async (p) => {
        await p.unregister().catch(() => {});
        await p.close();
      }),
    );
  }
}

/** Options left undefined keep their defaults. */
function definedOnly<T extends object>(opts: T): Partial<T> {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<T>;
}
