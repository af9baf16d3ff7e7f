import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as the manifests hold it (validated against the schemas by the test). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Every document of a YAML file (empty documents dropped); a syntax error throws with the file's name. */
export function readYaml(path: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'));
  return documents.flatMap((document) => {
    if (document.errors.length) throw new Error(`${path}: ${document.errors.map((error) => error.message).join('; ')}`);
    const value = document.toJS() as unknown;
    return value === null || value === undefined ? [] : [value];
  });
}

/** `kubectl kustomize` is on PATH (with its built-in kustomize). */
export function hasKubectl(): boolean {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return probe.status === 0;
}

/** The overlay as `kubectl kustomize` renders it (the default load restrictor: files in or below each kustomization). */
export function renderWithKubectl(dir: string): K8sObject[] {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 ** 2 });
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${run.stderr}`);
  return parseAllDocuments(run.stdout).map((document) => document.toJS() as K8sObject);
}

/** What the fallback renderer knows of a kustomization; any other field fails the render instead of being ignored. */
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'configMapGenerator', 'labels', 'namespace', 'images', 'patches']);

/**
 * Renders a kustomization without kubectl, for machines that lack it: the subset of kustomize these
 * manifests use, each feature as kustomize applies it. Where kubectl is present the test renders
 * with both and requires the same objects, so this can never drift unnoticed from the real thing.
 * What it does not support (a field, a generator option, a cluster-scoped kind) throws.
 */
export function renderFallback(dir: string): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  const [kustomization] = readYaml(file) as JsonObject[];
  if (!kustomization) throw new Error(`${file} is empty`);
  for (const field of Object.keys(kustomization)) {
    if (!SUPPORTED_FIELDS.has(field)) throw new Error(`${file}: the fallback renderer does not support "${field}"`);
  }
  const objects: K8sObject[] = [];
  for (const entry of strings(kustomization.resources, file, 'resources')) {
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) objects.push(...renderFallback(path));
    else objects.push(...(readYaml(path) as K8sObject[]));
  }
  for (const generator of (kustomization.configMapGenerator ?? []) as JsonObject[]) objects.push(configMapFrom(generator, dir, file));

  let rendered = objects;
  for (const patch of (kustomization.patches ?? []) as JsonObject[]) rendered = applyPatch(rendered, patch, dir, file);
  if (typeof kustomization.namespace === 'string') {
    for (const object of rendered) {
      if (!NAMESPACED_KINDS.has(object.kind))
        throw new Error(`${file}: the fallback renderer does not know whether ${object.kind} is namespaced`);
      object.metadata.namespace = kustomization.namespace;
    }
  }
  for (const label of (kustomization.labels ?? []) as JsonObject[]) {
    // Without includeSelectors/includeTemplates, kustomize's `labels` touches metadata.labels only.
    if (label.includeSelectors || label.includeTemplates) throw new Error(`${file}: the fallback renderer only supports metadata labels`);
    for (const object of rendered) object.metadata.labels = { ...object.metadata.labels, ...(label.pairs as Record<string, string>) };
  }
  for (const image of (kustomization.images ?? []) as JsonObject[]) {
    for (const object of rendered) for (const container of containersOf(object)) retag(container, image);
  }
  return rendered;
}

const NAMESPACED_KINDS = new Set(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);

function strings(value: Json | undefined, file: string, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw new Error(`${file}: ${field} must be a list of paths`);
  return value as string[];
}

/** kustomize's configMapGenerator `files` (`key=path` or `path`, keyed by the file name), with its load restriction. */
function configMapFrom(generator: JsonObject, dir: string, file: string): K8sObject {
  const options = (generator.options ?? {}) as JsonObject;
  // The name hash kustomize would append is not computed here: only unhashed generators are supported.
  if (
    options.disableNameSuffixHash !== true ||
    Object.keys(options).length !== 1 ||
    Object.keys(generator).some((key) => !['name', 'files', 'options'].includes(key))
  ) {
    throw new Error(`${file}: the fallback renderer supports configMapGenerator name/files with disableNameSuffixHash only`);
  }
  const data: Record<string, string> = {};
  for (const source of strings(generator.files, file, 'configMapGenerator.files')) {
    const [key, path] = source.includes('=') ? (source.split('=', 2) as [string, string]) : [basename(source), source];
    const full = resolve(dir, path);
    // kustomize's default load restrictor: a kustomization reads files in or below its own folder only.
    if (relative(dir, full).startsWith(`..${sep}`)) throw new Error(`${file}: ${path} is not in or below ${dir}`);
    data[key] = readFileSync(full, 'utf8');
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: String(generator.name) }, data };
}

function applyPatch(objects: K8sObject[], patch: JsonObject, dir: string, file: string): K8sObject[] {
  const text = typeof patch.path === 'string' ? readFileSync(resolve(dir, patch.path), 'utf8') : String(patch.patch);
  const target = patch.target as { kind?: string; name?: string } | undefined;
  const matches = (object: K8sObject) =>
    (target?.kind === undefined || object.kind === target.kind) && (target?.name === undefined || object.metadata.name === target.name);
  const documents = parseAllDocuments(text).map((document) => document.toJS() as Json);
  let result = objects;
  for (const document of documents) {
    if (Array.isArray(document)) {
      // An RFC 6902 JSON patch, applied to every target.
      if (!target) throw new Error(`${file}: a JSON patch needs a target`);
      for (const object of result.filter(matches))
        for (const operation of document as JsonObject[]) jsonPatch(object as unknown as JsonObject, operation);
      continue;
    }
    const smp = document as JsonObject & K8sObject;
    const selected = target
      ? result.filter(matches)
      : result.filter((object) => object.kind === smp.kind && object.metadata.name === smp.metadata.name);
    if (selected.length === 0) throw new Error(`${file}: patch ${smp.kind}/${smp.metadata?.name} matches no object`);
    if (smp.$patch === 'delete') {
      result = result.filter((object) => !selected.includes(object));
      continue;
    }
    // The patch's metadata names its target; its labels and annotations merge like the body.
    const { apiVersion: _apiVersion, kind: _kind, metadata, ...body } = smp;
    const { name: _name, namespace: _namespace, ...metadataBody } = metadata ?? {};
    for (const object of selected) {
      strategicMerge(object as unknown as JsonObject, body as JsonObject);
      strategicMerge(object.metadata as unknown as JsonObject, metadataBody as JsonObject);
    }
  }
  return result;
}

/**
 * Strategic merge as kustomize does it for what these patches touch: maps merge key by key, `null`
 * deletes, lists of objects with a `name` (containers, env, volumes) merge item by item by name,
 * other lists are replaced.
 */
function strategicMerge(target: JsonObject, patch: JsonObject): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (value === null) delete target[key];
    else if (Array.isArray(value) && Array.isArray(current) && value.every(isNamed) && current.every(isNamed)) {
      for (const item of value as JsonObject[]) {
        const existing = (current as JsonObject[]).find((candidate) => candidate.name === item.name);
        if (existing) strategicMerge(existing, item);
        else current.push(structuredClone(item));
      }
    } else if (isObject(value) && isObject(current)) strategicMerge(current, value);
    else target[key] = structuredClone(value);
  }
}

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNamed = (value: Json): boolean => isObject(value) && typeof value.name === 'string';

/** One RFC 6902 operation (add, replace, remove) on a JSON pointer. */
function jsonPatch(document: JsonObject, operation: JsonObject): void {
  const path = String(operation.path)
    .split('/')
    .slice(1)
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = path.pop();
  if (last === undefined) throw new Error(`JSON patch path "${operation.path}" names no field`);
  let parent: Json = document;
  for (const token of path) {
    parent = Array.isArray(parent) ? (parent[Number(token)] as Json) : isObject(parent) ? (parent[token] as Json) : null;
    if (parent === undefined || parent === null) throw new Error(`JSON patch path "${operation.path}" does not exist`);
  }
  const value = structuredClone(operation.value as Json);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (operation.op === 'add') parent.splice(index, 0, value);
    else if (operation.op === 'replace' && index < parent.length) parent[index] = value;
    else if (operation.op === 'remove' && index < parent.length) parent.splice(index, 1);
    else throw new Error(`JSON patch ${operation.op} ${operation.path} is not supported here`);
  } else if (isObject(parent)) {
    if (operation.op === 'add') parent[last] = value;
    else if (operation.op === 'replace' && last in parent) parent[last] = value;
    else if (operation.op === 'remove' && last in parent) delete parent[last];
    else throw new Error(`JSON patch ${operation.op} ${operation.path} is not supported here`);
  } else throw new Error(`JSON patch path "${operation.path}" does not exist`);
}

/** The containers of a workload's pod template (none for other kinds). */
export function containersOf(object: K8sObject): JsonObject[] {
  const pod = ((object.spec as JsonObject | undefined)?.template as JsonObject | undefined)?.spec as JsonObject | undefined;
  return [...((pod?.containers ?? []) as JsonObject[]), ...((pod?.initContainers ?? []) as JsonObject[])];
}

/** kustomize's `images` transformer: a container image named `name` gets newName and/or newTag. */
function retag(container: JsonObject, image: JsonObject): void {
  const current = String(container.image);
  const [name, tag] = current.includes('@') ? [current.split('@')[0]] : current.split(/:(?=[^/]*$)/);
  if (name !== image.name) return;
  const newTag = image.newTag === undefined ? tag : String(image.newTag);
  container.image = `${image.newName ?? name}${newTag === undefined ? '' : `:${newTag}`}`;
}

/**
 * Objects in a comparable form: sorted by kind and name, and lists of named items sorted by name
 * (kustomize puts a patch's new env entries first; Kubernetes does not care about their order here).
 */
export function canonical(objects: K8sObject[]): unknown[] {
  const sortNamed = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const items = value.map(sortNamed);
      return items.every((item) => isObject(item as Json) && typeof (item as JsonObject).name === 'string')
        ? [...items].sort((a, b) => String((a as JsonObject).name).localeCompare(String((b as JsonObject).name)))
        : items;
    }
    if (isObject(value as Json))
      return Object.fromEntries(Object.entries(value as JsonObject).map(([key, item]) => [key, sortNamed(item)]));
    return value;
  };
  return [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`)).map(sortNamed);
}
