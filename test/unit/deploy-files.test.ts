/**
 * The deployment files boot (issue 12, DESIGN §8). No Docker engine or cluster runs here, so the files are read and
 * checked against what the code requires: the environment schema (`envSchema`), the composition root's
 * `requiredVariables`, the secrets the mounted policy names, the build output paths, and the start order.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import type { TenureRole } from '../../src/app/settings';
import { requiredVariables } from '../../src/app/settings';
import { uiCodecSettings } from '../../src/client/codec-server';
import { envSchema } from '../../src/config/env';
import { DYNAMIC_CONFIG } from '../../src/dev/temporal-server';
import { loadPolicyFile, parsePolicy } from '../../src/config/policy-file';
import type { Policy } from '../../src/domain/policy';

const ROOT = resolve(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
/** The file without its `#` comment lines. */
const uncommented = (path: string): string =>
  read(path)
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');

// ---------------------------------------------------------------------------------------------------------------
// What each role needs

/** Variables of the environment schema with neither a default nor `.optional()`. */
function schemaRequired(): string[] {
  return Object.entries(envSchema.shape)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([name]) => name);
}

/** Every `…Env` field of the policy (tokenEnv, apiKeyEnv, sessions.tokenEnv …): variable names of secrets. */
function policyEnvNames(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) policyEnvNames(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (/Env$/.test(k) && typeof v === 'string') out.add(v);
      else policyEnvNames(v, out);
    }
  }
  return out;
}

/** What issue 12 names for each role, beyond the schema: payload keys and the audit store; the intake's secrets. */
const NAMED: Record<TenureRole, string[]> = {
  worker: ['TENURE_CODEC_KEYS', 'DATABASE_URL'],
  intake: ['TENURE_CODEC_KEYS', 'DATABASE_URL', 'TENURE_WEBHOOK_SECRET', 'TENURE_CODEC_TOKEN'],
};

function required(role: TenureRole, policy: Policy): string[] {
  const names = new Set([...schemaRequired(), ...NAMED[role], ...requiredVariables(role, policy)]);
  // The worker calls every system, Slack and the HRIS: it needs every secret the policy names.
  if (role === 'worker') for (const n of policyEnvNames(policy)) names.add(n);
  return [...names].sort();
}

// ---------------------------------------------------------------------------------------------------------------
// Compose

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  deploy?: { replicas?: number };
}
type Compose = { services: Record<string, ComposeService> };

function loadCompose(): Compose {
  return parse(read('docker-compose.yml'), { merge: true }) as Compose;
}

function envOf(s: ComposeService): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(s.environment)) {
    for (const entry of s.environment) {
      const eq = entry.indexOf('=');
      if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {})) if (v !== null && v !== undefined) out[k] = String(v);
  }
  return out;
}

const text = (v: string | string[] | undefined): string => (Array.isArray(v) ? v.join(' ') : (v ?? ''));

/**
 * A value compose can leave empty: a bare `${X}` / `$X`, or `${X:-}` with an empty default. `${X:?msg}` stops
 * compose when X is unset or empty; `${X:-default}` has a value.
 */
function canBeEmpty(value: string): boolean {
  const literal = value.replace(/\$\$/g, '').replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, '');
  const refs = [...value.replace(/\$\$/g, '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|\$([A-Za-z_]\w*)/g)];
  const safe = (m: RegExpMatchArray): boolean => {
    const tail = m[2] ?? '';
    return tail.startsWith(':?') || tail.startsWith('?') || (/^:?-/.test(tail) && tail.replace(/^:?-/, '') !== '');
  };
  if (refs.length === 0) return value.trim() === '';
  return literal.trim() === '' && !refs.some(safe);
}

/** Names the service does not pass (or passes in a form that may be empty). */
function missingFrom(env: Record<string, string>, names: readonly string[]): string[] {
  return names.filter((n) => env[n] === undefined || canBeEmpty(env[n] ?? ''));
}

function dependsOn(s: ComposeService): Record<string, string | undefined> {
  const d = s.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, undefined]));
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v.condition]));
}

/** True when `from` waits, directly or through others, for `to`. */
function waitsFor(c: Compose, from: string, to: string, seen = new Set<string>()): boolean {
  if (seen.has(from)) return false;
  seen.add(from);
  return Object.keys(dependsOn(c.services[from] ?? {})).some((d) => d === to || waitsFor(c, d, to, seen));
}

/** The one service matching; named by what it runs, so renaming a service does not hide it. */
function serviceWhere(c: Compose, what: string, test: (s: ComposeService) => boolean): string {
  const names = Object.entries(c.services)
    .filter(([, s]) => test(s))
    .map(([n]) => n);
  assert.equal(names.length, 1, `exactly one compose service is the ${what}; found ${names.join(', ') || 'none'}`);
  return names[0] ?? '';
}

function roles(c: Compose): Record<'postgres' | 'schema' | 'temporal' | 'setup' | 'ui' | TenureRole, string> {
  return {
    postgres: serviceWhere(c, 'Postgres', (s) => /^postgres:/.test(s.image ?? '')),
    schema: serviceWhere(c, 'schema job', (s) => text(s.command).includes('temporal-sql-tool')),
    temporal: serviceWhere(c, 'Temporal server', (s) => /^temporalio\/(server|auto-setup):/.test(s.image ?? '')),
    setup: serviceWhere(c, 'setup job', (s) => /dist\/client\/cli\.js setup\b/.test(text(s.command))),
    ui: serviceWhere(c, 'Web UI', (s) => /^temporalio\/ui:/.test(s.image ?? '')),
    worker: serviceWhere(c, 'worker', (s) => text(s.command).includes('dist/workers/main.js')),
    intake: serviceWhere(c, 'intake', (s) => text(s.command).includes('dist/client/intake-main.js')),
  };
}

/** One-shot jobs: something waits for them to complete, and they do not restart forever. */
function oneShots(c: Compose): Set<string> {
  const out = new Set<string>();
  for (const s of Object.values(c.services)) {
    for (const [dep, cond] of Object.entries(dependsOn(s))) if (cond === 'service_completed_successfully') out.add(dep);
  }
  return out;
}

/** The host file a container path comes from, through a bind mount of the file or of a folder above it. */
function hostPathOf(s: ComposeService, containerPath: string): string | undefined {
  for (const v of s.volumes ?? []) {
    const [src, target] = v.split(':');
    if (!src || !target || !/^\.{0,2}\//.test(src)) continue;
    if (containerPath === target) return join(ROOT, src);
    if (containerPath.startsWith(`${target.replace(/\/$/, '')}/`)) {
      return join(ROOT, src, posix.relative(target, containerPath));
    }
  }
  return undefined;
}

function composePolicy(c: Compose, service: string): Policy {
  const s = c.services[service] ?? {};
  const policyPath = envOf(s).TENURE_POLICY;
  assert.ok(policyPath, `${service}: sets TENURE_POLICY`);
  const host = hostPathOf(s, policyPath);
  assert.ok(host && existsSync(host), `${service}: ${policyPath} is mounted from a file in the repository`);
  return loadPolicyFile(host).policy;
}

// ---------------------------------------------------------------------------------------------------------------
// Build output

/** `dist/x/y.js` → `src/x/y.ts`, from tsconfig.build.json's rootDir / outDir. */
function sourceOf(distFile: string): string {
  const cfg = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
  const rel = posix.relative(cfg.compilerOptions.outDir, distFile);
  assert.ok(!rel.startsWith('..'), `${distFile} is under the build's outDir ${cfg.compilerOptions.outDir}`);
  return posix.join(cfg.compilerOptions.rootDir, rel.replace(/\.js$/, '.ts'));
}

function assertBuilt(distFile: string, where: string): void {
  const src = sourceOf(distFile);
  assert.ok(existsSync(join(ROOT, src)), `${where}: ${distFile} is built from ${src}, which does not exist`);
}

/** `node dist/….js` files in a command. */
const nodeEntries = (cmd: string): string[] => [...cmd.matchAll(/\bnode\s+(dist\/\S+\.js)/g)].map((m) => m[1] ?? '');

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile

interface Stage {
  from: string;
  name?: string;
  lines: { instr: string; args: string }[];
}

function dockerStages(): Stage[] {
  const logical = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const instr = m[1].toUpperCase();
    if (instr === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(m[2]);
      stages.push({ from: f?.[1] ?? '', ...(f?.[2] ? { name: f[2] } : {}), lines: [] });
    } else stages.at(-1)?.lines.push({ instr, args: m[2] });
  }
  return stages;
}

const runs = (s: Stage): string[] => s.lines.filter((l) => l.instr === 'RUN').map((l) => l.args);
const execForm = (args: string): string[] => JSON.parse(args) as string[];

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes

type K8sEnv = {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: unknown;
  };
};
interface K8sContainer {
  name: string;
  command?: string[];
  env?: K8sEnv[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface PodSpec {
  containers: K8sContainer[];
  volumes?: { name: string; configMap?: { name: string } }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    template?: { spec: PodSpec };
    selector?: unknown;
    ports?: { targetPort: string | number }[];
  };
}

const K8S_DIR = 'deploy/k8s';
const SECRET_TEMPLATE = 'secret.template.yaml';

function k8sDocs(file: string): K8sDoc[] {
  return parseAllDocuments(read(join(K8S_DIR, file)))
    .map((d) => d.toJS() as K8sDoc | null)
    .filter((d): d is K8sDoc => d !== null);
}

function k8sManifests(): K8sDoc[] {
  const kustomization = parse(read(join(K8S_DIR, 'kustomization.yaml'))) as { resources: string[] };
  return kustomization.resources.flatMap(k8sDocs);
}

function secretTemplate(): K8sDoc {
  const [secret] = k8sDocs(SECRET_TEMPLATE);
  assert.equal(secret?.kind, 'Secret');
  return secret;
}

/** Every variable the container gets, with its value where it is a literal or from a ConfigMap. */
function containerEnv(
  c: K8sContainer,
  docs: K8sDoc[],
): { passed: Map<string, string | undefined>; problems: string[] } {
  const passed = new Map<string, string | undefined>();
  const problems: string[] = [];
  const secret = secretTemplate();
  const secretKeys = new Set(Object.keys({ ...secret.data, ...secret.stringData }));
  const configMap = (name: string): K8sDoc | undefined =>
    docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === name);
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = configMap(from.configMapRef.name);
      if (!cm) problems.push(`envFrom ConfigMap ${from.configMapRef.name} is not in the manifests`);
      for (const [k, v] of Object.entries(cm?.data ?? {})) passed.set(k, v);
    }
    if (from.secretRef) {
      if (from.secretRef.name !== secret.metadata.name) problems.push(`envFrom Secret ${from.secretRef.name} unknown`);
      for (const k of secretKeys) passed.set(k, undefined);
    }
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      if (ref.optional) continue;
      if (ref.name !== secret.metadata.name || !secretKeys.has(ref.key)) {
        problems.push(`${e.name}: Secret ${ref.name} key ${ref.key} is not in ${SECRET_TEMPLATE}`);
      }
      passed.set(e.name, undefined);
    } else if (e.valueFrom?.configMapKeyRef) {
      passed.set(e.name, configMap(e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key]);
    } else if (e.valueFrom?.fieldRef || (e.value !== undefined && e.value !== '')) {
      passed.set(e.name, e.value);
    }
  }
  return { passed, problems };
}

function k8sPolicy(pod: PodSpec, c: K8sContainer, policyPath: string, docs: K8sDoc[]): Policy {
  const mount = (c.volumeMounts ?? []).find((m) =>
    m.subPath ? m.mountPath === policyPath : policyPath.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
  );
  assert.ok(mount, `${c.name}: ${policyPath} is mounted`);
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === volume?.configMap?.name);
  const key = mount.subPath ?? posix.relative(mount.mountPath, policyPath);
  const yamlText = cm?.data?.[key];
  assert.ok(yamlText, `${c.name}: ${policyPath} comes from a ConfigMap key "${key}" in the manifests`);
  return parsePolicy(parse(yamlText), `${K8S_DIR} ConfigMap ${cm?.metadata.name}`).policy;
}

function deploymentRunning(docs: K8sDoc[], distFile: string): { doc: K8sDoc; pod: PodSpec; c: K8sContainer } {
  const found = docs.flatMap((doc) =>
    doc.kind === 'Deployment' && doc.spec?.template
      ? doc.spec.template.spec.containers
          .filter((c) => text(c.command).includes(distFile))
          .map((c) => ({ doc, pod: doc.spec?.template?.spec as PodSpec, c }))
      : [],
  );
  assert.equal(found.length, 1, `exactly one Deployment runs ${distFile}`);
  return found[0] as { doc: K8sDoc; pod: PodSpec; c: K8sContainer };
}

// ---------------------------------------------------------------------------------------------------------------
// Production imports

/** Runtime imports of a TypeScript file (type-only imports are erased and skipped). */
function runtimeImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings : undefined;
      const typeOnly =
        clause?.isTypeOnly === true ||
        (clause !== undefined && !clause.name && named !== undefined && named.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression.getText(sf);
      if (
        callee === 'require' ||
        callee === 'require.resolve' ||
        node.expression.kind === ts.SyntaxKind.ImportKeyword
      ) {
        out.push(node.arguments[0].text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function resolveLocal(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const packageName = (spec: string): string =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);

/** Walks the runtime imports from the entry files; returns what the production image could not load. */
function productionImportProblems(entries: string[]): string[] {
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
  const builtins = new Set(builtinModules);
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue = entries.map((e) => join(ROOT, e));
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const here = relative(ROOT, file);
    if (here.startsWith('src/dev/')) problems.push(`${here} is under src/dev (the image has no dist/dev)`);
    if (!file.endsWith('.ts')) continue;
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) {
        const target = resolveLocal(file, spec);
        if (!target) problems.push(`${here}: cannot resolve ${spec}`);
        else if (!relative(ROOT, target).startsWith('src/') && !target.endsWith('package.json')) {
          problems.push(`${here}: imports ${relative(ROOT, target)}, outside src/ (not in the image)`);
        } else queue.push(target);
      } else if (!spec.startsWith('node:') && !builtins.has(spec) && !(packageName(spec) in pkg.dependencies)) {
        problems.push(`${here}: imports ${spec}, which is not a production dependency (npm ci --omit=dev)`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------

describe('deployment files', () => {
  describe('deploy/dynamicconfig/tenure.yaml', () => {
    it('gives a production cluster the dynamic config the dev server gets (one setting each, no constraints)', () => {
      const file = parse(readFileSync(join(ROOT, 'deploy', 'dynamicconfig', 'tenure.yaml'), 'utf8')) as Record<
        string,
        { value: unknown; constraints?: unknown }[]
      >;
      const production = Object.entries(file).map(([key, values]) => {
        assert.equal(values.length, 1, `${key}: one value`);
        assert.equal(values[0]?.constraints, undefined, `${key}: for every namespace and task queue`);
        return `${key}=${String(values[0]?.value)}`;
      });
      assert.deepEqual([...production].sort(), [...DYNAMIC_CONFIG].sort());
      // What the intake's answers under a burst rely on (docs/scaling.md, "Task priority").
      for (const needed of [
        'matching.useNewMatcher=true',
        'matching.numTaskqueueReadPartitions=1',
        'matching.numTaskqueueWritePartitions=1',
      ]) {
        assert.ok(production.includes(needed), needed);
      }
    });
  });

  describe('docker-compose.yml', () => {
    const compose = loadCompose();
    const r = roles(compose);

    for (const role of ['worker', 'intake'] as const) {
      it(`passes the ${role} every variable it requires, none of them possibly empty`, () => {
        const service = r[role];
        const policy = composePolicy(compose, service);
        const env = envOf(compose.services[service] ?? {});
        assert.deepEqual(missingFrom(env, required(role, policy)), [], `${service} lacks required variables`);
      });
    }

    it('the check fails when any required variable is removed', () => {
      const service = r.worker;
      const names = required('worker', composePolicy(compose, service));
      assert.ok(names.includes('TENURE_CODEC_KEYS') && names.includes('TENURE_AD_BIND_PASSWORD'), names.join(', '));
      const env = envOf(compose.services[service] ?? {});
      for (const name of names) {
        const without = { ...env };
        delete without[name];
        assert.deepEqual(missingFrom(without, names), [name]);
        assert.deepEqual(missingFrom({ ...env, [name]: `\${${name}}` }, names), [name], 'a bare ${X} may be empty');
      }
      assert.deepEqual(missingFrom({ X: '${X:?set X}', Y: '${Y:-y}', Z: 'a${Z}' }, ['X', 'Y', 'Z']), []);
    });

    it('every long-running service has a health check; one-shot jobs are waited for until they complete', () => {
      const shots = oneShots(compose);
      for (const [name, s] of Object.entries(compose.services)) {
        if (shots.has(name)) {
          assert.match(
            s.restart ?? 'no',
            /^(no|on-failure(:\d+)?)$/,
            `${name}: a one-shot job does not restart forever`,
          );
          continue;
        }
        assert.ok(!s.healthcheck?.disable && text(s.healthcheck?.test).trim(), `${name}: has a healthcheck`);
      }
      for (const [name, s] of Object.entries(compose.services)) {
        for (const [dep, cond] of Object.entries(dependsOn(s))) {
          assert.ok(compose.services[dep], `${name} depends on unknown service ${dep}`);
          const wanted = shots.has(dep) ? 'service_completed_successfully' : 'service_healthy';
          assert.equal(cond, wanted, `${name} → ${dep}: waits with ${wanted}`);
        }
      }
    });

    it('starts in order: postgres → schema → temporal → setup → worker and intake', () => {
      const deps = (n: string): Record<string, string | undefined> => dependsOn(compose.services[n] ?? {});
      assert.equal(deps(r.schema)[r.postgres], 'service_healthy');
      assert.equal(deps(r.temporal)[r.schema], 'service_completed_successfully');
      assert.ok(waitsFor(compose, r.setup, r.temporal), 'setup waits for Temporal');
      for (const role of ['worker', 'intake'] as const) {
        assert.equal(deps(r[role])[r.setup], 'service_completed_successfully', `${role} waits for setup`);
        assert.ok(waitsFor(compose, r[role], r.postgres), `${role} waits for Postgres (DATABASE_URL)`);
      }
      assert.ok(waitsFor(compose, r.ui, r.temporal), 'the UI waits for Temporal');
    });

    it('runs the Temporal server image (not the deprecated auto-setup) with schema tools of the same version', () => {
      const server = compose.services[r.temporal]?.image ?? '';
      assert.match(server, /^temporalio\/server:1\.29\.1$/);
      assert.match(compose.services[r.schema]?.image ?? '', /^temporalio\/admin-tools:1\.29\.1\b/);
      const dyn = envOf(compose.services[r.temporal] ?? {}).DYNAMIC_CONFIG_FILE_PATH ?? '';
      const host = hostPathOf(compose.services[r.temporal] ?? {}, dyn);
      assert.ok(host && existsSync(host), `dynamic config ${dyn} is mounted from the repository`);
      for (const dir of ['temporal', 'visibility']) {
        assert.match(text(compose.services[r.schema]?.command), new RegExp(`postgresql/v12/${dir}/versioned`));
      }
    });

    it("points the Web UI at the intake's codec endpoint, with no secret in it, from an origin the intake allows", () => {
      const ui = compose.services[r.ui] ?? {};
      const intake = compose.services[r.intake] ?? {};
      const intakeEnv = envOf(intake);
      const published = (s: ComposeService, port: string): string | undefined =>
        (s.ports ?? [])
          .map((p) => p.split(':'))
          .find((parts) => parts.at(-1) === port)
          ?.at(-2);
      const intakePort = published(intake, intakeEnv.TENURE_INTAKE_PORT ?? '8080');
      const uiPort = published(ui, '8080');
      assert.ok(intakePort && uiPort, 'the intake and UI ports are published');
      // The browser calls the endpoint, so it is the intake's published port; the session cookie needs the same site.
      const wanted = uiCodecSettings(`http://localhost:${intakePort}/codec`).uiServerEnv;
      const uiEnv = envOf(ui);
      for (const [k, v] of Object.entries(wanted)) assert.equal(uiEnv[k], v, `temporal-ui ${k}`);
      assert.ok(!Object.values(uiEnv).some((v) => v.includes('TENURE_CODEC_TOKEN')), 'no codec token in the UI');
      const origins = (intakeEnv.TENURE_UI_ORIGINS ?? '').split(',').map((o) => o.trim());
      assert.ok(origins.includes(`http://localhost:${uiPort}`), `TENURE_UI_ORIGINS allows the UI on port ${uiPort}`);
      assert.equal(intakeEnv.TENURE_INTAKE_HOST, '0.0.0.0', 'the intake listens beyond the container');
    });

    it('health checks probe the ports the processes listen on', () => {
      const worker = compose.services[r.worker] ?? {};
      const intake = compose.services[r.intake] ?? {};
      assert.match(text(worker.healthcheck?.test), new RegExp(`:${envOf(worker).TENURE_METRICS_PORT}/healthz`));
      assert.match(text(intake.healthcheck?.test), new RegExp(`:${envOf(intake).TENURE_INTAKE_PORT}/healthz`));
      assert.ok((worker.deploy?.replicas ?? 1) >= 2, 'two workers share the task queue');
    });

    it('builds the Tenure services from the Dockerfile and runs files the build produces', () => {
      for (const name of [r.setup, r.worker, r.intake]) {
        const s = compose.services[name] ?? {};
        const ctx = typeof s.build === 'string' ? s.build : s.build?.context;
        assert.equal(ctx, '.', `${name}: built from the repository`);
        const entries = nodeEntries(text(s.command));
        assert.ok(entries.length > 0, `${name}: runs node dist/…`);
        for (const e of entries) assertBuilt(e, name);
      }
    });

    it('deploy/compose.env.example lists exactly the variables the compose file requires', () => {
      const requiredRefs = new Set(
        [...uncommented('docker-compose.yml').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1] ?? ''),
      );
      const example = new Set(
        [...uncommented('deploy/compose.env.example').matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1] ?? ''),
      );
      assert.deepEqual([...example].sort(), [...requiredRefs].sort());
    });
  });

  describe('Dockerfile', () => {
    const stages = dockerStages();
    const runtime = stages.at(-1) as Stage;

    it('builds with npm ci and every dependency, then compiles', () => {
      const build = stages.find((s) => runs(s).some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r)));
      assert.ok(build, 'a build stage runs `npm ci` with dev dependencies');
      assert.ok(
        runs(build).some((r) => /\bnpm run build\b/.test(r)),
        'the build stage runs `npm run build`',
      );
      assert.notEqual(build, runtime, 'the runtime stage is not the build stage');
    });

    it('runs as a non-root user on production dependencies and the compiled output only', () => {
      const user = runtime.lines
        .filter((l) => l.instr === 'USER')
        .at(-1)
        ?.args.split(':')[0];
      assert.ok(user && user !== 'root' && user !== '0', `runtime USER is non-root (got ${user})`);
      assert.ok(!runs(runtime).some((r) => /\bnpm (install|i)\b/.test(r)), 'no npm install in the runtime stage');
      const copies = runtime.lines.filter((l) => l.instr === 'COPY').map((l) => l.args);
      const from = (path: string): Stage | undefined => {
        const m = copies.map((c) => /--from=(\S+)\s+(\S+)/.exec(c)).find((x) => x?.[2]?.endsWith(path));
        return stages.find((s) => s.name === m?.[1]);
      };
      const deps = from('node_modules');
      assert.ok(
        deps && runs(deps).some((r) => /\bnpm ci\b.*--omit=dev/.test(r)),
        'node_modules from npm ci --omit=dev',
      );
      const build = from('dist');
      assert.ok(build && runs(build).some((r) => /\bnpm run build\b/.test(r)), 'dist from the build stage');
    });

    it('starts a file the build produces', () => {
      const cmd = runtime.lines.filter((l) => l.instr === 'CMD').at(-1);
      assert.ok(cmd, 'the runtime stage has a CMD');
      const argv = execForm(cmd.args);
      assert.equal(argv[0], 'node');
      assertBuilt(argv[1] ?? '', 'Dockerfile CMD');
      const entry = runtime.lines.filter((l) => l.instr === 'ENTRYPOINT').at(-1);
      if (entry) assert.ok(Array.isArray(execForm(entry.args)), 'ENTRYPOINT in exec form');
      // The worker bundles workflow code from dist/workflows at start (src/workers/worker.ts).
      assertBuilt('dist/workflows/index.js', 'workflow bundle');
    });

    it('copies only files that exist and that .dockerignore lets through; secrets and local state stay out', () => {
      const ignored = read('.dockerignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      for (const must of ['.git', 'node_modules', 'dist', '.data', '.env']) assert.ok(ignored.includes(must), must);
      const sources = stages
        .flatMap((s) => s.lines)
        .filter((l) => l.instr === 'COPY' && !/--from=/.test(l.args))
        .flatMap((l) => l.args.split(/\s+/).slice(0, -1));
      assert.ok(sources.length > 0);
      for (const src of sources) {
        assert.ok(existsSync(join(ROOT, src)), `COPY source ${src} exists`);
        const top = src.split('/')[0] ?? src;
        assert.ok(!ignored.includes(top) && !ignored.includes(src), `COPY source ${src} is not in .dockerignore`);
      }
    });

    it('the production entry points import nothing from src/dev and no dev dependency', () => {
      const entries = [
        'src/workers/main.ts',
        'src/client/intake-main.ts',
        'src/client/cli.ts',
        'src/workflows/index.ts',
      ];
      assert.deepEqual(productionImportProblems(entries), []);
    });
  });

  describe('deploy/k8s', () => {
    const docs = k8sManifests();

    it('kustomization lists manifests that exist, and not the Secret template', () => {
      const kustomization = parse(read(join(K8S_DIR, 'kustomization.yaml'))) as { resources: string[] };
      for (const f of kustomization.resources) assert.ok(existsSync(join(ROOT, K8S_DIR, f)), f);
      assert.ok(!kustomization.resources.includes(SECRET_TEMPLATE));
      const files = readdirSync(join(ROOT, K8S_DIR)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
      assert.deepEqual(
        files.filter((f) => f !== SECRET_TEMPLATE && !kustomization.resources.includes(f)),
        [],
      );
    });

    for (const [role, file] of [
      ['worker', 'dist/workers/main.js'],
      ['intake', 'dist/client/intake-main.js'],
    ] as const) {
      it(`the ${role} Deployment gets every variable it requires, from the Secret template or ConfigMaps`, () => {
        const { pod, c } = deploymentRunning(docs, file);
        const { passed, problems } = containerEnv(c, docs);
        assert.deepEqual(problems, []);
        const policyPath = passed.get('TENURE_POLICY');
        assert.ok(policyPath, 'TENURE_POLICY is set');
        const policy = k8sPolicy(pod, c, policyPath, docs);
        assert.deepEqual(
          required(role, policy).filter((n) => !passed.has(n)),
          [],
        );
        assertBuilt(file, `${role} Deployment`);
      });

      it(`the ${role} Deployment has probes on a port it declares and runs as non-root`, () => {
        const { doc, pod, c } = deploymentRunning(docs, file);
        const { passed } = containerEnv(c, docs);
        const portVar = role === 'worker' ? 'TENURE_METRICS_PORT' : 'TENURE_INTAKE_PORT';
        for (const probe of [c.livenessProbe, c.readinessProbe]) {
          assert.equal(probe?.httpGet?.path, '/healthz');
          const port = (c.ports ?? []).find(
            (p) => p.name === probe?.httpGet?.port || p.containerPort === probe?.httpGet?.port,
          );
          assert.equal(String(port?.containerPort), passed.get(portVar), `${role}: probe port is ${portVar}`);
        }
        assert.equal(pod.securityContext?.runAsNonRoot, true);
        assert.ok((pod.securityContext?.runAsUser ?? 0) > 0);
        if (role === 'worker') assert.equal(doc.spec?.replicas, 2);
      });
    }

    it('a Service routes to the intake; a Job registers the search attributes', () => {
      const { c } = deploymentRunning(docs, 'dist/client/intake-main.js');
      const service = docs.find((d) => d.kind === 'Service');
      const target = service?.spec?.ports?.[0]?.targetPort;
      assert.ok(
        (c.ports ?? []).some((p) => p.name === target || p.containerPort === target),
        'targetPort',
      );
      const job = docs.find((d) => d.kind === 'Job');
      const setup = job?.spec?.template?.spec.containers[0];
      assert.deepEqual(setup?.command, ['node', 'dist/client/cli.js', 'setup']);
      assertBuilt('dist/client/cli.js', 'setup Job');
      assert.deepEqual(containerEnv(setup, docs).problems, []);
    });
  });
});
