import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile, PolicyError } from '../../src/config/policy-file';

function file(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'tenure-policy-')), 'policy.yaml');
  writeFileSync(p, text);
  return p;
}

describe('policy file: validated at start-up with precise errors', () => {
  it('loads the dev policy shipped in config/', () => {
    const loaded = loadPolicyFile('config/tenure.dev.yaml');
    assert.equal(loaded.policy.systems[0]?.kind, 'identity-provider');
    assert.match(loaded.version, /^[0-9a-f]{12}$/);
  });

  it('names the file, the path and the field of each error', () => {
    const p = file(`
systems:
  - id: idp
    name: IdP
    kind: identity-provider
    connector: { type: scim, baseUrl: not-a-url }
  - id: app
    name: App
    kind: app
    connector: { type: scim, baseUrl: "http://x/scim/v2", tokenEnv: "lower-case" }
    dependsOn: [nope]
birthright:
  - name: all
    systems: [idp, ghost]
`);
    assert.throws(
      () => loadPolicyFile(p),
      (err: Error) => {
        assert.ok(err instanceof PolicyError);
        assert.ok(err.message.includes(p), err.message);
        assert.match(err.message, /systems\.0\.connector\.baseUrl/);
        assert.match(err.message, /systems\.1\.connector\.tokenEnv: must be the NAME of an environment variable/);
        assert.match(err.message, /systems\.1\.dependsOn\.0: unknown system "nope"/);
        assert.match(err.message, /birthright\.0\.systems\.1: unknown system "ghost"/);
        return true;
      },
    );
  });

  it('intake.unknownFields: ignore unless set to refuse; any other value or key is refused', () => {
    const base = `
systems:
  - { id: idp, name: IdP, kind: identity-provider, connector: { type: scim, baseUrl: "http://i/scim" } }
birthright:
  - { name: all, systems: [idp] }
`;
    assert.equal(loadPolicyFile(file(base)).policy.intake, undefined, 'absent: the intake ignores unknown fields');
    assert.equal(loadPolicyFile(file(`${base}intake: {}\n`)).policy.intake?.unknownFields, 'ignore');
    assert.equal(
      loadPolicyFile(file(`${base}intake: { unknownFields: refuse }\n`)).policy.intake?.unknownFields,
      'refuse',
    );
    assert.throws(() => loadPolicyFile(file(`${base}intake: { unknownFields: drop }\n`)), /intake\.unknownFields/);
    assert.throws(() => loadPolicyFile(file(`${base}intake: { strict: true }\n`)), /Unrecognized key: "strict"/);
    assert.equal(loadPolicyFile('config/tenure.example.yaml').policy.intake?.unknownFields, 'ignore');
  });

  it('refuses no identity provider, a dependency cycle, and unknown keys', () => {
    const p = file(`
systems:
  - { id: a, name: A, kind: app, connector: { type: scim, baseUrl: "http://a/scim" }, dependsOn: [b] }
  - { id: b, name: B, kind: app, connector: { type: scim, baseUrl: "http://b/scim" }, dependsOn: [a], colour: red }
birthright:
  - { name: all, systems: [a] }
`);
    assert.throws(() => loadPolicyFile(p), /systems\.1: Unrecognized key: "colour"/);
    assert.throws(() => loadPolicyFile(p), /systems: exactly one system must be the identity-provider \(found 0\)/);
    assert.throws(() => loadPolicyFile(p), /dependsOn has a cycle: a -> b -> a/);
  });

  it('refuses an unknown sessions API with its path', () => {
    const p = file(`
systems:
  - id: idp
    name: IdP
    kind: identity-provider
    connector: { type: scim, baseUrl: "http://x/scim/v2", sessions: { api: ping, baseUrl: "https://ping.example" } }
birthright:
  - { name: all, systems: [idp] }
`);
    assert.throws(() => loadPolicyFile(p), /systems\.0\.connector\.sessions\.api: .*"okta".*"entra"/);
  });

  it('says when the file is missing or not YAML', () => {
    assert.throws(
      () => loadPolicyFile('/nonexistent/policy.yaml'),
      /cannot read policy file \/nonexistent\/policy.yaml/,
    );
    assert.throws(() => loadPolicyFile(file('systems: [\n')), /is not valid YAML/);
  });
});
