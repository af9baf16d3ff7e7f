import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Env } from '@shop/platform';
import { buildServer as buildSandbox } from '@shop/payment-sandbox';
import { readConfig as readSandboxConfig } from '@shop/payment-sandbox/config';
import { buildServer as buildInventory } from '@shop/inventory';
import { readConfig as readInventoryConfig } from '@shop/inventory/config';
import { buildServer as buildOrders } from '@shop/orders';
import { readConfig as readOrdersConfig } from '@shop/orders/config';
import { buildServer as buildPricing } from '@shop/pricing';
import { readConfig as readPricingConfig } from '@shop/pricing/config';
import { buildServer as buildProducts } from '@shop/products';
import { readConfig as readProductsConfig } from '@shop/products/config';
import { buildRouter } from '@shop/router';
import { readConfig as readRouterConfig, subgraphEnvName, type RouterConfig } from '@shop/router/config';
import { buildServer as buildUsers } from '@shop/users';
import { readConfig as readUsersConfig } from '@shop/users/config';
import { canonical, hasKubectl, type K8sObject, readYaml, renderFallback, renderWithKubectl } from './support/kustomize.ts';

/**
 * The Kubernetes manifests (deploy/kubernetes) against the Kubernetes schemas (kubernetes-models)
 * and against the services themselves: every variable a manifest sets is one the service's own
 * readConfig reads, every probe path answers on the real service, the shutdown timings let a pod be
 * seen not ready before it stops serving, and the router's mounts are where it reads its files.
 * The overlays are rendered with `kubectl kustomize` when kubectl is on PATH (and the fallback
 * renderer is held to the same output), else with the fallback renderer alone.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const kubernetesDir = join(repo, 'deploy/kubernetes');
const OVERLAYS = ['dev', 'production'] as const;
const KUBECTL = hasKubectl();

/** The schema model of each kind the manifests may hold; any other kind fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
};

interface ServiceEntry {
  readConfig(env: Env): { port: number; shutdownDelayMs: number; drainTimeoutMs: number; production: boolean };
  /** The service on its embedded defaults (PGlite, in-memory caches), for the probe paths. */
  build(): Promise<{ inject: FastifyInstance['inject']; close(): Promise<unknown> }>;
}
const silent = { LOG_LEVEL: 'silent' };
type ServiceConfig = ReturnType<ServiceEntry['readConfig']>;
function subgraph<Config extends ServiceConfig>(
  readConfig: (env: Env) => Config,
  build: (options: { config: Config }) => Promise<FastifyInstance>,
): ServiceEntry {
  return { readConfig, build: () => build({ config: readConfig({ ...silent, SEED: 'false' }) }) };
}
/** Each service by the workspace its Deployment's args start (`<workspace>/dist/index.js`). */
const SERVICES: Record<string, ServiceEntry> = {
  router: {
    readConfig: readRouterConfig,
    build: async () => {
      const router = await buildRouter({ config: readRouterConfig({ ...silent, PORT: '0' }) });
      return { inject: router.app.inject.bind(router.app), close: () => router.close() };
    },
  },
  'subgraphs/products': subgraph(readProductsConfig, buildProducts),
  'subgraphs/inventory': subgraph(readInventoryConfig, buildInventory),
  'subgraphs/pricing': subgraph(readPricingConfig, buildPricing),
  'subgraphs/users': subgraph(readUsersConfig, buildUsers),
  'subgraphs/orders': subgraph(readOrdersConfig, buildOrders),
  'payment-sandbox': {
    readConfig: readSandboxConfig,
    build: async () => {
      const app = await buildSandbox({ config: readSandboxConfig(silent) });
      return { inject: app.inject.bind(app), close: () => app.close() };
    },
  },
};

type Obj = Record<string, any>;

const rendered = new Map<string, K8sObject[]>();
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'shop-deploy-'));
  for (const overlay of OVERLAYS) {
    const dir = join(kubernetesDir, 'overlays', overlay);
    rendered.set(overlay, KUBECTL ? renderWithKubectl(dir) : renderFallback(dir));
  }
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const objectsOf = (overlay: string): K8sObject[] => rendered.get(overlay) ?? [];
const ofKind = (overlay: string, kind: string): Obj[] => objectsOf(overlay).filter((object) => object.kind === kind);
const podSpec = (deployment: Obj): Obj => deployment.spec.template.spec;
const mainContainer = (deployment: Obj): Obj => podSpec(deployment).containers[0];

function workspaceOf(deployment: Obj): string {
  const entries = (mainContainer(deployment).args as string[]).filter((arg) => /\/dist\/index\.js$/.test(arg));
  expect(entries, `${deployment.metadata.name}: one <workspace>/dist/index.js in args`).toHaveLength(1);
  return entries[0]!.replace(/\/dist\/index\.js$/, '');
}

function serviceOf(deployment: Obj): ServiceEntry {
  const service = SERVICES[workspaceOf(deployment)];
  if (!service) throw new Error(`${deployment.metadata.name}: no service entry for ${workspaceOf(deployment)} in this test`);
  return service;
}

/** Workspace folders from the root package.json's patterns. */
function workspaces(): string[] {
  const patterns = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(repo, parent)).map((name) => `${parent}/${name}`);
  });
}

const signingKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

/** A value of the shape each service checks for a key of the operator's Secret (URL schemes, a P-256 key). */
function secretValue(key: string): string {
  if (key === 'JWT_PRIVATE_KEY') return signingKey;
  if (key === 'REDIS_URL') return 'redis://:password@redis.invalid:6379';
  if (key === 'NATS_URL') return 'nats://user:password@nats.invalid:4222';
  if (key.endsWith('_DATABASE_URL')) return `postgres://user:password@postgres.invalid:5432/${key.toLowerCase()}`;
  if (key.endsWith('_URL')) return `https://${key.toLowerCase().replace(/_/g, '-')}.invalid/`;
  return `secret-${key.toLowerCase()}`;
}

/**
 * The container's environment as the pod would get it: literals as written, Secret references as
 * placeholder values, and paths under a ConfigMap mount pointed at that ConfigMap's files written
 * to a scratch folder (so the router reads the supergraph the ConfigMap carries).
 */
function podEnvironment(overlay: string, deployment: Obj): Record<string, string> {
  const container = mainContainer(deployment);
  expect(container.envFrom, `${deployment.metadata.name}: every variable is named in env`).toBeUndefined();
  const mounts = materializeConfigMaps(overlay, deployment);
  const env: Record<string, string> = {};
  for (const variable of container.env as Obj[]) {
    if (variable.valueFrom) {
      expect(Object.keys(variable.valueFrom), `${variable.name}: only Secret references`).toEqual(['secretKeyRef']);
      env[variable.name] = secretValue(variable.valueFrom.secretKeyRef.key);
    } else {
      const mount = mounts.find(([path]) => String(variable.value).startsWith(`${path}/`));
      env[variable.name] = mount ? join(mount[1], String(variable.value).slice(mount[0].length)) : String(variable.value);
    }
  }
  return env;
}

/** Writes each ConfigMap volume's files under scratch; returns [mountPath, folder] pairs. */
function materializeConfigMaps(overlay: string, deployment: Obj): [string, string][] {
  const container = mainContainer(deployment);
  const pairs: [string, string][] = [];
  for (const mount of (container.volumeMounts ?? []) as Obj[]) {
    const volume = (podSpec(deployment).volumes as Obj[]).find((candidate) => candidate.name === mount.name);
    if (!volume?.configMap) continue;
    const configMap = ofKind(overlay, 'ConfigMap').find((candidate) => candidate.metadata.name === volume.configMap.name);
    if (!configMap) throw new Error(`${deployment.metadata.name}: ConfigMap ${volume.configMap.name} is not in the ${overlay} overlay`);
    const folder = join(scratch, overlay, deployment.metadata.name, mount.mountPath);
    mkdirSync(folder, { recursive: true });
    const items: Obj[] = volume.configMap.items ?? Object.keys(configMap.data).map((key) => ({ key, path: key }));
    for (const item of items) {
      mkdirSync(dirname(join(folder, item.path)), { recursive: true });
      writeFileSync(join(folder, item.path), configMap.data[item.key]);
    }
    pairs.push([mount.mountPath, folder]);
  }
  return pairs;
}

/**
 * An env that records the variables read from it. A read is a direct `env[name]`; the enumeration
 * the router does to collect `<NAME>_URL` overrides (Object.entries) reads every key without using
 * it, so it is not counted (each enumerated key's descriptor is asked for just before its value).
 */
function recordingEnv(values: Record<string, string>): { env: Env; read: Set<string> } {
  const read = new Set<string>();
  const enumerated = new Set<string>();
  const env = new Proxy(values, {
    get(target, key) {
      if (typeof key === 'string' && !enumerated.delete(key)) read.add(key);
      return Reflect.get(target, key);
    },
    has(target, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === 'string') enumerated.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
  return { env, read };
}

/** `join__graph(name:, url:)` of the supergraph the router's ConfigMap carries. */
function supergraphSubgraphs(sdl: string): { name: string; url: string }[] {
  return [...sdl.matchAll(/@join__graph\(name: "([^"]+)", url: "([^"]+)"\)/g)].map(([, name, url]) => ({ name: name!, url: url! }));
}

/** Kubernetes memory quantity in MiB, CPU quantity in cores. */
const mebibytes = (quantity: string): number => {
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)?$/.exec(String(quantity));
  if (!match) throw new Error(`unsupported memory quantity ${quantity}`);
  const value = Number(match[1]);
  return { Mi: value, Gi: value * 1024, M: (value * 1e6) / 1024 ** 2, G: (value * 1e9) / 1024 ** 2 }[match[2] ?? ''] ?? value / 1024 ** 2;
};
const cores = (quantity: string): number =>
  String(quantity).endsWith('m') ? Number.parseFloat(String(quantity)) / 1000 : Number(quantity);
const nodeFlag = (args: string[], flag: string): number | undefined => {
  const arg = args.find((candidate) => candidate.startsWith(`${flag}=`));
  return arg === undefined ? undefined : Number(arg.slice(flag.length + 1));
};

/** The files the overlays' kustomizations name, followed from each overlay down. */
function kustomizationTree(): { kustomizations: Set<string>; resources: Set<string>; patches: Set<string> } {
  const tree = { kustomizations: new Set<string>(), resources: new Set<string>(), patches: new Set<string>() };
  const visit = (dir: string) => {
    const file = join(dir, 'kustomization.yaml');
    tree.kustomizations.add(file);
    const [kustomization] = readYaml(file) as Obj[];
    for (const entry of (kustomization?.resources ?? []) as string[]) {
      const path = resolve(dir, entry);
      if (statSync(path).isDirectory()) visit(path);
      else tree.resources.add(path);
    }
    for (const patch of (kustomization?.patches ?? []) as Obj[]) if (patch.path) tree.patches.add(resolve(dir, patch.path));
  };
  for (const overlay of OVERLAYS) visit(join(kubernetesDir, 'overlays', overlay));
  return tree;
}

describe('YAML under deploy/kubernetes', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
  const yamlFiles = files(kubernetesDir).filter((file) => /\.ya?ml$/.test(file));
  const tree = kustomizationTree();

  it('parses every file, and every file is a kustomization or named by one (nothing is left out of a render)', () => {
    expect(yamlFiles.length).toBeGreaterThan(5);
    for (const file of yamlFiles) {
      expect(readYaml(file).length, relative(repo, file)).toBeGreaterThan(0);
      const named = tree.kustomizations.has(file) || tree.resources.has(file) || tree.patches.has(file);
      expect(named, `${relative(repo, file)} is named by a kustomization`).toBe(true);
    }
  });

  it('holds complete objects in every resource file, each valid against its Kubernetes schema as written', () => {
    expect(tree.resources.size).toBeGreaterThan(5);
    for (const file of tree.resources) for (const object of readYaml(file) as K8sObject[]) validate(object, relative(repo, file));
  });
});

function validate(object: K8sObject, where: string): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`${where}: no Kubernetes model for ${object.apiVersion} ${object.kind} (add it to MODELS)`);
  expect(() => new Model(object as never).validate(), `${where}: ${object.kind}/${object.metadata?.name}`).not.toThrow();
}

describe.each(OVERLAYS)('overlays/%s', (overlay) => {
  it(
    KUBECTL
      ? 'renders with kubectl kustomize, and the fallback renderer gives the same objects'
      : 'renders with the fallback renderer (kubectl is not on PATH: kubectl kustomize did not run)',
    () => {
      const objects = objectsOf(overlay);
      expect(objects.length).toBeGreaterThan(0);
      // Without kubectl, everything below checks the fallback renderer's output: that is the
      // rendered-overlay check of this run (the test's name says which renderer ran).
      if (KUBECTL) expect(canonical(renderFallback(join(kubernetesDir, 'overlays', overlay)))).toEqual(canonical(objects));
      expect(objects.filter((object) => object.kind === 'Deployment').length).toBeGreaterThanOrEqual(6);
    },
  );

  it('is valid against the Kubernetes schemas, object by object', () => {
    for (const object of objectsOf(overlay)) validate(object, `overlays/${overlay}`);
  });

  it('references Secrets only (none is rendered), all from shop-secrets, each key listed in the README, required but for read replicas', () => {
    expect(ofKind(overlay, 'Secret')).toEqual([]);
    const readme = readFileSync(join(kubernetesDir, 'README.md'), 'utf8');
    for (const deployment of ofKind(overlay, 'Deployment')) {
      for (const variable of mainContainer(deployment).env as Obj[]) {
        const sensitive = /SECRET|PASSWORD|PRIVATE_KEY|TOKEN|(DATABASE|REDIS|NATS)_URL$/.test(variable.name);
        if (sensitive) expect(variable.valueFrom?.secretKeyRef, `${deployment.metadata.name} ${variable.name}`).toBeDefined();
        const ref = variable.valueFrom?.secretKeyRef;
        if (!ref) continue;
        expect(ref.name).toBe('shop-secrets');
        // Only a read replica is optional (without one, reads stay on the primary); any other missing key must stop the pod.
        if (/^[A-Z]+_READ_DATABASE_URL$/.test(variable.name)) expect(ref.optional, variable.name).toBe(true);
        else expect(ref.optional, `${variable.name}: a missing key must stop the pod`).toBeUndefined();
        expect(readme, `README lists the Secret key ${ref.key}`).toContain(`\`${ref.key}\``);
      }
    }
  });

  it('starts each Deployment with a real workspace: args name <workspace>/dist/index.js and <workspace>/src/index.ts exists', () => {
    const known = workspaces();
    for (const deployment of ofKind(overlay, 'Deployment')) {
      const workspace = workspaceOf(deployment);
      expect(known, `${workspace} is a workspace`).toContain(workspace);
      expect(existsSync(join(repo, workspace, 'src/index.ts')), `${workspace}/src/index.ts`).toBe(true);
      expect(mainContainer(deployment).image).toMatch(/(^|\/)shop-supergraph:[\w.-]+$/);
    }
  });

  it("sets only variables the service's own config reads, and the config accepts them (production secrets present)", () => {
    for (const deployment of ofKind(overlay, 'Deployment')) {
      const service = serviceOf(deployment);
      const values = podEnvironment(overlay, deployment);
      const { env, read } = recordingEnv(values);
      const config = service.readConfig(env);
      expect(config.production, `${deployment.metadata.name}: NODE_ENV=production`).toBe(true);
      const accepted = new Set(read);
      if (service.readConfig === readRouterConfig) {
        // <NAME>_URL / <NAME>_TIMEOUT_MS are read by pattern for the supergraph's subgraphs: each must
        // name one of them, and be the URL the router then uses for it.
        const router = config as RouterConfig;
        const sdl = readFileSync(router.supergraphPath, 'utf8');
        for (const { name, url } of supergraphSubgraphs(sdl)) {
          const urlVar = `${subgraphEnvName(name)}_URL`;
          if (urlVar in router.subgraphOverrides) {
            expect(router.subgraphUrl(name, url)).toBe(values[urlVar]);
            accepted.add(urlVar);
          }
          if (`${subgraphEnvName(name)}_TIMEOUT_MS` in router.subgraphOverrides) accepted.add(`${subgraphEnvName(name)}_TIMEOUT_MS`);
        }
      }
      for (const name of Object.keys(values))
        expect(accepted.has(name), `${deployment.metadata.name} sets ${name}, which its config never reads`).toBe(true);
      // The port the service listens on is the one the manifest exposes and probes.
      expect((mainContainer(deployment).ports as Obj[]).map((port) => port.containerPort)).toEqual([config.port]);
    }
  });

  it('points every in-cluster URL at a Service of this overlay, on its port', () => {
    const services = new Map(ofKind(overlay, 'Service').map((service) => [service.metadata.name, service]));
    for (const deployment of ofKind(overlay, 'Deployment')) {
      for (const variable of mainContainer(deployment).env as Obj[]) {
        const match = /^https?:\/\/([a-z0-9-]+):(\d+)\//.exec(String(variable.value ?? ''));
        if (!match) continue;
        const service = services.get(match[1]!);
        expect(service, `${deployment.metadata.name} ${variable.name}: Service ${match[1]}`).toBeDefined();
        expect(
          (service!.spec.ports as Obj[]).map((port) => port.port),
          `${variable.name}`,
        ).toContain(Number(match[2]));
      }
    }
  });

  it('stops a pod only after it was seen not ready: SHUTDOWN_DELAY_MS ≥ readiness period × failureThreshold + a period; grace > preStop + delay + drain', () => {
    for (const deployment of ofKind(overlay, 'Deployment')) {
      const container = mainContainer(deployment);
      const config = serviceOf(deployment).readConfig(recordingEnv(podEnvironment(overlay, deployment)).env);
      const readiness = container.readinessProbe as Obj;
      const periodMs = (readiness.periodSeconds ?? 10) * 1000;
      const failureThreshold = readiness.failureThreshold ?? 3;
      expect(config.shutdownDelayMs, `${deployment.metadata.name} SHUTDOWN_DELAY_MS`).toBeGreaterThanOrEqual(
        periodMs * failureThreshold + periodMs,
      );
      const preStop = container.lifecycle?.preStop as Obj | undefined;
      const command = preStop?.exec?.command as string[] | undefined;
      const preStopMs = 1000 * Number(preStop?.sleep?.seconds ?? (command?.[0] === 'sleep' ? command[1] : Number.NaN));
      expect(preStopMs, `${deployment.metadata.name}: a preStop sleep`).toBeGreaterThan(0);
      const graceMs = (podSpec(deployment).terminationGracePeriodSeconds ?? 30) * 1000;
      expect(graceMs, `${deployment.metadata.name} terminationGracePeriodSeconds`).toBeGreaterThan(
        preStopMs + config.shutdownDelayMs + config.drainTimeoutMs,
      );
    }
  });

  it('gives every container requests ≤ limits, and a memory limit above its V8 heap (old space + 3 × semi-space + 128 MiB)', () => {
    for (const deployment of ofKind(overlay, 'Deployment')) {
      const container = mainContainer(deployment);
      const { requests, limits } = container.resources as { requests: Obj; limits: Obj };
      expect(cores(requests.cpu)).toBeLessThanOrEqual(cores(limits.cpu));
      expect(mebibytes(requests.memory)).toBeLessThanOrEqual(mebibytes(limits.memory));
      const oldSpace = nodeFlag(container.args, '--max-old-space-size');
      expect(oldSpace, `${deployment.metadata.name}: a --max-old-space-size the limit can hold`).toBeDefined();
      const semiSpace = nodeFlag(container.args, '--max-semi-space-size') ?? 16;
      expect(mebibytes(limits.memory), deployment.metadata.name).toBeGreaterThanOrEqual(oldSpace! + 3 * semiSpace + 128);
    }
  });

  it('runs every container unprivileged on a read-only root filesystem, writing only to an emptyDir /tmp', () => {
    for (const deployment of ofKind(overlay, 'Deployment')) {
      const pod = podSpec(deployment);
      const container = mainContainer(deployment);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      // Service links would add `<SERVICE>_PORT…` variables the services never read.
      expect(pod.enableServiceLinks).toBe(false);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(container.securityContext.capabilities.drop).toContain('ALL');
      const tmp = (container.volumeMounts as Obj[]).find((mount) => mount.mountPath === '/tmp');
      expect(
        (pod.volumes as Obj[]).find((volume) => volume.name === tmp?.name)?.emptyDir,
        `${deployment.metadata.name} /tmp`,
      ).toBeDefined();
    }
  });

  it("mounts the router's supergraph and every app's manifest where the router reads them, as kubelet-updated directories", () => {
    const [router] = ofKind(overlay, 'Deployment').filter((deployment) => workspaceOf(deployment) === 'router');
    expect(router).toBeDefined();
    const container = mainContainer(router!);
    const env = Object.fromEntries((container.env as Obj[]).map((variable) => [variable.name, variable.value]));
    const mounts = container.volumeMounts as Obj[];
    const volumes = podSpec(router!).volumes as Obj[];
    const configMaps = new Map(ofKind(overlay, 'ConfigMap').map((configMap) => [configMap.metadata.name, configMap]));
    // A subPath mount is never updated by kubelet: hot reload needs the directory mount.
    for (const mount of mounts) expect(mount.subPath, mount.name).toBeUndefined();
    const fileAt = (path: string): string | undefined => {
      const mount = mounts.find((candidate) => posix.dirname(path) === candidate.mountPath);
      const volume = volumes.find((candidate) => candidate.name === mount?.name)?.configMap;
      if (!volume) return undefined;
      const item = (volume.items as Obj[] | undefined)?.find((candidate) => candidate.path === posix.basename(path));
      return configMaps.get(volume.name)?.data[item ? item.key : posix.basename(path)];
    };
    expect(fileAt(env.SUPERGRAPH_PATH), 'SUPERGRAPH_PATH is the supergraph ConfigMap').toBe(
      readFileSync(join(repo, 'schema/supergraph.graphql'), 'utf8'),
    );
    // The router loads <PERSISTED_QUERIES_DIR>/<app>/__generated__/persisted-query-manifest.json for every app folder
    // (router/src/persisted/manifests.ts): every app in clients/ ships, byte for byte.
    const apps = readdirSync(join(repo, 'clients')).filter((app) =>
      existsSync(join(repo, 'clients', app, '__generated__/persisted-query-manifest.json')),
    );
    expect(apps.length).toBeGreaterThan(0);
    for (const app of apps) {
      const path = posix.join(env.PERSISTED_QUERIES_DIR, app, '__generated__/persisted-query-manifest.json');
      expect(fileAt(path), `${app}'s manifest at ${path}`).toBe(
        readFileSync(join(repo, 'clients', app, '__generated__/persisted-query-manifest.json'), 'utf8'),
      );
    }
  });

  it('matches every Service and PodDisruptionBudget to one Deployment, and targets only its named ports', () => {
    const deployments = ofKind(overlay, 'Deployment');
    const selects = (selector: Record<string, string>) =>
      deployments.filter((deployment) =>
        Object.entries(selector).every(([key, value]) => deployment.spec.template.metadata.labels[key] === value),
      );
    for (const service of ofKind(overlay, 'Service')) {
      const [deployment, ...others] = selects(service.spec.selector);
      expect(others, service.metadata.name).toEqual([]);
      const names = (mainContainer(deployment!).ports as Obj[]).map((port) => port.name);
      for (const port of service.spec.ports as Obj[]) expect(names).toContain(port.targetPort);
    }
    const budgets = ofKind(overlay, 'PodDisruptionBudget');
    for (const budget of budgets) expect(selects(budget.spec.selector.matchLabels), budget.metadata.name).toHaveLength(1);
    const withoutBudget = deployments.filter((deployment) => workspaceOf(deployment) !== 'payment-sandbox');
    expect(budgets).toHaveLength(withoutBudget.length);
  });

  it(
    overlay === 'dev'
      ? 'runs one replica of each service, without autoscalers'
      : 'autoscales every Deployment on CPU (60–70 %), at least 2 pods each',
    () => {
      const deployments = ofKind(overlay, 'Deployment');
      const autoscalers = ofKind(overlay, 'HorizontalPodAutoscaler');
      if (overlay === 'dev') {
        expect(autoscalers).toEqual([]);
        for (const deployment of deployments) expect(deployment.spec.replicas, deployment.metadata.name).toBe(1);
        return;
      }
      expect(autoscalers.map((hpa) => hpa.spec.scaleTargetRef.name).sort()).toEqual(deployments.map((d) => d.metadata.name).sort());
      for (const hpa of autoscalers) {
        const deployment = deployments.find((candidate) => candidate.metadata.name === hpa.spec.scaleTargetRef.name)!;
        // The autoscaler owns the count: a `replicas` in the manifest would reset it on every apply.
        expect(deployment.spec.replicas, deployment.metadata.name).toBeUndefined();
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
        expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
        const [cpu, ...others] = hpa.spec.metrics as Obj[];
        expect(others).toEqual([]);
        expect(cpu).toMatchObject({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } });
        expect(cpu!.resource.target.averageUtilization).toBeGreaterThanOrEqual(60);
        expect(cpu!.resource.target.averageUtilization).toBeLessThanOrEqual(70);
      }
    },
  );
});

describe('sizing', () => {
  /** bench/results/capacity.json, written by `npm run bench:capacity`. */
  interface Capacity {
    target: number;
    results: { mix: string; cache: string; rps: number; cores: Record<string, number> }[];
  }
  const capacity = JSON.parse(readFileSync(join(repo, 'bench/results/capacity.json'), 'utf8')) as Capacity;
  const coresOf = (quantity: string) => (quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity));

  it('bounds each production autoscaler by the measured capacity: the sized-for peak × the costliest row, at the target the bench assumed', () => {
    const deployments = ofKind('production', 'Deployment');
    for (const hpa of ofKind('production', 'HorizontalPodAutoscaler')) {
      const name: string = hpa.metadata.name;
      const peak = Number(hpa.metadata.annotations?.['shop-supergraph/sized-for-requests-per-second']);
      expect(peak, `${name}: the peak it is sized for, in requests/s`).toBeGreaterThan(0);
      expect(hpa.spec.metrics[0].resource.target.averageUtilization, name).toBe(Math.round(capacity.target * 100));
      const deployment = deployments.find((candidate) => candidate.metadata.name === hpa.spec.scaleTargetRef.name)!;
      const request = coresOf(String(mainContainer(deployment).resources.requests.cpu));
      // Cores at the target utilisation per request/s, in the row that costs this service most.
      const costliest = Math.max(...capacity.results.map((row) => row.cores[name]! / row.rps / capacity.target));
      expect(Number.isFinite(costliest) && costliest > 0, `${name} is measured in capacity.json`).toBe(true);
      const needed = Math.max(hpa.spec.minReplicas, Math.ceil((peak * costliest) / request));
      expect(hpa.spec.maxReplicas, `${name}: maxReplicas for ${peak} requests/s at ${request} CPU a pod`).toBeGreaterThanOrEqual(needed);
      // Not far above it either: the bounds follow the measurement, so a new run that needs fewer pods shows up here.
      expect(hpa.spec.maxReplicas, `${name}: maxReplicas well above the measured need of ${needed}`).toBeLessThanOrEqual(needed + 2);
    }
  });
});

describe('probe paths', () => {
  it('answer on each real service built on its embedded defaults (/health 200, /ready 200 or 503, never 404)', async () => {
    const probes = new Map<string, Set<string>>();
    for (const overlay of OVERLAYS) {
      for (const deployment of ofKind(overlay, 'Deployment')) {
        const container = mainContainer(deployment);
        const paths = probes.get(workspaceOf(deployment)) ?? new Set<string>();
        for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
          expect(probe?.httpGet?.path, `${deployment.metadata.name}: every probe is an HTTP GET`).toBeDefined();
          expect((container.ports as Obj[]).map((port) => port.name)).toContain(probe.httpGet.port);
          paths.add(probe.httpGet.path);
        }
        expect(container.readinessProbe.httpGet.path).toBe('/ready');
        expect(container.livenessProbe.httpGet.path).toBe('/health');
        probes.set(workspaceOf(deployment), paths);
      }
    }
    for (const [workspace, paths] of probes) {
      const server = await SERVICES[workspace]!.build();
      try {
        for (const path of paths) {
          const { statusCode } = await server.inject({ method: 'GET', url: path });
          if (path === '/health') expect(statusCode, `${workspace} ${path}`).toBe(200);
          // The router is not ready here (no subgraph answers): 503, from the real route.
          else expect([200, 503], `${workspace} ${path} answered ${statusCode}`).toContain(statusCode);
        }
      } finally {
        await server.close();
      }
    }
  }, 60_000);
});
