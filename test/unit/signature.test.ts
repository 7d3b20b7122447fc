import assert from 'node:assert/strict';
import {
  signSlackRequest,
  signTenureWebhook,
  verifySlackRequest,
  verifyTenureWebhook,
} from '../../src/client/signature';

describe('request signatures', () => {
  // Slack's published signing example (DESIGN §7).
  const slackSecret = '8f742231b10e8888abcd99yyyzzz85a5';
  const slackTs = 1531420618;
  const slackBody =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const slackSig = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

  it("matches Slack's published test vector", () => {
    assert.equal(signSlackRequest(slackSecret, slackTs, slackBody), slackSig);
    const ok = verifySlackRequest({
      secret: slackSecret,
      timestamp: String(slackTs),
      signature: slackSig,
      rawBody: Buffer.from(slackBody),
      nowSeconds: slackTs + 10,
    });
    assert.deepEqual(ok, { ok: true });
  });

  it('refuses Slack timestamps more than 5 minutes away in either direction', () => {
    for (const skew of [-301, 301]) {
      const r = verifySlackRequest({
        secret: slackSecret,
        timestamp: String(slackTs),
        signature: slackSig,
        rawBody: Buffer.from(slackBody),
        nowSeconds: slackTs + skew,
      });
      assert.equal(r.ok, false);
    }
  });

  const secret = 'a-shared-secret-of-some-length';
  const body = Buffer.from('{"eventId":"e1"}');
  const now = 1_800_000_000;

  it('accepts a correctly signed Tenure webhook within the window', () => {
    const signature = signTenureWebhook(secret, now - 299, body);
    assert.deepEqual(
      verifyTenureWebhook({ secret, timestamp: String(now - 299), signature, rawBody: body, nowSeconds: now }),
      { ok: true },
    );
  });

  it('names what is wrong with a refused Tenure webhook', () => {
    const sig = signTenureWebhook(secret, now, body);
    const cases: [Partial<Parameters<typeof verifyTenureWebhook>[0]>, RegExp][] = [
      [{ timestamp: undefined }, /missing x-tenure-timestamp/],
      [{ timestamp: 'yesterday' }, /Unix seconds/],
      [
        { timestamp: String(now + 301), signature: signTenureWebhook(secret, now + 301, body) },
        /more than 300 seconds/,
      ],
      [{ signature: undefined }, /missing x-tenure-signature/],
      [{ signature: sig.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, /does not match/],
      [{ rawBody: Buffer.from('{"eventId":"e2"}') }, /does not match/],
      [{ signature: 'v1=short' }, /does not match/],
    ];
    for (const [over, message] of cases) {
      const r = verifyTenureWebhook({
        secret,
        timestamp: String(now),
        signature: sig,
        rawBody: body,
        nowSeconds: now,
        ...over,
      });
      assert.equal(r.ok, false, String(message));
      if (!r.ok) assert.match(r.reason, message);
    }
  });
});
