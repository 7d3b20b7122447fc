/**
 * Issue 16, item 6: weak shared secrets are refused at start-up (entropy, not only length), and the Web UI's codec
 * settings never carry a secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateCodecToken, uiCodecSettings } from '../../src/client/codec-server';
import { loadEnv } from '../../src/config/env';
import { estimatedSecretBits, weakSecretReason } from '../../src/config/secrets';

describe('hardening: weak secrets are refused', () => {
  const weak = [
    ' '.repeat(16),
    ' '.repeat(40),
    'a'.repeat(64),
    'passwordpassword',
    'abababababababababababab',
    '1234567812345678',
    ` ${randomBytes(16).toString('hex')}`,
    'short',
  ];
  const strong = [
    randomBytes(24).toString('hex'),
    randomBytes(16).toString('hex'),
    randomBytes(32).toString('base64'),
    // Slack's documented example signing secret has the shape of a real one.
    '8f742231b10e8888abcd99yyyzzz85a5',
  ];

  for (const variable of ['TENURE_WEBHOOK_SECRET', 'TENURE_SLACK_SIGNING_SECRET']) {
    it(`${variable}: refuses ${weak.length} weak values, naming the variable and never the value`, () => {
      for (const value of weak) {
        assert.throws(
          () => loadEnv({ [variable]: value }),
          (err: Error) =>
            err.message.includes(variable) && (value.trim().length < 4 || !err.message.includes(value.trim())),
          JSON.stringify(value),
        );
      }
    });
    it(`${variable}: accepts random secrets`, () => {
      for (const value of strong)
        assert.equal(loadEnv({ [variable]: value })[variable as 'TENURE_WEBHOOK_SECRET'], value);
    });
  }

  it('estimates bits from the text', () => {
    assert.equal(estimatedSecretBits(' '.repeat(16)), 0);
    assert.ok(estimatedSecretBits(randomBytes(32).toString('hex')) > 200);
    assert.match(weakSecretReason('passwordpassword') ?? '', /too predictable/);
  });
});

describe('hardening: the Web UI codec settings hold no secret', () => {
  it('endpoint, dev-server arguments, UI server environment and browser settings carry no token', () => {
    const token = generateCodecToken();
    const s = uiCodecSettings('http://127.0.0.1:8080/codec/');
    assert.equal(s.endpoint, 'http://127.0.0.1:8080/codec');
    assert.deepEqual(s.devServerArgs, ['--ui-codec-endpoint', 'http://127.0.0.1:8080/codec']);
    assert.equal(s.uiServerEnv.TEMPORAL_CODEC_INCLUDE_CREDENTIALS, 'true');
    assert.equal(s.includeCredentials, true);
    assert.equal(s.loginUrl, 'http://127.0.0.1:8080/codec/login');
    assert.ok(!JSON.stringify(s).includes(token));
    assert.doesNotMatch(JSON.stringify(s), /\/ui\//);
  });
});
