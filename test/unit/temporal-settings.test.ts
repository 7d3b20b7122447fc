import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, policySecretVariables, requiredVariables, temporalSettings } from '../../src/app/settings';
import { loadPolicyFile } from '../../src/config/policy-file';

/**
 * Temporal connection settings are read the way Temporal's own tools read them (`@temporalio/envconfig`):
 * `TEMPORAL_*` variables over a TOML profile, in one place, for every process.
 */
describe('Temporal connection settings (src/app/settings.ts)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tenure-settings-'));
    writeFileSync(join(dir, 'client.pem'), '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'client.key'), '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to a local server, the default namespace, no TLS', () => {
    const t = temporalSettings({ HOME: dir });
    assert.equal(t.connectionOptions.address, 'localhost:7233');
    assert.equal(t.namespace, 'default');
    assert.equal(t.summary.tls, false);
    assert.equal(t.summary.apiKey, false);
  });

  it('an API key (Temporal Cloud) turns TLS on, and the summary never holds the key', () => {
    const t = temporalSettings({
      HOME: dir,
      TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'tenure.acme',
      TEMPORAL_API_KEY: 'secret-api-key-value',
    });
    assert.equal(t.connectionOptions.address, 'eu-west-1.aws.api.temporal.io:7233');
    assert.equal(t.namespace, 'tenure.acme');
    assert.equal(t.connectionOptions.apiKey, 'secret-api-key-value');
    assert.ok(t.connectionOptions.tls);
    assert.doesNotMatch(JSON.stringify(t.summary), /secret-api-key-value/);
  });

  it('mTLS from certificate and key files, with a server CA and server name', () => {
    const t = temporalSettings({
      HOME: dir,
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const tls = t.connectionOptions.tls;
    assert.ok(tls && typeof tls === 'object');
    assert.match(Buffer.from(tls.clientCertPair?.crt ?? []).toString(), /client/);
    assert.match(Buffer.from(tls.clientCertPair?.key ?? []).toString(), /key/);
    assert.match(Buffer.from(tls.serverRootCACertificate ?? []).toString(), /ca/);
    assert.equal(tls.serverNameOverride, 'temporal.internal');
    assert.equal(t.summary.tls, true);
  });

  it('a TOML profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), with variables winning over the file', () => {
    const file = join(dir, 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.prod]',
        'address = "prod.temporal.example:7233"',
        'namespace = "tenure-prod"',
        'api_key = "from-file"',
        '',
      ].join('\n'),
    );
    const fromFile = temporalSettings({ HOME: dir, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    assert.equal(fromFile.connectionOptions.address, 'prod.temporal.example:7233');
    assert.equal(fromFile.namespace, 'tenure-prod');
    assert.equal(fromFile.connectionOptions.apiKey, 'from-file');
    assert.equal(fromFile.summary.profile, 'prod');
    const overridden = temporalSettings({
      HOME: dir,
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'tenure-staging',
    });
    assert.equal(overridden.namespace, 'tenure-staging');
  });

  it('loadSettings names every bad variable at once and never echoes a secret', () => {
    assert.throws(
      () =>
        loadSettings({
          vars: { TENURE_INTAKE_PORT: 'eighty', TENURE_CODEC_TOKEN: 'short', TENURE_POLICY: 'config/tenure.dev.yaml' },
        }),
      (err: Error) =>
        /TENURE_INTAKE_PORT/.test(err.message) && /TENURE_CODEC_TOKEN/.test(err.message) && !/short/.test(err.message),
    );
  });

  it('lists what each process needs, including every secret the policy names', () => {
    const policy = loadPolicyFile('config/tenure.example.yaml').policy;
    const secrets = policySecretVariables(policy);
    for (const name of [
      'TENURE_AD_BIND_PASSWORD',
      'TENURE_GRAPH_CLIENT_SECRET',
      'TENURE_GITHUB_SCIM_TOKEN',
      'TENURE_SLACK_BOT_TOKEN',
    ]) {
      assert.ok(secrets.includes(name), name);
    }
    assert.ok(requiredVariables('worker', policy).includes('TENURE_AD_BIND_PASSWORD'));
    assert.ok(requiredVariables('intake', policy).includes('TENURE_WEBHOOK_SECRET'));
  });
});
